package rapyer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// proxied opens a Store on the backend's server through a proxy, with the
// backend's key prefix (so the test kit cleans up) and opts.
func proxied(t *testing.T, b *testkit.Backend, opts ...rapyer.Option) (*rapyer.Store, *testkit.Proxy) {
	t.Helper()
	p := b.NewProxy(t)
	return b.StoreVia(t, p, append(testkit.EnvOptions(), opts...)...), p
}

// TestCancelInterruptsReply: a context that ends while the server's reply is
// on its way ends the call at once with the context's error, with no read
// timeout at all and with a long one; the connection is discarded, so the
// late reply is never read by the next caller. (Pooled connections:
// TestMuxCancel is the same for multiplexed ones.)
func TestCancelInterruptsReply(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		for _, rt := range []time.Duration{0, time.Minute} {
			st, p := proxied(t, b, rapyer.WithReadTimeout(rt), rapyer.WithPoolSize(1, 1), rapyer.WithoutMultiplexing())
			ctx := testkit.Ctx(t)
			u := users.New(st)
			fill(u)
			must(t, u.Save(ctx))

			p.StallReplies()
			cctx, cancel := context.WithCancel(ctx)
			var stacks []byte
			time.AfterFunc(100*time.Millisecond, func() {
				stacks = allStacks()
				cancel()
			})
			start := time.Now()
			_, err := u.Age.Incr(cctx, 1)
			took := time.Since(start)
			wantErr(t, err, context.Canceled)
			if took > 10*time.Second { // bounded by the cancel, not by a timeout
				t.Fatalf("read timeout %v: Incr returned %v after its context was cancelled", rt, took)
			}
			if bytes.Contains(stacks, []byte("redis.(*conn).DoContext")) {
				t.Fatal("a goroutine waits on redigo's DoContext: cancellation must cost no goroutine per command")
			}
			if !bytes.Contains(stacks, []byte("rapyer.(*conn).withContext")) {
				t.Fatal("the stalled call is not in rapyer's connection: the check above proves nothing")
			}
			p.Resume()

			// The Incr may have run on the server (its reply was lost); the
			// next calls on the one-connection pool must see their own
			// replies, never that one.
			got, err := users.Get(ctx, st, u.ID())
			must(t, err)
			n, err := got.Age.Incr(ctx, 10)
			must(t, err)
			if want := got.Age.Get(); n != want {
				t.Fatalf("Incr returned %d, local %d", n, want)
			}
			again, err := users.Get(ctx, st, u.ID())
			must(t, err)
			if again.Age.Get() != n {
				t.Fatalf("stored age %d after Incr returned %d: a stale reply was read", again.Age.Get(), n)
			}
		}
	})
}

// TestDeadlineErrors: a call that outlives its context's deadline always
// reports context.DeadlineExceeded, never a bare i/o timeout, even when the
// socket deadline and the context's timer fire at the same instant.
func TestDeadlineErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b)
		ctx := testkit.Ctx(t)
		u := users.New(st)
		fill(u)
		must(t, u.Save(ctx))
		p.StallReplies()
		for i := 0; i < 40; i++ {
			dctx, cancel := context.WithTimeout(ctx, time.Duration(5+i%7)*time.Millisecond)
			_, err := u.Age.Incr(dctx, 1)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("try %d: %v, want context.DeadlineExceeded", i, err)
			}
		}
		p.Resume()
		_, err := u.Age.Incr(ctx, 1)
		must(t, err)
	})
}

// TestDeadlineBoundsWrites: a large Save to a server that stopped reading
// returns at its context's deadline, not after the write timeout.
func TestDeadlineBoundsWrites(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithWriteTimeout(time.Minute))
		ctx := testkit.Ctx(t)
		u := users.New(st)
		fill(u)
		must(t, u.Save(ctx))
		u.Name.Set(strings.Repeat("x", 32<<20))
		p.StallRequests()
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := u.Save(dctx)
		took := time.Since(start)
		wantErr(t, err, context.DeadlineExceeded)
		if took > 20*time.Second {
			t.Fatalf("Save took %v after a 300ms deadline (write timeout 1m)", took)
		}
		p.Resume()
	})
}

// allStacks returns every goroutine's stack.
func allStacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestPlainRedigoPool: a Store over a pool of plain redigo connections
// (not made by rapyer.Dial) runs every path, loads of many objects
// included, and honours a cancelled context (redigo's own way).
func TestPlainRedigoPool(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.PlainStore(t, b.Prefix())
		var objs []*user
		var ids []string
		for i := 0; i < 5; i++ {
			u := users.New(st)
			fill(u)
			u.Age.Set(int64(i))
			objs = append(objs, u)
			ids = append(ids, u.ID())
		}
		must(t, users.SaveMany(ctx, objs))
		got, err := users.GetMany(ctx, st, ids)
		must(t, err)
		for i, g := range got {
			if g.ID() != ids[i] || g.Age.Get() != int64(i) {
				t.Fatalf("GetMany[%d] = %s age %d", i, g.ID(), g.Age.Get())
			}
		}
		n, err := got[2].Age.Incr(ctx, 5)
		must(t, err)
		if n != 7 {
			t.Fatalf("Incr = %d, want 7", n)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = got[2].Age.Incr(cctx, 1)
		wantErr(t, err, context.Canceled)
	})
}

// TestTxScriptFlush: a Tx stays all or nothing while the server loses its
// scripts at any moment (SCRIPT FLUSH in a loop on another connection):
// every Tx runs both its Save and its Incr, or neither.
func TestTxScriptFlush(t *testing.T) {
	testkit.RunPrivate(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		age0 := u.Age.Get()
		flusher, err := redis.DialURL(b.URL())
		must(t, err)
		defer flusher.Close()
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					done <- n
					return
				default:
				}
				if _, err := flusher.Do("SCRIPT", "FLUSH"); err == nil {
					n++
				}
				time.Sleep(time.Millisecond)
			}
		}()
		const txs = 300
		for i := 0; i < txs; i++ {
			err := b.Store.Tx(ctx, func(q context.Context) error {
				u.Name.Set(fmt.Sprintf("v%d", i))
				if err := u.Save(q); err != nil {
					return err
				}
				_, err := u.Age.Incr(q, 1)
				return err
			})
			if err != nil {
				close(stop)
				<-done
				t.Fatalf("Tx %d: %v", i, err)
			}
		}
		close(stop)
		if n := <-done; n == 0 {
			t.Fatal("no SCRIPT FLUSH ran: the test proves nothing")
		}
		got, err := users.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Name.Get() != fmt.Sprintf("v%d", txs-1) || got.Age.Get() != age0+txs {
			t.Fatalf("name %q age %d, want v%d and %d", got.Name.Get(), got.Age.Get(), txs-1, age0+txs)
		}
	})
}

// TestCheckedFirstUseOneTrip: the first field operation of a checked model
// (WithVersionCheck, whose Versioned scripts Ping does not load) on a Store
// that has just connected is one round trip: a script the Store never sent
// goes whole by EVAL at once, not EVALSHA, NOSCRIPT, then EVAL.
func TestCheckedFirstUseOneTrip(t *testing.T) {
	testkit.RunPrivate(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		y := usersChecked.New(b.Store)
		fill(y)
		must(t, y.Insert(ctx))
		if _, err := b.Do(t, "SCRIPT", "FLUSH"); err != nil {
			t.Fatal(err)
		}
		st := b.NewStore(t)
		z, err := usersChecked.Get(ctx, st, y.ID())
		must(t, err)
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"Int.Incr", func() error { _, err := z.Age.Incr(ctx, 1); return err }},
			{"List.Append", func() error { _, err := z.Tags.Append(ctx, "t"); return err }},
			{"Int.Incr again", func() error { _, err := z.Age.Incr(ctx, 1); return err }},
		} {
			var err error
			trips, cmds := b.Count(func() { err = op.run() })
			must(t, err)
			if trips != 1 {
				t.Fatalf("%s: %d round trips (%v), want 1", op.name, trips, cmds)
			}
		}
		must(t, z.Save(ctx)) // its version followed its own field operations
	})
}

// TestCheckedOwnOpsThenSave: a checked model (WithVersionCheck) can queue
// its own field operations and then its Save, or two Saves, in one Tx or
// Batch: its own operations never make its Save conflict, and the queue is
// all or nothing when another client wrote the object first.
func TestCheckedOwnOpsThenSave(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		y := usersChecked.New(b.Store)
		fill(y)
		must(t, y.Insert(ctx))
		age := y.Age.Get()
		for _, tx := range []bool{true, false} {
			run := b.Store.Batch
			if tx {
				run = b.Store.Tx
			}
			y.Name.Set(fmt.Sprintf("tx=%v", tx))
			must(t, run(ctx, func(q context.Context) error {
				if _, err := y.Age.Incr(q, 1); err != nil {
					return err
				}
				if _, err := y.Tags.Append(q, "x"); err != nil {
					return err
				}
				if err := y.Save(q); err != nil {
					return err
				}
				return y.Save(q) // twice
			}))
			// (A queued Save writes the local values as they were when it
			// was queued: the age from before the Incr.)
			got, err := usersChecked.Get(ctx, b.Store, y.ID())
			must(t, err)
			if got.Age.Get() != age || got.Name.Get() != y.Name.Get() || got.Version() != y.Version() {
				t.Fatalf("tx=%v: age %d name %q version %d/%d, want age %d", tx, got.Age.Get(), got.Name.Get(), got.Version(), y.Version(), age)
			}
			y.Age.Set(age)
			must(t, y.Save(ctx)) // the object's version followed
		}

		// Another client writes first: nothing of the queue runs.
		other, err := usersChecked.Get(ctx, b.Store, y.ID())
		must(t, err)
		_, err = other.Score.Incr(ctx, 1)
		must(t, err)
		before, err := usersChecked.Get(ctx, b.Store, y.ID())
		must(t, err)
		err = b.Store.Tx(ctx, func(q context.Context) error {
			if _, err := y.Age.Incr(q, 1); err != nil {
				return err
			}
			return y.Save(q)
		})
		wantErr(t, err, rapyer.ErrConflict)
		after, err := usersChecked.Get(ctx, b.Store, y.ID())
		must(t, err)
		if after.Age.Get() != before.Age.Get() || after.Version() != before.Version() {
			t.Fatalf("a conflicting Tx ran in part: age %d -> %d, version %d -> %d", before.Age.Get(), after.Age.Get(), before.Version(), after.Version())
		}
	})
}

// TestSortAbsentBeforeEmpty: sorting puts an absent value before the empty
// string (first ascending, last descending), in Find and across Iter's
// pages.
func TestSortAbsentBeforeEmpty(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, sh := range []*rapyer.Schema[person, *person]{people, peopleSharded} {
			label := map[string]string{}
			for _, name := range []string{"a", "", "<absent>", "b"} {
				p := sh.New(b.Store)
				p.Email.Set(p.ID() + "@x")
				if name != "<absent>" {
					p.Name.Set(name)
				}
				must(t, p.Save(ctx))
				label[p.ID()] = name
			}
			q := sh.Fields()
			for _, desc := range []bool{false, true} {
				want := []string{"<absent>", "", "a", "b"}
				if desc {
					want = []string{"b", "a", "", "<absent>"}
				}
				got, err := sh.Find(ctx, b.Store, rapyer.All(), rapyer.OrderBy(&q.Name, desc))
				must(t, err)
				var names []string
				for _, p := range got {
					names = append(names, label[p.ID()])
				}
				if fmt.Sprint(names) != fmt.Sprint(want) {
					t.Fatalf("%s desc=%v: %q, want %q", sh.Name(), desc, names, want)
				}
				names = nil
				for p, err := range sh.Iter(ctx, b.Store, rapyer.All(), rapyer.OrderBy(&q.Name, desc), rapyer.PageSize(1)) {
					must(t, err)
					names = append(names, label[p.ID()])
				}
				if fmt.Sprint(names) != fmt.Sprint(want) {
					t.Fatalf("%s desc=%v Iter: %q, want %q", sh.Name(), desc, names, want)
				}
				// Driven by the sort field's own index (its members give the
				// order), page by page.
				want = slices.DeleteFunc(want, func(s string) bool { return s == "<absent>" })
				names = nil
				for p, err := range sh.Iter(ctx, b.Store, q.Name.Gte(""), rapyer.OrderBy(&q.Name, desc), rapyer.PageSize(1)) {
					must(t, err)
					names = append(names, label[p.ID()])
				}
				if fmt.Sprint(names) != fmt.Sprint(want) {
					t.Fatalf("%s desc=%v Iter by the name index: %q, want %q", sh.Name(), desc, names, want)
				}
			}
		}
	})
}

// TestTolerantQueries: with Tolerant, a query keeps going past bad data: a
// field that does not decode loads absent (LoadErrors), an object that
// cannot be read at all is left out and reported; without it, either fails
// the query.
func TestTolerantQueries(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var ps []*person
		for i := 0; i < 3; i++ {
			p := people.New(b.Store)
			p.Name.Set(fmt.Sprintf("p%d", i))
			p.Email.Set(p.ID() + "@x")
			p.Age.Set(int64(20 + i))
			must(t, p.Save(ctx))
			ps = append(ps, p)
		}
		b.Do(t, "HSET", ps[1].Key(), "age", "not-a-number")
		b.Do(t, "DEL", ps[2].Key())
		b.Do(t, "RPUSH", ps[2].Key(), "not", "a", "hash")

		_, err := people.Find(ctx, b.Store, rapyer.All())
		if err == nil {
			t.Fatal("Find over bad data without Tolerant: no error")
		}
		got, err := people.Find(ctx, b.Store, rapyer.All(), rapyer.Tolerant())
		var skipped *rapyer.SkippedError
		if !errors.As(err, &skipped) || len(skipped.Errs) != 1 {
			t.Fatalf("Tolerant Find: %v, want a *SkippedError of one object", err)
		}
		wantErr(t, err, rapyer.ErrWrongType, ps[2].ID())
		if len(got) != 2 {
			t.Fatalf("Tolerant Find returned %d objects, want 2", len(got))
		}
		for _, p := range got {
			switch p.ID() {
			case ps[0].ID():
				if p.Age.Get() != 20 || len(p.LoadErrors()) != 0 {
					t.Fatalf("good object: age %d, errors %v", p.Age.Get(), p.LoadErrors())
				}
			case ps[1].ID():
				if p.Age.Present() || len(p.LoadErrors()) != 1 || p.Name.Get() != "p1" {
					t.Fatalf("object with a bad field: age present %v, errors %v", p.Age.Present(), p.LoadErrors())
				}
				wantErr(t, p.LoadErrors()[0], rapyer.ErrDecode, "age")
			default:
				t.Fatalf("unexpected object %s", p.ID())
			}
		}
		var seen, bad int
		for p, err := range people.Iter(ctx, b.Store, rapyer.All(), rapyer.Tolerant(), rapyer.PageSize(2)) {
			if err != nil {
				wantErr(t, err, rapyer.ErrWrongType, ps[2].ID())
				bad++
				continue
			}
			seen++
			_ = p
		}
		if seen != 2 || bad != 1 {
			t.Fatalf("Tolerant Iter: %d objects and %d errors, want 2 and 1", seen, bad)
		}
		// The unreadable object is alive: its index entries stay.
		n, err := people.Count(ctx, b.Store, rapyer.All())
		must(t, err)
		if n != 3 {
			t.Fatalf("Count after a tolerant Find = %d, want 3", n)
		}
	})
}
