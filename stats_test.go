package rapyer_test

import (
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestStats: the pool's figures while a connection is held (Modify holds
// one while its function runs), after it is back, and the waits of a
// caller that found the pool full.
func TestStats(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		// Without multiplexing: every operation takes the pool's one connection.
		// On a cluster that is one pool per master (Open loaded the
		// scripts on each), and Stats sums them.
		st := b.OpenStore(t, rapyer.WithPoolSize(1, 1), rapyer.WithoutMultiplexing())
		nodes := 1
		if b.Name == "cluster" {
			nodes = len(b.Seeds())
		}
		if got := st.Stats(); got.Active != nodes || got.Idle != nodes || got.InUse != 0 || got.Waits != 0 || got.WaitTime != 0 {
			t.Fatalf("after Open: %+v", got)
		}
		p := newPerson(people, st, "Ada", "", 3)
		p.Email.Clear()
		must(t, p.Save(ctx))
		// The waiter's Get starts while Modify holds the only connection;
		// it may not have begun to wait when the function returns, so the
		// function holds the connection a little longer each attempt.
		for hold := time.Millisecond; ; hold *= 2 {
			var inside rapyer.Stats
			var wg sync.WaitGroup
			must(t, p.Modify(ctx, func() error {
				inside = st.Stats()
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := people.Get(ctx, st, p.ID())
					if err != nil {
						t.Error(err)
					}
				}()
				time.Sleep(hold)
				return nil
			}))
			wg.Wait()
			if inside.Active != nodes || inside.Idle != nodes-1 || inside.InUse != 1 {
				t.Fatalf("while Modify holds the connection: %+v", inside)
			}
			got := st.Stats()
			if got.Active != nodes || got.Idle != nodes || got.InUse != 0 {
				t.Fatalf("after: %+v", got)
			}
			if got.Waits > 0 {
				if got.WaitTime <= 0 {
					t.Fatalf("waits without wait time: %+v", got)
				}
				break
			}
			if hold > 10*time.Second {
				t.Fatalf("no wait counted: %+v", got)
			}
		}
		var nilStore *rapyer.Store
		if got := nilStore.Stats(); got.Active != 0 || got.Idle != 0 || got.Waits != 0 || got.Multiplexed != nil {
			t.Fatalf("nil Store: %+v", got)
		}
	})
}

// TestStatsMultiplexed: a multiplexing Store lists its connections with
// their queues (empty once every call returned); the pool figures are those
// of the pool behind it; with WithoutMultiplexing the list is empty.
func TestStatsMultiplexed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st, err := rapyer.Open(ctx, b.URL(), rapyer.WithPrefix(b.Prefix()), rapyer.WithMultiplexConns(2))
		must(t, err)
		defer st.Close()
		p := newPerson(people, st, "Ada", "", 3)
		p.Email.Clear()
		must(t, p.Save(ctx))
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// An object is not for concurrent use: each goroutine its own.
				o, err := people.Ref(st, p.ID())
				if err == nil {
					_, err = o.Age.Incr(ctx, 1)
				}
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got := st.Stats()
		if len(got.Multiplexed) == 0 || len(got.Multiplexed) > 2 {
			t.Fatalf("multiplexed connections: %+v, want 1 or 2", got.Multiplexed)
		}
		for _, m := range got.Multiplexed {
			if m.Queued != 0 || m.Pending != 0 {
				t.Fatalf("queues after every call returned: %+v", got.Multiplexed)
			}
		}
		plain, err := rapyer.Open(ctx, b.URL(), rapyer.WithPrefix(b.Prefix()), rapyer.WithoutMultiplexing())
		must(t, err)
		defer plain.Close()
		if _, err := p.Age.Incr(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if got := plain.Stats(); got.Multiplexed != nil || got.Active != 1 {
			t.Fatalf("without multiplexing: %+v", got)
		}
	})
}
