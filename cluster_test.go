package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestClusterMigration: an object's slot migrated step by step (its keys
// split across two masters for a while) under concurrent Incr, a Tx of two
// increments and Save of the same object, from 6 goroutines: every
// operation the caller was told succeeded ran exactly once, and none that
// failed ran (the final counter equals the acknowledged increments).
func TestClusterMigration(t *testing.T) {
	var redirects redirectLog
	testkit.RunCluster(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		u.Age.Set(0)
		must(t, u.Save(ctx))
		_, err := u.Tags.Append(ctx, "a") // a second key in the slot
		must(t, err)
		slot := redisc.Slot(u.Key())

		var acked atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var failures atomic.Int64
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				obj, err := users.Get(ctx, b.Store, u.ID())
				if err != nil {
					t.Error(err)
					return
				}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					octx, cancel := context.WithTimeout(ctx, 10*time.Second)
					switch g % 3 {
					case 0:
						if _, err := obj.Age.Incr(octx, 1); err == nil {
							acked.Add(1)
						} else {
							failures.Add(1)
							t.Logf("Incr: %v", err)
						}
					case 1:
						err := b.Store.Tx(octx, func(q context.Context) error {
							obj.Age.Incr(q, 1)
							obj.Age.Incr(q, 1)
							return nil
						})
						if err == nil {
							acked.Add(2)
						} else if err != nil {
							failures.Add(1)
							t.Logf("Tx: %v", err)
						}
					case 2:
						if _, err := obj.Tags.Append(octx, "x"); err != nil {
							failures.Add(1)
							t.Logf("Append: %v", err)
						}
					}
					cancel()
				}
			}()
		}
		time.Sleep(100 * time.Millisecond)
		src, dst := b.MigrateSlot(t, slot, 50*time.Millisecond)
		time.Sleep(200 * time.Millisecond)
		close(stop)
		wg.Wait()
		got, err := users.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Age.Get() != acked.Load() {
			t.Fatalf("Age = %d, acknowledged increments %d (failures %d)", got.Age.Get(), acked.Load(), failures.Load())
		}
		if acked.Load() == 0 {
			t.Fatal("no increment succeeded")
		}
		owner, err := redis.String(b.NodeDo(t, dst, "CLUSTER", "MYID"))
		must(t, err)
		t.Logf("slot %d moved %s -> %s (%s): %d increments acknowledged, %d calls failed; redirections seen: %v", slot, src, dst, owner, acked.Load(), failures.Load(), redirects.kinds())
		if len(redirects.kinds()) == 0 {
			t.Fatal("no redirection met: the migration did not exercise them")
		}
	}, rapyer.WithLogger(slog.New(&redirects)))
}

// redirectLog is a slog handler that counts the Store's cluster
// redirections by kind (MOVED, ASK, TRYAGAIN, ...).
type redirectLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *redirectLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *redirectLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *redirectLog) WithGroup(string) slog.Handler            { return h }
func (h *redirectLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "rapyer: cluster redirection" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reply" {
			kind, _, _ := strings.Cut(a.Value.String(), " ")
			h.mu.Lock()
			if h.n == nil {
				h.n = map[string]int{}
			}
			h.n[kind]++
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *redirectLog) kinds() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.n)
}

// TestClusterTxSpansSlots: a Tx over two objects of different slots fails
// with ErrInvalid naming both keys, and nothing is sent.
func TestClusterTxSpansSlots(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, ctx, usersSharded, b.Store)
		var c *user
		for c == nil || redisc.Slot(c.Key()) == redisc.Slot(a.Key()) {
			c = saved(t, ctx, usersSharded, b.Store)
		}
		rt, _ := b.Count(func() {
			err := b.Store.Tx(ctx, func(q context.Context) error {
				a.Age.Incr(q, 1)
				c.Age.Incr(q, 1)
				return nil
			})
			wantErr(t, err, rapyer.ErrInvalid)
		})
		if rt != 0 {
			t.Fatalf("%d round trips for a refused Tx", rt)
		}
		for _, o := range []*user{a, c} {
			got, err := usersSharded.Get(ctx, b.Store, o.ID())
			must(t, err)
			if got.Age.Get() != o.Age.Get() {
				t.Fatalf("%s: Age %d, want %d", o.ID(), got.Age.Get(), o.Age.Get())
			}
		}
	})
}

// TestClusterScriptFlushOneNode: a node that lost its scripts (SCRIPT
// FLUSH on it alone, as a promoted replica has none) serves the next
// script call by a whole EVAL.
func TestClusterScriptFlushOneNode(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		addr := ""
		for _, a := range b.Seeds() {
			if n, err := redis.Int(b.NodeDo(t, a, "EXISTS", u.Key())); err == nil && n == 1 {
				addr = a // the others answer MOVED
			}
		}
		if addr == "" {
			t.Fatal("no node holds the object")
		}
		_, err := b.NodeDo(t, addr, "SCRIPT", "FLUSH")
		must(t, err)
		n, err := u.Age.Incr(ctx, 1)
		must(t, err)
		if n != 37 {
			t.Fatalf("Incr = %d, want 37", n)
		}
		// Stats sum the Store's per-node pools.
		if s := b.Store.Stats(); s.Active < 1 || s.Idle < 1 || s.InUse != s.Active-s.Idle {
			t.Fatalf("cluster Stats: %+v", s)
		}
	})
}

// TestClusterNotACluster: OpenCluster on a server that is not a cluster
// fails with ErrInvalid; without seeds too. (The embedded server answers
// CLUSTER SLOTS as a cluster of one node, so a Store over it works.)
func TestClusterNotACluster(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, cancel := context.WithTimeout(testkit.Ctx(t), 20*time.Second)
		defer cancel()
		_, err := rapyer.OpenCluster(ctx, nil)
		wantErr(t, err, rapyer.ErrInvalid)
		if b.Name == "cluster" {
			return
		}
		addr := b.URL()
		st, err := rapyer.OpenCluster(ctx, []string{addr}, rapyer.WithPrefix(b.Prefix()))
		if b.Name == "embedded" {
			must(t, err)
			defer st.Close()
			u := saved(t, ctx, users, st)
			got, err := users.Get(ctx, st, u.ID())
			must(t, err)
			if got.Name.Get() != "Ada" {
				t.Fatalf("Get over a one-node cluster: %q", got.Name.Get())
			}
			return
		}
		if !errors.Is(err, rapyer.ErrInvalid) {
			t.Fatalf("OpenCluster(%s) = %v, want ErrInvalid", addr, err)
		}
	})
}

// TestClusterFailover: on a 3+3 cluster this test starts (node timeout
// 1000 ms), the master of an object's slot is killed while a loop
// increments the object. Every call returns within its context (an error
// for those in the failover window: a network error or ErrUnavailable,
// never a hang or a panic), the replica is promoted, and calls succeed
// again on it without a new Store (its map is read again; its scripts are
// sent whole there).
func TestClusterFailover(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, _ *testkit.Backend) {
		lc := testkit.StartCluster(t, 3, 1)
		ctx := testkit.Ctx(t)
		st, err := rapyer.OpenCluster(ctx, lc.Addrs[:3])
		must(t, err)
		defer st.Close()
		u := saved(t, ctx, users, st)
		defer func() { _, _ = u.Delete(context.Background()) }()
		for i := 0; i < 10; i++ {
			_, err := u.Age.Incr(ctx, 1)
			must(t, err)
		}
		victim := lc.MasterOf(t, u.Key())
		lc.Kill(t, victim)
		killed := time.Now()
		var failed int
		var lastErr error
		for {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			start := time.Now()
			_, err := u.Age.Incr(cctx, 1)
			took := time.Since(start)
			cancel()
			if took > 10*time.Second {
				t.Fatalf("an Incr took %v past its 3 s context", took)
			}
			if err == nil {
				break
			}
			failed++
			lastErr = err
			if time.Since(killed) > 60*time.Second {
				t.Fatalf("no success 60 s after killing %s: %v", victim, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("master %s killed: %d calls failed (last: %v), then Incr succeeded after %v", victim, failed, lastErr, time.Since(killed).Round(time.Millisecond))
		got, err := users.Get(ctx, st, u.ID())
		must(t, err)
		if got.Age.Get() < 36+10 {
			t.Fatalf("Age %d after failover, want at least %d", got.Age.Get(), 46)
		}
	})
}

// TestClusterFailoverWait: on a 3+3 cluster this test starts, writers
// insert new objects (12 shards over the 3 masters) under WithWait(1, ...)
// while the replica of one master is paused (SIGSTOP: it stops reading
// what the master sends, as a stalled replica does), that master is then
// killed and the replica resumed and promoted. Every insert acknowledged
// without error, before, during and after the failover, is there
// afterwards; the inserts the paused replica did not acknowledge returned
// ErrNotReplicated (applied on the master, possibly lost with it: the
// log says how many are gone). Writes resume on the promoted replica,
// which has no replica of its own: ErrNotReplicated there, never a hang.
func TestClusterFailoverWait(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, _ *testkit.Backend) {
		r := stalledFailover(t, rapyer.WithWait(1, 300*time.Millisecond))
		if r.lost > 0 {
			t.Fatalf("%d of %d acknowledged inserts lost", r.lost, r.acked)
		}
		if r.acked == 0 || r.notRepl == 0 {
			t.Fatalf("the scenario did not happen: %v", r.kinds)
		}
	})
}

// failoverResult is what stalledFailover saw: inserts acknowledged and,
// of those, lost; inserts answered ErrNotReplicated and, of those, gone;
// the count of each outcome.
type failoverResult struct {
	acked, lost, notRepl, gone int
	kinds                      map[string]int
}

// stalledFailover runs TestClusterFailoverWait's scenario with a Store
// opened with opts.
func stalledFailover(t *testing.T, opts ...rapyer.Option) failoverResult {
	lc := testkit.StartCluster(t, 3, 1)
	ctx := testkit.Ctx(t)
	st, err := rapyer.OpenCluster(ctx, lc.Addrs[:3], opts...)
	must(t, err)
	defer st.Close()
	probe := saved(t, ctx, users, st) // acknowledged by the replica
	victim := lc.MasterOf(t, probe.Key())
	replica := lc.ReplicaOf(t, victim)
	if replica == "" {
		t.Fatalf("no replica of %s in %s", victim, lc)
	}
	big := strings.Repeat("x", 4096) // fills the paused replica's socket buffers sooner

	var mu sync.Mutex
	outcome := map[string]error{} // id -> the insert's error
	var kinds = map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				u := users.New(st)
				fill(u)
				u.Name.Set(big)
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				start := time.Now()
				err := u.Insert(cctx)
				took := time.Since(start)
				cancel()
				if took > 10*time.Second {
					t.Errorf("an Insert took %v past its 3 s context", took)
				}
				mu.Lock()
				outcome[u.ID()] = err
				kinds[errKind(err)]++
				mu.Unlock()
				if err != nil && !errors.Is(err, rapyer.ErrNotReplicated) {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond) // acknowledged writes on every master
	lc.Pause(t, replica)
	time.Sleep(1500 * time.Millisecond) // writes to the victim: not acknowledged
	lc.Kill(t, victim)
	lc.Resume(t, replica)
	killedAt := time.Now()
	for { // until a write on the victim's slots is answered again
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := probe.Age.Incr(cctx, 1)
		cancel()
		if err == nil || errors.Is(err, rapyer.ErrNotReplicated) {
			break
		}
		if time.Since(killedAt) > 60*time.Second {
			close(stop)
			wg.Wait()
			t.Fatalf("writes on %s's slots did not resume 60 s after the kill (last: %v); outcomes %v", victim, err, kinds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	var acked, notRepl []string
	for id, err := range outcome {
		switch {
		case err == nil:
			acked = append(acked, id)
		case errors.Is(err, rapyer.ErrNotReplicated):
			notRepl = append(notRepl, id)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	there, err := users.ExistsMany(rctx, st, acked)
	must(t, err)
	lost := 0
	for i, ok := range there {
		if !ok {
			lost++
			if lost <= 3 {
				t.Logf("acknowledged insert %s is gone after the failover", acked[i])
			}
		}
	}
	gone := 0
	if len(notRepl) > 0 {
		got, err := users.ExistsMany(rctx, st, notRepl)
		must(t, err)
		for _, ok := range got {
			if !ok {
				gone++
			}
		}
	}
	t.Logf("master %s killed, replica %s answering after %v; outcomes %v; %d of %d acknowledged inserts lost; %d of %d not replicated are gone",
		victim, replica, time.Since(killedAt).Round(time.Millisecond), kinds, lost, len(acked), gone, len(notRepl))
	return failoverResult{acked: len(acked), lost: lost, notRepl: len(notRepl), gone: gone, kinds: kinds}
}

// pipes is TestClusterPipelineMoved's model: no containers, no TTL (so
// GetMany pipelines plain HGETALLs), 12 shards over the masters.
var pipes = rapyer.Define("clpipe", func(p *pg) rapyer.Fields {
	return rapyer.Fields{p.Name.Named("name"), p.Age.Named("age")}
}, rapyer.WithShards(12))

// TestClusterPipelineMoved: a pipeline of plain reads (GetMany's HGETALLs,
// split per node) after a slot moved behind the Store's back: the node that
// lost the slot answers MOVED for those commands only, which go again to
// the new owner, each alone; every object comes back with its own values.
// Then the same on a Store multiplexing and one that does not.
func TestClusterPipelineMoved(t *testing.T) {
	var redirects redirectLog
	testkit.RunCluster(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		plain := b.NewStore(t, rapyer.WithoutMultiplexing(), rapyer.WithLogger(slog.New(&redirects)))
		objs := make([]*pg, 36)
		ids := make([]string, len(objs))
		for i := range objs {
			objs[i] = pipes.New(b.Store)
			objs[i].Name.Set(fmt.Sprint("n", i))
			objs[i].Age.Set(int64(i))
			ids[i] = objs[i].ID()
		}
		must(t, pipes.SaveMany(ctx, objs))
		for _, st := range []*rapyer.Store{b.Store, plain} { // both read the map now
			if _, err := pipes.GetMany(ctx, st, ids); err != nil {
				t.Fatal(err)
			}
		}
		b.MigrateSlot(t, redisc.Slot(objs[0].Key()), 0)
		for k, st := range []*rapyer.Store{b.Store, plain} {
			got, err := pipes.GetMany(ctx, st, ids)
			must(t, err)
			for i, o := range got {
				if o.ID() != ids[i] || o.Age.Get() != int64(i) || o.Name.Get() != fmt.Sprint("n", i) {
					t.Fatalf("store %d, object %d: %s age %d name %q", k, i, o.ID(), o.Age.Get(), o.Name.Get())
				}
			}
		}
		if n := redirects.kinds()["MOVED"]; n < 2 {
			t.Fatalf("MOVED seen %d times, want at least one per Store (%v)", n, redirects.kinds())
		}
	}, rapyer.WithLogger(slog.New(&redirects)))
}

// TestClusterNodeLeavesMap: when a master leaves the Store's slot map, its
// multiplexer is retired (its connections, none in flight, closed) and no
// longer listed;
// operations on its objects meet MOVED, go to it again on new connections,
// and see their own values.
func TestClusterNodeLeavesMap(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.OpenStore(t, rapyer.WithMultiplexConns(1))
		us := newUsers(usersSharded, st, 24) // 16 shards: every master
		must(t, usersSharded.SaveMany(ctx, us))
		byNode := func() map[string]int {
			per := map[string]int{}
			for _, m := range st.Stats().Multiplexed {
				per[m.Addr]++
			}
			return per
		}
		masters := b.Masters(t)
		if per := byNode(); len(per) != len(masters) {
			t.Fatalf("multiplexed connections by node %v, want one on each of %v", per, masters)
		}
		gone := masters[0]
		rapyer.ForgetNode(st, gone)
		if per := byNode(); per[gone] != 0 || len(per) != len(masters)-1 {
			t.Fatalf("after %s left the map: multiplexed connections by node %v", gone, per)
		}
		for i, u := range us {
			o, err := usersSharded.Ref(st, u.ID())
			must(t, err)
			n, err := o.Age.Incr(ctx, 100)
			must(t, err)
			if n != int64(i)+100 {
				t.Fatalf("user %d: Incr gave %d, want %d", i, n, i+100)
			}
		}
		if per := byNode(); per[gone] != 1 {
			t.Fatalf("after MOVED to %s: multiplexed connections by node %v, want one there again", gone, per)
		}
	})
}

// TestClusterGroupUnreachableOnce: a GetMany over every master whose first
// group's node cannot be reached at first (its first dial fails). The
// other groups are read meanwhile, before the objects are made (they
// parse their replies instead of decoding them in place); the first
// group goes again once the node answers, and makes the objects then.
// Every object loads whole, the same as Get.
func TestClusterGroupUnreachableOnce(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		const n = 240 // every master, each group past what a multiplexed request holds
		fs := make([]*flatAll, n)
		ids := make([]string, n)
		for i := range fs {
			fs[i] = flatAlls.New(b.Store)
			fs[i].Name.Set(fmt.Sprint("n", i))
			fs[i].Age.Set(int64(i))
			ids[i] = fs[i].ID()
		}
		must(t, flatAlls.SaveMany(ctx, fs))
		target := b.MasterOf(t, fs[0].Key()) // the first group's node
		var armed atomic.Bool
		var failed atomic.Int32
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if armed.Load() && addr == target && failed.CompareAndSwap(0, 1) {
				return nil, errors.New("test: node unreachable once")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		// Connections idle past a millisecond are closed when taken: the
		// GetMany dials anew.
		st := b.OpenStore(t, rapyer.WithDialer(dial), rapyer.WithoutMultiplexing(), rapyer.WithIdleTimeout(time.Millisecond))
		armed.Store(true)
		time.Sleep(5 * time.Millisecond)
		got, err := flatAlls.GetMany(ctx, st, ids)
		must(t, err)
		if failed.Load() != 1 {
			t.Fatalf("no dial to %s failed: the test did not make its node unreachable", target)
		}
		for i, g := range got {
			want, err := flatAlls.Get(ctx, b.Store, ids[i])
			must(t, err)
			if g == nil || fmt.Sprint(flatValues(g)) != fmt.Sprint(flatValues(want)) || g.Age.Get() != int64(i) {
				t.Fatalf("object %d: loaded %v, want %v", i, g, flatValues(want))
			}
		}
	})
}
