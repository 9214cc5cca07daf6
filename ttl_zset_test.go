package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/types"
)

type zmember = types.Member[string]

// zsetOps are the TTL-matrix entries of types.SortedSet (u.Board holds ada
// 10 and bob 2.5).
var zsetOps = []op{
	{name: "SortedSet.Add", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.Add(ctx, "cy", 7))
	}},
	{name: "SortedSet.AddMany", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.AddMany(ctx, zmember{Value: "cy", Score: 7}, zmember{Value: "ada", Score: 11}))
	}},
	{name: "SortedSet.IncrScore", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.IncrScore(ctx, "bob", 1))
	}},
	{name: "SortedSet.Score", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Board.Score(ctx, "ada"))
	}},
	{name: "SortedSet.Rank", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Board.Rank(ctx, "ada"))
	}},
	{name: "SortedSet.RevRank", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Board.RevRank(ctx, "ada"))
	}},
	{name: "SortedSet.PopMin", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.PopMin(ctx, 1))
	}},
	{name: "SortedSet.PopMax", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.PopMax(ctx, 5)) // empties the set: the key goes
	}},
	{name: "SortedSet.PeekMin", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.PeekMin(ctx, 1))
	}},
	{name: "SortedSet.PeekMax", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.PeekMax(ctx, 1))
	}},
	{name: "SortedSet.RangeByRank", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.RangeByRank(ctx, 0, 2))
	}},
	{name: "SortedSet.RevRangeByRank", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.RevRangeByRank(ctx, 0, 2))
	}},
	{name: "SortedSet.RangeByScore", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.RangeByScore(ctx, types.Excl(2.5), types.Inf(), types.ScoreDesc(), types.ScoreLimit(0, 1)))
	}},
	{name: "SortedSet.Remove", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.Remove(ctx, "bob"))
	}},
	{name: "SortedSet.ReadAll", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Board.ReadAll(ctx))
	}},
}
