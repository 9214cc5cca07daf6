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
// caller that found the pool full. On a cluster the pool is per master
// (each has the connection Ping used): the figures are their sums.
func TestStats(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		// Without multiplexing: every operation takes its node's one connection.
		st := b.OpenStore(t, rapyer.WithPoolSize(1, 1), rapyer.WithoutMultiplexing())
		n := max(1, len(b.Masters(t)))
		if got := st.Stats(); got.Active != n || got.Idle != n || got.InUse != 0 || got.Waits != 0 || got.WaitTime != 0 {
			t.Fatalf("after Open: %+v, want %d idle", got, n)
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
			if inside.Active != n || inside.Idle != n-1 || inside.InUse != 1 {
				t.Fatalf("while Modify holds the connection: %+v", inside)
			}
			got := st.Stats()
			if got.Active != n || got.Idle != n || got.InUse != 0 {
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
// their queues (empty once every call returned), at most WithMultiplexConns
// of them per server: on a cluster per master, each listed with its
// address, and concurrent operations on objects of every master go on them
// (the pools dial nothing for them: they keep the connections Ping used).
// With WithoutMultiplexing the list is empty.
func TestStatsMultiplexed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.OpenStore(t, rapyer.WithMultiplexConns(2))
		masters := b.Masters(t)
		us := newUsers(usersSharded, st, 24) // 16 shards: every master of a cluster
		must(t, usersSharded.SaveMany(ctx, us))
		before := st.Stats()
		var wg sync.WaitGroup
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// An object is not for concurrent use: each goroutine its own.
				o, err := usersSharded.Ref(st, us[i%len(us)].ID())
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
		if got.Active != before.Active {
			t.Fatalf("the pools dialled for multiplexed operations: %d connections before, %d after", before.Active, got.Active)
		}
		per := map[string]int{}
		for _, m := range got.Multiplexed {
			per[m.Addr]++
			if m.Queued != 0 || m.Pending != 0 {
				t.Fatalf("queues after every call returned: %+v", got.Multiplexed)
			}
		}
		want := masters
		if want == nil {
			want = []string{""} // one server: no address
		}
		if len(per) != len(want) {
			t.Fatalf("multiplexed connections by node: %v, want one to two on each of %q", per, want)
		}
		for _, a := range want {
			if per[a] < 1 || per[a] > 2 {
				t.Fatalf("multiplexed connections by node: %v, want one to two on each of %q", per, want)
			}
		}
		for i, u := range us {
			o, err := usersSharded.Get(ctx, st, u.ID())
			must(t, err)
			if w := int64(i) + int64((64-i+len(us)-1)/len(us)); o.Age.Get() != w {
				t.Fatalf("user %d: age %d, want %d", i, o.Age.Get(), w)
			}
		}
		plain := b.OpenStore(t, rapyer.WithoutMultiplexing())
		if _, err := usersSharded.Get(ctx, plain, us[0].ID()); err != nil {
			t.Fatal(err)
		}
		if got := plain.Stats(); got.Multiplexed != nil || got.Active != max(1, len(masters)) {
			t.Fatalf("without multiplexing: %+v", got)
		}
	})
}
