package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// modifyOps are the TTL-matrix entries of optimistic concurrency: two round
// trips each (WATCH with the reads, then MULTI/EXEC).
var modifyOps = []op{
	{name: "Model.Modify", trips: 2, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Modify(ctx, func() error { u.Age.Set(u.Age.Get() + 1); return nil })
	}},
	{name: "Schema.Modify", trips: 2, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(s.Modify(ctx, st, u.ID(), func(p *user) error { p.Tags.SetLocal("m"); return nil }))
	}},
}
