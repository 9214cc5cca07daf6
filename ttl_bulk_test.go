package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// bulkOps are the TTL-matrix entries of the bulk operations, each on the
// matrix's object (alone, so one round trip).
var bulkOps = []op{
	{name: "Schema.GetMany", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(s.GetMany(ctx, st, []string{u.ID()}))
	}},
	{name: "Schema.ExistsMany", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(s.ExistsMany(ctx, st, []string{u.ID()}))
	}},
	{name: "Schema.SaveMany", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, s.SaveMany(ctx, []*user{u})
	}},
	{name: "Schema.InsertMany", creates: true, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		n := s.New(st)
		fill(n)
		return n.Keys(), s.InsertMany(ctx, []*user{n})
	}},
	{name: "Schema.DuplicateMany", creates: true, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		d, err := s.DuplicateMany(ctx, u, 1)
		if err != nil {
			return nil, err
		}
		return d[0].Keys(), nil
	}},
}
