package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// mapOps are the TTL-matrix entries of types.Map and types.Counter.
var mapOps = []op{
	{name: "Map.Set", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Prefs.Set(ctx, "lang", "en")
	}},
	{name: "Map.SetMany", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Prefs.SetMany(ctx, map[string]string{"lang": "en", "tz": "UTC"})
	}},
	{name: "Map.Update", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Prefs.Update(ctx, map[string]string{"theme": "light"})
	}},
	{name: "Map.Get", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		_, _, err := u.Prefs.Get(ctx, "theme")
		return nil, err
	}},
	{name: "Map.Has", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Prefs.Has(ctx, "theme"))
	}},
	{name: "Map.Delete", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Prefs.Delete(ctx, "theme"))
	}},
	{name: "Map.Pop", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		_, _, err := u.Prefs.Pop(ctx, "theme")
		return nil, err
	}},
	{name: "Map.PopItem", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		_, _, _, err := u.Prefs.PopItem(ctx)
		return nil, err
	}},
	{name: "Map.SetDefault", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Prefs.SetDefault(ctx, "lang", "en"))
	}},
	{name: "Map.Keys", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Prefs.Keys(ctx))
	}},
	{name: "Map.Values", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Prefs.Values(ctx))
	}},
	{name: "Map.ReadAll", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Prefs.ReadAll(ctx))
	}},
	{name: "Counter.Incr", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Counts.Incr(ctx, "logins", 2))
	}},
	{name: "Counter.Decr", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Counts.Decr(ctx, "logins", 2))
	}},
	{name: "Counter.Incr", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		// a key the counter does not have yet: the script creates it
		return ignore(u.Counts.Incr(ctx, "fresh", 1))
	}},
}
