package rapyer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// The multiplexed connections (mux.go) under concurrency and faults. Each
// goroutine works on its own object, whose name says whose it is, so that a
// reply handed to the wrong caller shows as a wrong name or a wrong count.

type muxObj struct {
	rapyer.Model
	Name types.Str
	N    types.Int
}

var muxObjs = rapyer.Define("muxobj", func(o *muxObj) rapyer.Fields {
	return rapyer.Fields{o.Name.Named("name"), o.N.Named("n")}
})

// muxSaved saves objects named g0, g1, ... with N = start*i.
func muxSaved(t *testing.T, ctx context.Context, st *rapyer.Store, n int, start int64) []*muxObj {
	t.Helper()
	objs := make([]*muxObj, n)
	for i := range objs {
		objs[i] = muxObjs.New(st)
		objs[i].Name.Set("g" + strconv.Itoa(i))
		objs[i].N.Set(start * int64(i))
		must(t, objs[i].Save(ctx))
	}
	return objs
}

// muxSavedBeside saves a new object in o's hash slot (on a cluster, on
// o's node).
func muxSavedBeside(t *testing.T, ctx context.Context, st *rapyer.Store, o *muxObj) *muxObj {
	t.Helper()
	n := muxObjs.New(st)
	for i := 0; redisc.Slot(n.Key()) != redisc.Slot(o.Key()); i++ {
		if i > 10000 {
			t.Fatal("no id in the object's slot")
		}
		n = muxObjs.New(st)
	}
	must(t, n.Save(ctx))
	return n
}

// isNetwork reports whether err is what a broken connection gives.
func isNetwork(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// muxWorker runs mixed operations on its own object: Incr, Get and a Tx of
// two Incrs. It knows base, what its successful operations added; an
// operation that failed may have run, even later (a server runs what it
// read from a connection before noticing it closed), so the stored value
// is base plus a part of maybe (what failed operations would have added),
// a part that only grows. Every reply is checked against that; objects
// start a million apart, so another object's reply never fits.
type muxWorker struct {
	o           *muxObj
	name        string
	base        int64
	seen, maybe int64 // the part of maybe seen applied; maybe
}

func newMuxWorker(o *muxObj, g int) *muxWorker {
	return &muxWorker{o: o, name: "g" + strconv.Itoa(g), base: int64(g) * 1_000_000}
}

// check takes the stored value v after base's operations: its part of
// maybe must be within [seen, maybe].
func (w *muxWorker) check(op string, v int64) error {
	extra := v - w.base
	if extra < w.seen || extra > w.maybe {
		return fmt.Errorf("%s: %s gave %d, want %d + [%d, %d]", w.name, op, v, w.base, w.seen, w.maybe)
	}
	w.seen = extra
	return nil
}

func (w *muxWorker) step(ctx context.Context, st *rapyer.Store, i int) error {
	switch i % 3 {
	case 0:
		n, err := w.o.N.Incr(ctx, 1)
		if err != nil {
			w.maybe++
			return err
		}
		w.base++
		return w.check("Incr", n)
	case 1:
		got, err := muxObjs.Get(ctx, st, w.o.ID())
		if err != nil {
			return err
		}
		if got.Name.Get() != w.name {
			return fmt.Errorf("%s: Get returned object %s", w.name, got.Name.Get())
		}
		return w.check("Get", got.N.Get())
	default:
		var a, b *rapyer.Result[int64]
		err := st.Tx(ctx, func(q context.Context) error {
			a = rapyer.Later(q, func(q context.Context) (int64, error) { return w.o.N.Incr(q, 1) })
			b = rapyer.Later(q, func(q context.Context) (int64, error) { return w.o.N.Incr(q, 10) })
			return nil
		})
		if err != nil {
			w.maybe += 11
			return err
		}
		x, errA := a.Get()
		y, errB := b.Get()
		if errA != nil || errB != nil || y != x+10 {
			return fmt.Errorf("%s: Tx returned %d (%v), %d (%v)", w.name, x, errA, y, errB)
		}
		w.base += 11
		return w.check("Tx", y)
	}
}

// TestMuxCutStream: 64 goroutines run mixed operations while the proxy
// cuts every connection, again and again. Each operation in flight either
// fails with a network error or succeeds with its own object's correct
// value; after each cut, operations succeed again on fresh connections.
func TestMuxCutStream(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithMultiplexConns(2))
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 64, 1_000_000)
		var ok, failed atomic.Int64
		var wrong atomic.Pointer[error]
		stop := make(chan struct{})
		var wg sync.WaitGroup
		workers := make([]*muxWorker, len(objs))
		for g, o := range objs {
			w := newMuxWorker(o, g)
			workers[g] = w
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					err := w.step(ctx, st, i)
					switch {
					case err == nil:
						ok.Add(1)
					case isNetwork(err):
						failed.Add(1)
					default:
						wrong.Store(&err)
						return
					}
				}
			}()
		}
		// waitOK waits for n more successes (bounded by ctx).
		waitOK := func(n int64) {
			t.Helper()
			want := ok.Load() + n
			for ok.Load() < want && wrong.Load() == nil {
				if ctx.Err() != nil {
					t.Fatalf("%d successes, waiting for %d: %v", ok.Load(), want, ctx.Err())
				}
				time.Sleep(time.Millisecond)
			}
		}
		cuts := 0
		for cuts < 5 || (failed.Load() == 0 && cuts < 100) {
			waitOK(200)
			p.Cut()
			cuts++
		}
		waitOK(200) // after the last cut too
		close(stop)
		wg.Wait()
		if err := wrong.Load(); err != nil {
			t.Fatalf("an operation failed without a network error, or with a wrong value: %v", *err)
		}
		if failed.Load() == 0 {
			t.Fatalf("%d cuts failed no operation: the test proves nothing", cuts)
		}
		t.Logf("%d cuts: %d operations succeeded, %d failed with a network error", cuts, ok.Load(), failed.Load())
		for _, w := range workers {
			v, _ := b.HGet(t, w.o.Key(), "n")
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				err = w.check("the stored value", n)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestMuxShares: 64 goroutines share the multiplexed connections (2 here)
// instead of taking one each; each gets its own replies.
func TestMuxShares(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithMultiplexConns(2))
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 64, 1_000_000)
		before := p.Accepted()
		errs := make(chan error, len(objs))
		for g, o := range objs {
			go func() {
				w := newMuxWorker(o, g)
				for i := range 30 {
					if err := w.step(ctx, st, i); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range objs {
			must(t, <-errs)
		}
		// Open's Ping took one multiplexed connection and one of the pool
		// (SCRIPT LOAD); the Tx and the Gets may dial the second lane. On a
		// cluster, as many per master (Ping's pooled one, two lanes), and
		// the one that reads the slot map.
		nodes, most := 1, 3
		if ms := b.Masters(t); ms != nil {
			nodes, most = len(ms), 3*len(ms)+1
		}
		if n := p.Accepted(); n > most {
			t.Fatalf("64 goroutines opened %d connections (%d before them), want at most 2 multiplexed + 1 pooled per node (%d nodes)", n, before, nodes)
		}
		for g, o := range objs {
			if v, _ := b.HGet(t, o.Key(), "n"); v != strconv.Itoa(g*1_000_000+120) { // 10 x (1 + 1 + 10)
				t.Fatalf("g%d: stored n %s, want %d", g, v, g*1_000_000+120)
			}
		}
	})
}

// TestMuxTxContiguous: Tx calls of 64 goroutines on one shared connection
// each run whole (their MULTI..EXEC written together, never interleaved
// with another caller's commands), with their own results.
func TestMuxTxContiguous(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st := b.NewStore(t, rapyer.WithMultiplexConns(1))
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 64, 1_000_000)
		errs := make(chan error, len(objs))
		for g, o := range objs {
			go func() {
				w := newMuxWorker(o, g)
				for range 10 {
					if err := w.step(ctx, st, 2); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range objs {
			must(t, <-errs)
		}
		for g, o := range objs {
			if v, _ := b.HGet(t, o.Key(), "n"); v != strconv.Itoa(g*1_000_000+110) {
				t.Fatalf("g%d: stored n %s, want %d", g, v, g*1_000_000+110)
			}
		}
	})
}

// TestMuxCancel: on one shared connection whose replies are held back, a
// caller whose context ends returns at once with the context's error,
// whether its command was written (it ran on the server) or not; the
// others keep waiting and then get their own replies, and later calls too
// (the cancelled call's reply was read and dropped).
func TestMuxCancel(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, slowOK(rapyer.WithMultiplexConns(1))...)
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 9, 0)
		lone, others := objs[0], objs[1:]
		p.StallReplies()
		results := make(chan error, len(others))
		for g, o := range others {
			go func() {
				n, err := o.N.Incr(ctx, int64(g+1))
				if err == nil && n != int64(g+1) {
					err = fmt.Errorf("g%d: Incr returned %d, want %d", g+1, n, g+1)
				}
				results <- err
			}()
		}
		// The lone Incr is written and runs on the server (the proxy holds
		// only the replies); its caller then gives up.
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := lone.N.Incr(cctx, 100)
			done <- err
		}()
		for {
			if v, _ := b.HGet(t, lone.Key(), "n"); v == "100" {
				break
			}
			if ctx.Err() != nil {
				t.Fatal("the Incr never reached the server")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		wantErr(t, <-done, context.Canceled)
		select {
		case err := <-results:
			t.Fatalf("another caller returned while the replies were held: %v", err)
		default:
		}
		p.Resume()
		for range others {
			must(t, <-results)
		}
		for g, o := range objs {
			got, err := muxObjs.Get(ctx, st, o.ID())
			must(t, err)
			want := int64(g)
			if g == 0 {
				want = 100
			}
			if got.Name.Get() != "g"+strconv.Itoa(g) || got.N.Get() != want {
				t.Fatalf("g%d: got %s with N %d, want N %d", g, got.Name.Get(), got.N.Get(), want)
			}
		}
	})
}

// TestMuxCancelQueued: a call whose caller gives up before it is written
// is never written. The shared connection is busy writing a 32 MB Save to
// a server that stopped reading; an Incr queued behind it is cancelled;
// when the server reads again, the Save completes and the Incr never ran.
func TestMuxCancelQueued(t *testing.T) {
	defer rapyer.SetMuxMaxBytes(64 << 20)() // the 32 MB Save multiplexed too
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, slowOK(rapyer.WithMultiplexConns(1))...)
		ctx := testkit.Ctx(t)
		big := muxSaved(t, ctx, st, 1, 0)[0]
		// small in big's hash slot: on a cluster, on the same node's
		// connection, so that its call queues behind the big write.
		small := muxSavedBeside(t, ctx, st, big)
		p.StallRequests()
		big.Name.Set(strings.Repeat("x", 32<<20)) // more than the socket buffers hold
		saved := make(chan error, 1)
		go func() { saved <- big.Save(ctx) }()
		waitStacks(t, ctx, "rapyer.(*pipeConn).flushHeld", 1)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := small.N.Incr(cctx, 1)
			done <- err
		}()
		waitStacks(t, ctx, "rapyer.(*pipeConn).run", 2) // the Save's and the Incr's
		cancel()
		wantErr(t, <-done, context.Canceled)
		p.Resume()
		must(t, <-saved)
		n, err := small.N.Incr(ctx, 5)
		must(t, err)
		if n != 5 {
			t.Fatalf("Incr returned %d, want 5: the cancelled Incr ran", n)
		}
		if v, _ := b.HGet(t, big.Key(), "name"); len(v) != 32<<20 {
			t.Fatalf("stored name of %d bytes, want %d", len(v), 32<<20)
		}
	})
}

// slowOK lets replies and writes be held back for a minute before the
// connection counts as broken (rather than the default 3 s).
func slowOK(opts ...rapyer.Option) []rapyer.Option {
	return append([]rapyer.Option{rapyer.WithReadTimeout(time.Minute), rapyer.WithWriteTimeout(time.Minute)}, opts...)
}

// waitStacks waits until at least n goroutines have fn in their stack.
func waitStacks(t *testing.T, ctx context.Context, fn string, n int) {
	t.Helper()
	for bytes.Count(allStacks(), []byte(fn+"(")) < n {
		if ctx.Err() != nil {
			t.Fatalf("no %d goroutines in %s", n, fn)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMuxClose: Close fails the calls waiting on multiplexed connections
// with ErrClosed, at once.
func TestMuxClose(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, slowOK(rapyer.WithMultiplexConns(1))...)
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 8, 0)
		p.StallReplies()
		results := make(chan error, len(objs))
		for _, o := range objs {
			go func() {
				_, err := o.N.Incr(ctx, 1)
				results <- err
			}()
		}
		waitStacks(t, ctx, "rapyer.(*pipeConn).run", len(objs))
		must(t, st.Close())
		for range objs {
			wantErr(t, <-results, rapyer.ErrClosed)
		}
		p.Resume()
	})
}

// TestMuxRoundTrips: concurrent calls on shared connections cost no more
// round trips than calls, and every command goes out once.
func TestMuxRoundTrips(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st := b.NewStore(t, rapyer.WithMultiplexConns(1))
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 64, 0)
		rt, cmds := b.Count(func() {
			var wg sync.WaitGroup
			for _, o := range objs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := o.N.Incr(ctx, 1); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		})
		if rt < 1 || rt > len(objs) || len(cmds) != len(objs) {
			t.Fatalf("64 concurrent Incr: %d round trips, %d commands", rt, len(cmds))
		}
		t.Logf("64 concurrent Incr: %d round trips", rt)
	})
}

// TestMuxIdleRedial: a multiplexed connection left unused past the idle
// timeout is replaced before use, so a connection the server (here the
// proxy) closed meanwhile costs no failed call.
func TestMuxIdleRedial(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithMultiplexConns(1), rapyer.WithIdleTimeout(20*time.Millisecond))
		ctx := testkit.Ctx(t)
		o := muxSaved(t, ctx, st, 1, 0)[0]
		for i := 1; i <= 3; i++ {
			p.Cut()
			time.Sleep(50 * time.Millisecond) // past the idle timeout
			n, err := o.N.Incr(ctx, 1)
			must(t, err)
			if n != int64(i) {
				t.Fatalf("Incr returned %d, want %d", n, i)
			}
		}
	})
}

// TestMuxCutWrite: a caller whose large write the server does not take
// (it stopped reading) leaves the rest to the writer goroutine and returns
// at its context's end; the write still completes whole when the server
// reads again (the Save runs), and the connection goes on serving others.
func TestMuxCutWrite(t *testing.T) {
	defer rapyer.SetMuxMaxBytes(64 << 20)() // the 32 MB Save multiplexed too
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, slowOK(rapyer.WithMultiplexConns(1))...)
		ctx := testkit.Ctx(t)
		big := muxSaved(t, ctx, st, 1, 0)[0]
		// small in big's hash slot: on a cluster, on the same node's
		// connection, so that its reply comes after the big write ended.
		small := muxSavedBeside(t, ctx, st, big)
		p.StallRequests()
		big.Name.Set(strings.Repeat("y", 32<<20))
		cctx, cancel := context.WithCancel(ctx)
		saved := make(chan error, 1)
		go func() { saved <- big.Save(cctx) }()
		waitStacks(t, ctx, "rapyer.(*pipeConn).flushHeld", 1) // the writer goroutine has the rest
		cancel()
		wantErr(t, <-saved, context.Canceled)
		p.Resume()
		n, err := small.N.Incr(ctx, 7)
		must(t, err)
		if n != 7 {
			t.Fatalf("Incr returned %d, want 7", n)
		}
		if v, _ := b.HGet(t, big.Key(), "name"); len(v) != 32<<20 {
			t.Fatalf("stored name of %d bytes, want %d: the write was not completed", len(v), 32<<20)
		}
	})
}

// TestMuxBatchesUnderLoad: callers that keep a shared connection busy have
// their calls written together. 64 goroutines each make 20 Incr calls, one
// after another, on one multiplexed connection per server: a caller that
// finds replies owed lets the other callers queue theirs before it writes
// (pipeConn.submit), so the 1280 calls go out in far fewer socket writes
// than calls (without that, about one write per call; on embedded, see
// below). Every Incr gets its own value.
func TestMuxBatchesUnderLoad(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st := b.NewStore(t, rapyer.WithMultiplexConns(1))
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 64, 1_000_000)
		const each = 20
		writes, cmds := b.CountWrites(func() {
			var wg sync.WaitGroup
			for g, o := range objs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 1; i <= each; i++ {
						n, err := o.N.Incr(ctx, 1)
						if err == nil && n != int64(g)*1_000_000+int64(i) {
							err = fmt.Errorf("g%d: Incr %d returned %d", g, i, n)
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
		calls := len(objs) * each
		if len(cmds) != calls {
			t.Fatalf("%d commands sent for %d calls", len(cmds), calls)
		}
		limit := calls / 3
		if b.Name == "embedded" {
			// miniredis answers each command in a write of its own, from
			// goroutines of this process: callers come back one at a time,
			// and what they share depends on the moment. Each call still
			// goes out whole, in one write.
			limit = calls
		}
		if writes > limit {
			t.Fatalf("%d calls from 64 busy callers took %d writes: not batched", calls, writes)
		}
		t.Logf("%d calls from 64 callers: %d writes (%.1f calls each)", calls, writes, float64(calls)/float64(writes))
	})
}

// TestMuxCancelStorm: 64 goroutines run mixed operations on one shared
// connection, each under a context that ends at a random moment (before
// the call is written, while it waits, while its caller reads replies for
// others, or not at all). A call whose context ended returns its context's
// error; every other gets its own object's correct value (calls are reused
// once their caller is done with them: one reused too early would hand a
// caller another's reply, or race); the connection serves on throughout.
func TestMuxCancelStorm(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st := b.NewStore(t, rapyer.WithMultiplexConns(1))
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 64, 1_000_000)
		var ok, cut atomic.Int64
		errs := make(chan error, len(objs))
		workers := make([]*muxWorker, len(objs))
		for g, o := range objs {
			w := newMuxWorker(o, g)
			workers[g] = w
			go func() {
				rnd := rand.New(rand.NewPCG(uint64(g), 1))
				for i := range 60 {
					// One call in four is bounded only by the test's
					// context; the others end within 3 ms.
					limit := time.Duration(rnd.IntN(3000)) * time.Microsecond
					if rnd.IntN(4) == 0 {
						limit = time.Hour
					}
					cctx, cancel := context.WithTimeout(ctx, limit)
					err := w.step(cctx, st, i)
					cancel()
					switch {
					case err == nil:
						ok.Add(1)
					case ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
						cut.Add(1)
					default:
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range objs {
			must(t, <-errs)
		}
		if ok.Load() == 0 || cut.Load() == 0 {
			t.Fatalf("%d calls succeeded, %d were cut by their context: the test needs both", ok.Load(), cut.Load())
		}
		t.Logf("%d calls succeeded, %d cut by their context", ok.Load(), cut.Load())
		for g, w := range workers {
			got, err := muxObjs.Get(ctx, st, w.o.ID())
			must(t, err)
			if got.Name.Get() != w.name {
				t.Fatalf("g%d: Get returned object %s", g, got.Name.Get())
			}
			must(t, w.check("the stored value", got.N.Get()))
		}
	})
}
