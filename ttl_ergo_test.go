package rapyer_test

import (
	"context"
	"time"

	"github.com/rapyer-go/rapyer"
)

// ergoOps are the TTL-matrix entries of GetOrCreate and the blocking pops
// (each with an element ready, so none waits). None is queueable
// (notQueueable).
var ergoOps = []op{
	{name: "Schema.GetOrCreate", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		_, _, err := s.GetOrCreate(ctx, st, u.ID(), nil)
		return nil, err
	}},
	{name: "List.BPopFront", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Tags.BPopFront(ctx, time.Minute))
	}},
	{name: "List.BPop", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Places.BPop(ctx, time.Minute))
	}},
	// The existence check (with the refresh), BLMOVE, lua/touch.lua.
	{name: "List.BMove", trips: 3, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Tags.BMove(ctx, &u.Home.Visits, time.Minute))
	}},
	{name: "SortedSet.BPopMin", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Board.BPopMin(ctx, time.Minute))
	}},
	{name: "SortedSet.BPopMax", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Board.BPopMax(ctx, time.Minute))
	}},
}
