package rapyer_test

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// listOps are the TTL-matrix entries of types.List.
var listOps = []op{
	{name: "List.Append", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Tags.Append(ctx, "d", "e"))
	}},
	{name: "List.All", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Places.All(ctx))
	}},
}
