package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// setOps are the TTL-matrix entries of types.Set. The user model has one
// Set (Roles, {admin dev}); set algebra pairs it with itself, which is a
// Set field of the same object.
var setOps = []op{
	{name: "Set.Add", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Add(ctx, "ops", "admin"))
	}},
	{name: "Set.Remove", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Remove(ctx, "admin"))
	}},
	{name: "Set.Has", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Has(ctx, "dev"))
	}},
	{name: "Set.Members", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Members(ctx))
	}},
	{name: "Set.Pop", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Roles.Pop(ctx))
	}},
	{name: "Set.PopN", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.PopN(ctx, 1))
	}},
	{name: "Set.Random", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Random(ctx, 1))
	}},
	{name: "Set.Union", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Union(ctx, &u.Roles))
	}},
	{name: "Set.Intersect", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Intersect(ctx, &u.Roles))
	}},
	{name: "Set.Diff", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.Diff(ctx, &u.Roles))
	}},
	{name: "Set.UnionStore", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.UnionStore(ctx, &u.Roles))
	}},
	{name: "Set.IntersectStore", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.IntersectStore(ctx, &u.Roles))
	}},
	{name: "Set.DiffStore", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.DiffStore(ctx, &u.Roles))
	}},
	{name: "Set.UnionValues", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.UnionValues(ctx, "ops"))
	}},
	{name: "Set.IntersectValues", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.IntersectValues(ctx, "dev", "ops"))
	}},
	{name: "Set.DiffValues", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Roles.DiffValues(ctx, "dev"))
	}},
}
