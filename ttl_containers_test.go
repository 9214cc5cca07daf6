package rapyer_test

import (
	"context"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// containerOps are the operations every container handle shares
// (rapyer.Container), run here on a List, a Map, a Set and a SortedSet.
var containerOps = []op{
	{name: "Container.Load", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Board.Load(ctx)
	}},
	{name: "Container.Save", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		u.Prefs.SetLocal(map[string]string{"x": "y"})
		return nil, u.Prefs.Save(ctx)
	}},
	{name: "Container.Clear", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Roles.Clear(ctx)
	}},
	{name: "Container.Len", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Tags.Len(ctx))
	}},
}

// TestContainerKeyInheritsTTL: with refresh off, a container key that an
// operation creates (here after Clear removed it) gets the hash's remaining
// TTL, not none and not a fresh full one.
func TestContainerKeyInheritsTTL(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersNoRefresh, b.Store)
		must(t, u.Tags.Clear(ctx))
		if got := b.PTTL(t, u.Tags.Key()); got != -2 {
			t.Fatalf("Clear left the key (PTTL %d)", got)
		}
		b.Do(t, "PEXPIRE", u.Key(), 100_000)
		if _, err := u.Tags.Append(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		if got := b.PTTL(t, u.Tags.Key()); got <= 0 || got > 100_000 {
			t.Fatalf("new container key has PTTL %d, want the hash's (<= 100000)", got)
		}
		// Save recreates every container key: they inherit too.
		must(t, u.Save(ctx))
		for _, k := range u.Keys() {
			if got := b.PTTL(t, k); got <= 0 || got > 100_000 {
				t.Fatalf("after Save, %s has PTTL %d, want the hash's (<= 100000)", k, got)
			}
		}
	})
}
