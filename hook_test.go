package rapyer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// recorder is a Hook that keeps a copy of every operation and round trip
// it saw end, and the order of the calls.
type recorder struct {
	mu     sync.Mutex
	ops    []rapyer.Operation
	trips  []rapyer.RoundTrip
	events []string
}

type recKey struct{}

func (r *recorder) OperationStart(ctx context.Context, op *rapyer.Operation) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "start "+op.Name)
	return context.WithValue(ctx, recKey{}, op.Name)
}

func (r *recorder) OperationEnd(ctx context.Context, op *rapyer.Operation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, _ := ctx.Value(recKey{}).(string); got != op.Name {
		r.events = append(r.events, "wrong context for "+op.Name+": "+got)
	}
	c := *op
	c.Commands = slices.Clone(op.Commands)
	r.ops = append(r.ops, c)
	r.events = append(r.events, "end "+op.Name)
}

func (r *recorder) RoundTripStart(ctx context.Context, rt *rapyer.RoundTrip) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt.Op != nil {
		if got, _ := ctx.Value(recKey{}).(string); got != rt.Op.Name {
			r.events = append(r.events, "round trip outside "+rt.Op.Name+"'s context")
		}
	}
	return ctx
}

func (r *recorder) RoundTripEnd(ctx context.Context, rt *rapyer.RoundTrip) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips = append(r.trips, *rt)
}

// take returns what was recorded since the last take, and forgets it.
func (r *recorder) take() (ops []rapyer.Operation, trips []rapyer.RoundTrip, events []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops, trips, events = r.ops, r.trips, r.events
	r.ops, r.trips, r.events = nil, nil, nil
	return ops, trips, events
}

// observe runs f and checks that it was one operation called name, with
// the round trips the wire counted: each reported to the hook, and no
// context mix-up. It returns the operation.
func observe(t *testing.T, b *testkit.Backend, r *recorder, name string, f func()) rapyer.Operation {
	t.Helper()
	r.take()
	rts, cmds := b.Count(f)
	ops, trips, events := r.take()
	for _, e := range events {
		if strings.HasPrefix(e, "wrong") || strings.HasPrefix(e, "round trip outside") {
			t.Fatal(e)
		}
	}
	if len(ops) == 0 {
		t.Fatalf("%s: no operation reported (events %v)", name, events)
	}
	op := ops[len(ops)-1] // the outermost ends last
	if op.Name != name {
		t.Fatalf("operation %q reported, want %q (events %v)", op.Name, name, events)
	}
	if op.RoundTrips != rts || len(trips) != rts {
		t.Fatalf("%s: %d round trips reported, %d round trip events, %d on the wire (%v)", name, op.RoundTrips, len(trips), rts, cmds)
	}
	for _, tr := range trips {
		if tr.Op == nil || tr.Commands < 1 || tr.Err != nil {
			t.Fatalf("%s: round trip %+v", name, tr)
		}
	}
	if op.Duration <= 0 || op.Start.IsZero() {
		t.Fatalf("%s: duration %v, start %v", name, op.Duration, op.Start)
	}
	return op
}

func TestHookOperations(t *testing.T) {
	r := &recorder{}
	// peopleOne: one shard on every backend, so that each call reaches one
	// node of a cluster, as the round trips compared below assume.
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.NewStore(t, rapyer.WithHook(r))
		p := newPerson(peopleOne, st, "Ada", "ada@example.org", 36)

		op := observe(t, b, r, "Save", func() { must(t, p.Save(ctx)) })
		if op.Model != "personone" || op.ID != p.ID() || op.Units != 1 || op.RoundTrips != 1 || op.Err != nil ||
			!slices.Equal(op.Commands, []string{"save"}) {
			t.Fatalf("Save: %+v", op)
		}

		op = observe(t, b, r, "Get", func() {
			_, err := peopleOne.Get(ctx, st, p.ID())
			must(t, err)
		})
		if op.Model != "personone" || op.ID != p.ID() || op.Units != 1 || !slices.Equal(op.Commands, []string{"HGETALL"}) {
			t.Fatalf("Get: %+v", op)
		}

		op = observe(t, b, r, "Int.Incr", func() {
			_, err := p.Age.Incr(ctx, 1)
			must(t, err)
		})
		if op.Field != "age" || op.ID != p.ID() || op.Units != 1 || !slices.Equal(op.Commands, []string{"int"}) {
			t.Fatalf("Incr: %+v", op)
		}

		op = observe(t, b, r, "Find", func() {
			got, err := peopleOne.Find(ctx, st, peopleOne.Fields().Age.Gte(30))
			must(t, err)
			if len(got) != 1 {
				t.Fatalf("Find: %d objects", len(got))
			}
		})
		if op.Count != 1 || op.RoundTrips != 2 || !slices.Contains(op.Commands, "query") {
			t.Fatalf("Find: %+v", op)
		}

		// A Tx is one operation; what it queued is not reported apart.
		op = observe(t, b, r, "Tx", func() {
			must(t, st.Tx(ctx, func(q context.Context) error {
				_, _ = p.Age.Incr(q, 1)
				_, _ = p.Name.Append(q, "!")
				return nil
			}))
		})
		if op.Count != 2 || op.Units != 2 || op.RoundTrips != 1 || op.Model != "" ||
			!slices.Equal(op.Commands, []string{"int", "scalar"}) {
			t.Fatalf("Tx: %+v", op)
		}
		if ops, _, _ := r.take(); len(ops) != 0 {
			t.Fatalf("reported after the Tx: %+v", ops)
		}

		q := newPerson(peopleOne, st, "Bea", "bea@example.org", 12)
		must(t, q.Save(ctx))
		op = observe(t, b, r, "GetMany", func() {
			_, err := peopleOne.GetMany(ctx, st, []string{p.ID(), q.ID()})
			must(t, err)
		})
		// (A load of hashes alone groups its HGETALLs: one unit.)
		if op.Count != 2 || op.Units != 1 || op.RoundTrips != 1 || !slices.Equal(op.Commands, []string{"HGETALL"}) {
			t.Fatalf("GetMany: %+v", op)
		}

		// A failed operation carries its error; nothing sent, nothing counted.
		missing := peopleOne.New(st)
		op = observe(t, b, r, "Get", func() {
			_, err := peopleOne.Get(ctx, st, missing.ID())
			wantErr(t, err, rapyer.ErrNotFound)
		})
		if !errors.Is(op.Err, rapyer.ErrNotFound) || op.ID != missing.ID() {
			t.Fatalf("failed Get: %+v", op)
		}
		r.take()
		_, err := peopleOne.Get(ctx, st, "")
		wantErr(t, err, rapyer.ErrInvalid)
		if ops, trips, _ := r.take(); len(ops)+len(trips) != 0 {
			t.Fatalf("a refused argument reported %+v %+v", ops, trips)
		}
	})
}

// TestHookNested: an operation called inside another (Duplicate's Insert,
// the operations of a WithLock's function) is reported too, inside it, and
// its round trips count in the outer one as well.
func TestHookNested(t *testing.T) {
	r := &recorder{}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.NewStore(t, rapyer.WithHook(r))
		p := newPerson(people, st, "Bo", "bo@example.org", 20)
		p.Email.Clear() // unique: a copy could not be inserted
		must(t, p.Save(ctx))

		op := observe(t, b, r, "Duplicate", func() {
			_, err := people.Duplicate(ctx, p)
			must(t, err)
		})
		if op.RoundTrips != 1 || op.Units != 1 || !slices.Equal(op.Commands, []string{"insert"}) {
			t.Fatalf("Duplicate: %+v", op)
		}

		r.take()
		rts, _ := b.Count(func() {
			must(t, p.WithLock(ctx, "job", func(ctx context.Context) error {
				_, err := p.Age.Incr(ctx, 1)
				return err
			}))
		})
		ops, _, events := r.take()
		// The Reload of WithLock is labelled with its name, as its errors are.
		want := []string{"start WithLock", "start Lock", "end Lock", "start WithLock", "end WithLock",
			"start Int.Incr", "end Int.Incr", "start Unlock", "end Unlock", "end WithLock"}
		if !slices.Equal(events, want) {
			t.Fatalf("events %v, want %v", events, want)
		}
		if outer := ops[len(ops)-1]; outer.RoundTrips != rts || outer.RoundTrips != 4 {
			t.Fatalf("WithLock: %d round trips reported, %d on the wire", outer.RoundTrips, rts)
		}
	})
}

// TestHookServer: a Store that Open made reports its server's host:port,
// on its operations and round trips. On a cluster each round trip names
// the node it went to, and an operation the node all its round trips went
// to ("" when several: Ping goes to every master).
func TestHookServer(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		r := &recorder{}
		st := b.OpenStore(t, rapyer.WithHook(r))
		ops, trips, _ := r.take()
		// On a cluster: PING, then the scripts, on each master.
		n := 2
		if b.Name == "cluster" {
			n = 2 * len(b.Seeds())
		}
		if len(ops) != 1 || ops[0].Name != "Ping" || ops[0].RoundTrips != n || len(trips) != n {
			t.Fatalf("Open: %+v (%d round trips seen), want Ping in %d round trips", ops, len(trips), n)
		}
		p := newPerson(people, st, "Ada", "", 3)
		p.Email.Clear()
		must(t, p.Save(ctx))
		_, err := p.Age.Incr(ctx, 1)
		must(t, err)
		saveIncr, saveIncrTrips, _ := r.take()
		if len(saveIncr) != 2 || len(saveIncrTrips) != 2 {
			t.Fatalf("Save, Incr: %+v, round trips %+v", saveIncr, saveIncrTrips)
		}
		if b.Name == "cluster" {
			masters := b.Masters(t)
			nodes := map[string]bool{}
			for _, rt := range trips {
				if !slices.Contains(masters, rt.Server) {
					t.Fatalf("Ping's round trip to %q, not a master of %v", rt.Server, masters)
				}
				nodes[rt.Server] = true
			}
			if len(nodes) != len(masters) || ops[0].Server != "" {
				t.Fatalf("Ping: round trips to %v, Server %q; want every master, and \"\"", nodes, ops[0].Server)
			}
			node := b.MasterOf(t, p.Key())
			for i, op := range saveIncr {
				if op.Server != node || saveIncrTrips[i].Server != node {
					t.Fatalf("%s: Server %q, round trip to %q; want %s, the master of %s", op.Name, op.Server, saveIncrTrips[i].Server, node, p.Key())
				}
			}
			return
		}
		want := strings.TrimPrefix(b.URL(), "redis://")
		want = want[strings.LastIndex(want, "@")+1:]
		if i := strings.IndexByte(want, '/'); i >= 0 {
			want = want[:i]
		}
		for _, op := range append(ops, saveIncr...) {
			if op.Server != want {
				t.Fatalf("%s: Server %q, want %q", op.Name, op.Server, want)
			}
		}
		for _, rt := range append(trips, saveIncrTrips...) {
			if rt.Server != want {
				t.Fatalf("round trip to %q, want %q", rt.Server, want)
			}
		}
	})
}

// TestHookRoundTripError: a round trip cut by its context's deadline is
// reported with the deadline as its error, and so is its operation.
func TestHookRoundTripError(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		r := &recorder{}
		st, p := proxied(t, b, rapyer.WithHook(r))
		ctx := testkit.Ctx(t)
		u := users.New(st)
		fill(u)
		must(t, u.Save(ctx))
		p.StallReplies()
		r.take()
		dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := u.Age.Incr(dctx, 1)
		cancel()
		wantErr(t, err, context.DeadlineExceeded)
		ops, trips, _ := r.take()
		if len(ops) != 1 || ops[0].Name != "Int.Incr" || !errors.Is(ops[0].Err, context.DeadlineExceeded) || ops[0].RoundTrips != 1 {
			t.Fatalf("operations %+v", ops)
		}
		if len(trips) != 1 || !errors.Is(trips[0].Err, context.DeadlineExceeded) || trips[0].Op == nil {
			t.Fatalf("round trips %+v", trips)
		}
		p.Resume()
	})
}
