package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// listOps are the TTL-matrix entries of types.List. Each runs on the filled
// user: Tags a,b,c; Places two structs; Home.Visits Rome,Oslo.
var listOps = []op{
	{name: "List.Append", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Tags.Append(ctx, "d", "e"))
	}},
	{name: "List.Prepend", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Home.Visits.Prepend(ctx, "Kyiv", "Lima"))
	}},
	{name: "List.Insert", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Places.Insert(ctx, 1, place{"Oslo", 59.91})
	}},
	{name: "List.Pop", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Tags.Pop(ctx))
	}},
	{name: "List.PopFront", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Places.PopFront(ctx))
	}},
	{name: "List.PopAt", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Tags.PopAt(ctx, 1))
	}},
	{name: "List.Get", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Tags.Get(ctx, -1))
	}},
	{name: "List.SetAt", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Home.Visits.SetAt(ctx, 0, "Bern")
	}},
	{name: "List.Remove", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Tags.Remove(ctx, "b", 0))
	}},
	{name: "List.RemoveRange", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Tags.RemoveRange(ctx, 0, 1))
	}},
	{name: "List.Trim", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Tags.Trim(ctx, 1, 3))
	}},
	{name: "List.Range", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Places.Range(ctx, 0, -1))
	}},
	{name: "List.ReadAll", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Places.ReadAll(ctx))
	}},
	{name: "List.Index", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Tags.Index(ctx, "c"))
	}},
	{name: "List.Contains", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Home.Visits.Contains(ctx, "Oslo"))
	}},
}
