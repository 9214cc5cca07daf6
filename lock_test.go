package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

type lockObj struct {
	rapyer.Model
	N    types.Int
	Note types.Str
}

func lockObjFields(o *lockObj) rapyer.Fields {
	return rapyer.Fields{o.N.Named("n"), o.Note.Named("note")}
}

var (
	lockObjs    = rapyer.Define("lockt", lockObjFields)
	lockObjsTTL = rapyer.Define("locktt", lockObjFields, rapyer.WithTTL(time.Hour))
)

// newLockObj saves a fresh object with N = 0.
func newLockObj(t *testing.T, ctx context.Context, st *rapyer.Store) *lockObj {
	t.Helper()
	o := lockObjs.New(st)
	o.N.Set(0)
	must(t, o.Save(ctx))
	return o
}

// lockKeyOf is the key of o's lock name (format in keys.go).
func lockKeyOf(o *lockObj, name string) string {
	return lockKeyIn(o.Key(), o.ID(), name)
}

// fenceCounter returns the stored fencing counter of lock name in o's
// shard: the HASH <head>x:fence (format in keys.go).
func fenceCounter(t *testing.T, b *testkit.Backend, o *lockObj, name string) string {
	t.Helper()
	v, _ := b.HGet(t, shardHead(o.Key())+"x:fence", name)
	return v
}

// oneTrip runs f and checks that it took exactly one round trip, one EVALSHA.
func oneTrip(t *testing.T, b *testkit.Backend, what string, f func()) {
	t.Helper()
	rts, cmds := b.Count(f)
	if rts != 1 || len(cmds) != 1 || cmds[0] != "EVALSHA" {
		t.Fatalf("%s: %d round trips %v, want 1 EVALSHA", what, rts, cmds)
	}
}

func TestLockOperations(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		key := lockKeyOf(o, "edit")

		var l *rapyer.Lock
		var err error
		oneTrip(t, b, "TryLock", func() { l, err = o.TryLock(ctx, "edit", rapyer.WithLockTTL(10*time.Second)) })
		must(t, err)
		if l.Token() != 1 || l.Name() != "edit" {
			t.Fatalf("token %d name %q, want 1 edit", l.Token(), l.Name())
		}
		if ms := b.PTTL(t, key); ms <= 9000 || ms > 10000 {
			t.Fatalf("lock key PTTL %d, want about 10000", ms)
		}
		if left := time.Until(l.ValidUntil()); left <= 9*time.Second || left > 10*time.Second {
			t.Fatalf("ValidUntil in %v, want about 10s", left)
		}
		if f := fenceCounter(t, b, o, "edit"); f != "1" {
			t.Fatalf("fencing counter %q, want 1", f)
		}
		oneTrip(t, b, "Extend", func() { err = l.Extend(ctx, time.Minute) })
		must(t, err)
		if ms := b.PTTL(t, key); ms <= 59000 || ms > 60000 {
			t.Fatalf("lock key PTTL after Extend %d, want about 60000", ms)
		}
		if l.Token() != 1 {
			t.Fatalf("Extend changed the token to %d", l.Token())
		}
		oneTrip(t, b, "Unlock", func() { err = l.Unlock(ctx) })
		must(t, err)
		if ms := b.PTTL(t, key); ms != -2 {
			t.Fatalf("lock key left after Unlock (PTTL %d)", ms)
		}
		if !l.ValidUntil().IsZero() {
			t.Fatalf("ValidUntil after Unlock = %v, want zero", l.ValidUntil())
		}
		// A second Unlock or an Extend of a released lock: ErrLockLost, no I/O.
		rts, _ := b.Count(func() {
			wantErr(t, l.Unlock(ctx), rapyer.ErrLockLost, "edit")
			wantErr(t, l.Extend(ctx, time.Second), rapyer.ErrLockLost, "edit")
		})
		if rts != 0 {
			t.Fatalf("released lock: %d round trips", rts)
		}

		oneTrip(t, b, "Lock (uncontended)", func() { l, err = o.Lock(ctx, "edit") })
		must(t, err)
		if l.Token() != 2 {
			t.Fatalf("second acquisition token %d, want 2", l.Token())
		}
		if ms := b.PTTL(t, key); ms <= 29000 || ms > 30000 {
			t.Fatalf("default lock TTL: PTTL %d, want about 30000", ms)
		}
		// TryLock on a held lock: ErrLocked at once, one round trip, nothing
		// changed (token counter included).
		oneTrip(t, b, "TryLock (held)", func() {
			_, err = o.TryLock(ctx, "edit")
		})
		wantErr(t, err, rapyer.ErrLocked, "lockt", o.ID(), `"edit"`)
		if f := fenceCounter(t, b, o, "edit"); f != "2" {
			t.Fatalf("fencing counter %q after a failed TryLock, want 2", f)
		}
		must(t, l.Unlock(ctx))

		// The lock leaves the object's data and version alone, and Reload
		// ignores the fencing counter.
		v := o.Version()
		must(t, o.Reload(ctx))
		if o.Version() != v || o.N.Get() != 0 {
			t.Fatalf("after locking: version %d (was %d), n %d", o.Version(), v, o.N.Get())
		}
	})
}

// TestLockCounter: 8 goroutines each increment a plain read-then-write
// counter 50 times under the lock; no update is lost.
func TestLockCounter(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		tokens := make(chan int64, 4*50)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine, err := lockObjs.Get(ctx, b.Store, o.ID()) // one object per goroutine
				if err != nil {
					errs <- err
					return
				}
				for i := 0; i < 50; i++ {
					if g%2 == 0 { // by hand
						err = func() error {
							l, err := mine.Lock(ctx, "count")
							if err != nil {
								return err
							}
							tokens <- l.Token()
							if err := mine.Reload(ctx); err != nil {
								return err
							}
							mine.N.Set(mine.N.Get() + 1)
							return errors.Join(mine.Save(ctx), l.Unlock(ctx))
						}()
					} else { // with WithLock
						err = mine.WithLock(ctx, "count", func(context.Context) error {
							mine.N.Set(mine.N.Get() + 1)
							return nil
						}, rapyer.WithSave())
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		close(tokens)
		for err := range errs {
			t.Fatal(err)
		}
		must(t, o.Reload(ctx))
		if o.N.Get() != 400 {
			t.Fatalf("counter %d, want 400", o.N.Get())
		}
		if f := fenceCounter(t, b, o, "count"); f != "400" {
			t.Fatalf("fencing counter %q, want 400", f)
		}
		seen := map[int64]bool{}
		for tok := range tokens {
			if seen[tok] || tok < 1 || tok > 400 {
				t.Fatalf("token %d repeated or out of 1..400", tok)
			}
			seen[tok] = true
		}
		if len(seen) != 200 {
			t.Fatalf("%d tokens, want 200", len(seen))
		}
	})
}

// TestLockCrashedHolder: a holder that never unlocks blocks a waiter only
// until its lock expires; its late Unlock and Extend fail and leave the new
// owner's lock in place.
func TestLockCrashedHolder(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		crashed, err := o.TryLock(ctx, "job", rapyer.WithLockTTL(200*time.Millisecond))
		must(t, err)

		other, err := lockObjs.Get(ctx, b.Store, o.ID())
		must(t, err)
		type result struct {
			l   *rapyer.Lock
			err error
		}
		done := make(chan result, 1)
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		go func() {
			l, err := other.Lock(wctx, "job", rapyer.WithLockTTL(10*time.Second))
			done <- result{l, err}
		}()
		select {
		case r := <-done:
			t.Fatalf("waiter got the lock while it was held: %v", r.err)
		case <-time.After(50 * time.Millisecond):
		}
		start := time.Now()
		b.Elapse(250 * time.Millisecond) // the crashed holder's lock expires
		var r result
		select {
		case r = <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("waiter still blocked 2s after the holder's lock expired")
		}
		must(t, r.err)
		if took := time.Since(start); took > time.Second {
			t.Fatalf("waiter took %v after expiry", took)
		}
		if r.l.Token() != crashed.Token()+1 {
			t.Fatalf("new owner's token %d, want %d", r.l.Token(), crashed.Token()+1)
		}

		// The expired holder can neither extend nor release the new owner's lock.
		wantErr(t, crashed.Extend(ctx, time.Minute), rapyer.ErrLockLost, "another owner")
		wantErr(t, crashed.Unlock(ctx), rapyer.ErrLockLost)
		key := lockKeyOf(o, "job")
		if ms := b.PTTL(t, key); ms <= 9000 {
			t.Fatalf("new owner's lock PTTL %d after the old holder's Extend/Unlock, want about 10000", ms)
		}
		_, err = o.TryLock(ctx, "job")
		wantErr(t, err, rapyer.ErrLocked)
		must(t, r.l.Unlock(ctx))
	})
}

// TestLockExpiredUnlock: Unlock and Extend after the lock expired (nobody
// took it) report ErrLockLost and create nothing.
func TestLockExpiredUnlock(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		key := lockKeyOf(o, "job")

		l, err := o.TryLock(ctx, "job", rapyer.WithLockTTL(200*time.Millisecond))
		must(t, err)
		b.Elapse(250 * time.Millisecond)
		var uerr error
		oneTrip(t, b, "Extend (expired)", func() { uerr = l.Extend(ctx, time.Minute) })
		wantErr(t, uerr, rapyer.ErrLockLost, "expired", "lockt", o.ID())
		if ms := b.PTTL(t, key); ms != -2 {
			t.Fatalf("Extend of an expired lock left a key (PTTL %d)", ms)
		}

		l, err = o.TryLock(ctx, "job", rapyer.WithLockTTL(200*time.Millisecond))
		must(t, err)
		b.Elapse(250 * time.Millisecond)
		oneTrip(t, b, "Unlock (expired)", func() { uerr = l.Unlock(ctx) })
		wantErr(t, uerr, rapyer.ErrLockLost, "expired")
		if ms := b.PTTL(t, key); ms != -2 {
			t.Fatalf("Unlock of an expired lock left a key (PTTL %d)", ms)
		}
	})
}

// TestLockCancel: a waiting Lock returns promptly when its context is
// cancelled or its deadline passes, without taking the lock.
func TestLockCancel(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		held, err := o.Lock(ctx, "job")
		must(t, err)

		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := o.Lock(cctx, "job")
			done <- err
		}()
		time.Sleep(300 * time.Millisecond) // long enough for the backoff to reach its cap
		cancel()
		cancelled := time.Now()
		select {
		case err = <-done:
		case <-time.After(time.Second):
			t.Fatal("Lock still waiting 1s after cancel")
		}
		if took := time.Since(cancelled); took > 200*time.Millisecond { // the backoff sleeps up to 250ms
			t.Fatalf("Lock returned %v after cancel, want within 200ms", took)
		}
		wantErr(t, err, rapyer.ErrLocked, "lockt", `"job"`)
		wantErr(t, err, context.Canceled)

		// A deadline long enough for the first attempt to see the lock
		// held, even on a loaded machine: Lock waits until it, then
		// reports both.
		dctx, cancel2 := context.WithTimeout(ctx, time.Second)
		defer cancel2()
		start := time.Now()
		_, err = o.Lock(dctx, "job")
		wantErr(t, err, context.DeadlineExceeded)
		wantErr(t, err, rapyer.ErrLocked)
		if took := time.Since(start); took < 900*time.Millisecond {
			t.Fatalf("Lock with a 1s deadline returned after %v", took)
		}
		// A cancel that lands just as a retry is sent (the first attempt saw
		// the lock held) still reports ErrLocked with the context's error.
		var err2 error
		trips, _ := b.Count(func() {
			_, err2 = o.Lock(cancelAfterTrip{ctx, b}, "job")
		})
		if trips != 1 {
			t.Fatalf("Lock cancelled at its retry made %d round trips, want 1", trips)
		}
		wantErr(t, err2, rapyer.ErrLocked, `"job"`)
		wantErr(t, err2, context.Canceled)
		// The holder's lock is untouched.
		must(t, held.Extend(ctx, time.Minute))
		must(t, held.Unlock(ctx))
	})
}

// cancelAfterTrip reports itself cancelled (Err) once the backend has counted
// a round trip, while its Done channel stays open: it stands for a cancel
// that lands in the instant between a Lock's backoff and its next attempt.
type cancelAfterTrip struct {
	context.Context
	b *testkit.Backend
}

func (c cancelAfterTrip) Err() error {
	if c.b.Trips() > 0 {
		return context.Canceled
	}
	return c.Context.Err()
}

// TestLockFencing: the token grows strictly with every acquisition, across
// releases and expiries; two names on one object are independent.
func TestLockFencing(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		var last int64
		next := func(l *rapyer.Lock, err error) *rapyer.Lock {
			t.Helper()
			must(t, err)
			if l.Token() <= last {
				t.Fatalf("token %d after %d", l.Token(), last)
			}
			last = l.Token()
			return l
		}
		for i := 0; i < 3; i++ {
			must(t, next(o.Lock(ctx, "a")).Unlock(ctx))
		}
		next(o.TryLock(ctx, "a", rapyer.WithLockTTL(100*time.Millisecond))) // expires
		b.Elapse(150 * time.Millisecond)
		a := next(o.TryLock(ctx, "a"))
		if last != 5 {
			t.Fatalf("fifth acquisition gave token %d", last)
		}

		// "b" is another lock: free while "a" is held, its own counter.
		lb, err := o.TryLock(ctx, "b")
		must(t, err)
		if lb.Token() != 1 {
			t.Fatalf("lock b token %d, want 1", lb.Token())
		}
		must(t, lb.Unlock(ctx))
		_, err = o.TryLock(ctx, "a")
		wantErr(t, err, rapyer.ErrLocked) // releasing b left a held
		must(t, a.Unlock(ctx))
		lb, err = o.TryLock(ctx, "b")
		must(t, err)
		if lb.Token() != 2 {
			t.Fatalf("lock b token %d, want 2", lb.Token())
		}
		must(t, lb.Unlock(ctx))

		// The same name on another object is another lock (free while o's
		// is held), drawing from the shard's counter of that name (p is in
		// o's shard: NewBeside; on one server a model has one shard).
		p := lockObjs.NewBeside(o)
		p.N.Set(0)
		must(t, p.Save(ctx))
		if shardHead(p.Key()) != shardHead(o.Key()) {
			t.Fatalf("NewBeside: %s is not in the shard of %s", p.Key(), o.Key())
		}
		la := next(o.TryLock(ctx, "a"))
		lp := next(p.TryLock(ctx, "a"))
		must(t, la.Unlock(ctx))
		must(t, lp.Unlock(ctx))
		next(o.TryLock(ctx, "a"))
	})
}

// TestLockMissingObject: locking an object that does not exist is
// ErrNotFound and writes nothing.
func TestLockMissingObject(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		unsaved := lockObjs.New(b.Store)
		deleted := newLockObj(t, ctx, b.Store)
		_, err := deleted.Delete(ctx)
		must(t, err)
		for _, o := range []*lockObj{unsaved, deleted} {
			var err error
			oneTrip(t, b, "Lock (missing)", func() { _, err = o.Lock(ctx, "x") })
			wantErr(t, err, rapyer.ErrNotFound, "lockt", o.ID())
			oneTrip(t, b, "TryLock (missing)", func() { _, err = o.TryLock(ctx, "x") })
			wantErr(t, err, rapyer.ErrNotFound)
			called := false
			oneTrip(t, b, "WithLock (missing)", func() {
				err = o.WithLock(ctx, "x", func(context.Context) error { called = true; return nil }, rapyer.WithSave())
			})
			wantErr(t, err, rapyer.ErrNotFound)
			if called {
				t.Fatal("WithLock ran fn on a missing object")
			}
			for _, k := range []string{o.Key(), lockKeyOf(o, "x")} {
				if ms := b.PTTL(t, k); ms != -2 {
					t.Fatalf("key %s written on a missing object", k)
				}
			}
		}
	})
}

// TestLockInvalid: bad names and durations fail before anything is sent.
func TestLockInvalid(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		l, err := o.TryLock(ctx, "ok")
		must(t, err)
		rts, _ := b.Count(func() {
			for _, name := range []string{"", "a:b", "a.b", "1a", "_f", "a b", strings.Repeat("n", 65)} {
				_, err := o.Lock(ctx, name)
				wantErr(t, err, rapyer.ErrInvalid, "lock name")
				_, err = o.TryLock(ctx, name)
				wantErr(t, err, rapyer.ErrInvalid)
				wantErr(t, o.WithLock(ctx, name, func(context.Context) error { return nil }), rapyer.ErrInvalid)
			}
			for _, d := range []time.Duration{0, -time.Second, time.Microsecond} {
				_, err := o.TryLock(ctx, "x", rapyer.WithLockTTL(d))
				wantErr(t, err, rapyer.ErrInvalid, "TTL")
				wantErr(t, l.Extend(ctx, d), rapyer.ErrInvalid, "TTL")
			}
			wantErr(t, o.WithLock(ctx, "x", nil), rapyer.ErrInvalid, "nil function")
			var zero lockObj
			_, err := zero.Lock(ctx, "x")
			wantErr(t, err, rapyer.ErrUnbound)
			_, err = zero.TryLock(ctx, "x")
			wantErr(t, err, rapyer.ErrUnbound)
			wantErr(t, zero.WithLock(ctx, "x", func(context.Context) error { return nil }), rapyer.ErrUnbound)
			wantErr(t, zero.WithLock(ctx, "x", nil), rapyer.ErrUnbound)
		})
		if rts != 0 {
			t.Fatalf("invalid input sent %d round trips", rts)
		}
		must(t, l.Unlock(ctx))
	})
}

// TestLockStoredGarbage: a fencing counter that is not an integer gives
// ErrDecode and no lock.
func TestLockStoredGarbage(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		fence := shardHead(o.Key()) + "x:fence"
		for _, bad := range []string{"abc", "", "-1", "007", "1.5", "9999999999999999"} {
			_, err := b.Do(t, "HSET", fence, "g", bad)
			must(t, err)
			_, err = o.TryLock(ctx, "g")
			wantErr(t, err, rapyer.ErrDecode, "counter g")
			if ms := b.PTTL(t, lockKeyOf(o, "g")); ms != -2 {
				t.Fatalf("counter %q: lock key written", bad)
			}
		}
		_, err := b.Do(t, "HSET", fence, "g", "41")
		must(t, err)
		l, err := o.TryLock(ctx, "g")
		must(t, err)
		if l.Token() != 42 {
			t.Fatalf("token %d, want 42", l.Token())
		}
		must(t, l.Unlock(ctx))
		// A lock key of another type: it counts as held (SET NX sees a key);
		// Extend and Unlock report ErrWrongType. No panic.
		wk := lockKeyOf(o, "w")
		l, err = o.TryLock(ctx, "w")
		must(t, err)
		_, err = b.Do(t, "DEL", wk)
		must(t, err)
		_, err = b.Do(t, "HSET", wk, "a", "b")
		must(t, err)
		_, err = o.TryLock(ctx, "w")
		wantErr(t, err, rapyer.ErrLocked)
		wantErr(t, l.Extend(ctx, time.Second), rapyer.ErrWrongType)
		wantErr(t, l.Unlock(ctx), rapyer.ErrWrongType)
	})
}

// TestWithLock: reload, run, save, release; release on error and on panic.
func TestWithLock(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		other, err := lockObjs.Get(ctx, b.Store, o.ID())
		must(t, err)
		other.N.Set(10)
		must(t, other.Save(ctx)) // o's local copy is stale now

		rts, _ := b.Count(func() {
			err = o.WithLock(ctx, "w", func(fctx context.Context) error {
				if o.N.Get() != 10 {
					t.Errorf("fn saw n=%d, want the reloaded 10", o.N.Get())
				}
				dl, ok := fctx.Deadline()
				if left := time.Until(dl); !ok || left <= 29*time.Second || left > 30*time.Second {
					t.Errorf("fn's context deadline in %v (%v), want the lock's expiry", left, ok)
				}
				o.N.Set(11)
				return nil
			}, rapyer.WithSave())
		})
		must(t, err)
		if rts != 4 {
			t.Fatalf("WithLock+WithSave: %d round trips, want 4 (lock, reload, save, unlock)", rts)
		}
		must(t, other.Reload(ctx))
		if other.N.Get() != 11 {
			t.Fatalf("saved n=%d, want 11", other.N.Get())
		}

		// Without WithSave nothing is written; 3 round trips.
		rts, _ = b.Count(func() {
			err = o.WithLock(ctx, "w", func(context.Context) error { o.N.Set(99); return nil })
		})
		must(t, err)
		if rts != 3 {
			t.Fatalf("WithLock: %d round trips, want 3", rts)
		}
		must(t, other.Reload(ctx))
		if other.N.Get() != 11 {
			t.Fatalf("WithLock without WithSave wrote n=%d", other.N.Get())
		}

		// fn's error comes back as is; nothing saved; lock released.
		boom := errors.New("boom")
		err = o.WithLock(ctx, "w", func(context.Context) error { o.N.Set(99); return boom }, rapyer.WithSave())
		if err != boom {
			t.Fatalf("WithLock returned %v, want fn's error as is", err)
		}
		must(t, other.Reload(ctx))
		if other.N.Get() != 11 {
			t.Fatalf("WithLock saved after fn failed: n=%d", other.N.Get())
		}
		l, err := o.TryLock(ctx, "w")
		must(t, err) // released
		must(t, l.Unlock(ctx))

		// A panic in fn releases the lock and goes on.
		func() {
			defer func() {
				if r := recover(); r != "fn panicked" {
					t.Fatalf("recovered %v, want fn's panic", r)
				}
			}()
			_ = o.WithLock(ctx, "w", func(context.Context) error { panic("fn panicked") }, rapyer.WithSave())
			t.Fatal("WithLock returned after fn panicked")
		}()
		l, err = o.TryLock(ctx, "w")
		must(t, err) // released
		must(t, l.Unlock(ctx))

		// A lock lost during fn (taken by another owner) is not saved over.
		key := lockKeyOf(o, "w")
		err = o.WithLock(ctx, "w", func(context.Context) error {
			_, err := b.Do(t, "SET", key, "someone-else", "PX", 10000) // expired and taken
			must(t, err)
			time.Sleep(110 * time.Millisecond) // past half of the TTL: WithLock checks
			o.N.Set(99)
			return nil
		}, rapyer.WithSave(), rapyer.WithLockTTL(200*time.Millisecond))
		wantErr(t, err, rapyer.ErrLockLost, "another owner")
		must(t, other.Reload(ctx))
		if other.N.Get() != 11 {
			t.Fatalf("WithLock saved over a lost lock: n=%d", other.N.Get())
		}
		if ms := b.PTTL(t, key); ms <= 9000 {
			t.Fatalf("the other owner's lock was touched: PTTL %d", ms)
		}

		// A cancelled context still releases the lock.
		_, err = b.Do(t, "DEL", key)
		must(t, err)
		cctx, cancel := context.WithCancel(ctx)
		err = o.WithLock(cctx, "w", func(context.Context) error { cancel(); return nil })
		must(t, err)
		if ms := b.PTTL(t, key); ms != -2 {
			t.Fatalf("lock left after WithLock with a cancelled context (PTTL %d)", ms)
		}
	})
}

// TestLockLeavesObjectTTL: lock operations never touch the object's TTL.
func TestLockLeavesObjectTTL(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := lockObjsTTL.New(b.Store)
		must(t, o.Save(ctx))
		must(t, o.SetTTL(ctx, 10*time.Minute))
		l, err := o.Lock(ctx, "t")
		must(t, err)
		must(t, l.Extend(ctx, time.Minute))
		must(t, l.Unlock(ctx))
		l, err = o.TryLock(ctx, "t")
		must(t, err)
		must(t, l.Unlock(ctx))
		if ms := b.PTTL(t, o.Key()); ms <= 0 || ms > 600000 {
			t.Fatalf("object PTTL %d after lock operations, want at most the 10 minutes set", ms)
		}
	})
}

func ExampleModel_WithLock() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	o, _ := lockObjs.NewWithID(st, "acct-1")
	o.N.Set(100)
	if err := o.Save(ctx); err != nil {
		log.Fatal(err)
	}

	// Read, compute and write back with no other holder of "balance" in
	// between: WithLock reloads o first, saves it after, releases always.
	err = o.WithLock(ctx, "balance", func(ctx context.Context) error {
		o.N.Set(o.N.Get() - 30)
		return nil
	}, rapyer.WithSave(), rapyer.WithLockTTL(5*time.Second))
	fmt.Println(o.N.Get(), err)
	// Output: 70 <nil>
}

func ExampleModel_Lock() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	o, _ := lockObjs.NewWithID(st, "job-1")
	if err := o.Save(ctx); err != nil {
		log.Fatal(err)
	}

	l, err := o.Lock(ctx, "run", rapyer.WithLockTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	// Pass l.Token() with writes elsewhere: a larger token means a later holder.
	fmt.Println("token", l.Token())
	_, err = o.TryLock(ctx, "run")
	fmt.Println(errors.Is(err, rapyer.ErrLocked))
	if err := l.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(l.Unlock(ctx), rapyer.ErrLockLost)) // released already
	// Output:
	// token 1
	// true
	// true
}
