package rapyer_test

import (
	"context"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestPooledOwnReplies: on a pool of one connection (no multiplexing), a
// load of many objects (its replies read by rapyer's reader, its commands
// written beside redigo's: conn_own.go) alternates with requests redigo
// reads (Modify's WATCH on the pinned connection) and the pool's own
// calls; every call gets its own replies, an empty value stays empty, and a
// load whose context ends while its replies are on their way leaves no
// reply behind for the next call.
func TestPooledOwnReplies(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithPoolSize(1, 1), rapyer.WithoutMultiplexing())
		ctx := testkit.Ctx(t)
		objs := make([]*user, 5)
		ids := make([]string, len(objs))
		for i := range objs {
			objs[i] = users.New(st)
			fill(objs[i])
			objs[i].Age.Set(int64(i))
			ids[i] = objs[i].ID()
		}
		objs[2].Name.Set("")
		must(t, users.SaveMany(ctx, objs))
		check := func(step string) {
			t.Helper()
			got, err := users.GetMany(ctx, st, ids)
			must(t, err)
			for i, g := range got {
				if g.ID() != ids[i] || g.Age.Get() != objs[i].Age.Get() || g.Home.City.Get() != "Paris" || len(g.Tags.Local()) != 3 {
					t.Fatalf("%s: object %d loaded as %s age %d", step, i, g.ID(), g.Age.Get())
				}
			}
			if name, ok := got[2].Name.Lookup(); !ok || name != "" {
				t.Fatalf("%s: an empty name loaded as %q (present %v)", step, name, ok)
			}
		}
		check("first load")
		for round := range 3 {
			o := objs[round]
			must(t, o.Modify(ctx, func() error { o.Age.Set(o.Age.Get() + 100); return nil }))
			check("after Modify")
			one, err := users.Get(ctx, st, o.ID())
			must(t, err)
			if one.Age.Get() != o.Age.Get() {
				t.Fatalf("Get after Modify: age %d, want %d", one.Age.Get(), o.Age.Get())
			}
		}

		p.StallReplies()
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := users.GetMany(cctx, st, ids)
		wantErr(t, err, context.Canceled)
		p.Resume()
		check("after a load cut short")
	})
}
