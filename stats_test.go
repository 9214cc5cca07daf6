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
		st, err := rapyer.Open(ctx, b.URL(), rapyer.WithPrefix(b.Prefix()), rapyer.WithPoolSize(1, 1), rapyer.WithoutMultiplexing())
		must(t, err)
		defer st.Close()
		if got := st.Stats(); got.Active != 1 || got.Idle != 1 || got.InUse != 0 || got.Waits != 0 || got.WaitTime != 0 {
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
			if inside.Active != 1 || inside.Idle != 0 || inside.InUse != 1 {
				t.Fatalf("while Modify holds the connection: %+v", inside)
			}
			got := st.Stats()
			if got.Active != 1 || got.Idle != 1 || got.InUse != 0 {
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
		if got := nilStore.Stats(); got != (rapyer.Stats{}) {
			t.Fatalf("nil Store: %+v", got)
		}
	})
}
