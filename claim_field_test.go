package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// Field operations whose value the server computes (Append, Incr, Toggle,
// ...) on a unique field: on a cluster the script first says which value
// it would write, that value is claimed, and the script runs again guarded
// by it (claim_field.go); on one server the script checks every shard.
// Same results and errors on every backend.

// tally has unique fields of every kind a computed operation writes.
type tally struct {
	rapyer.Model
	N  types.Int
	F  types.Float
	At types.Time
	On types.Bool
}

var tallies = rapyer.Define("tally", func(x *tally) rapyer.Fields {
	return rapyer.Fields{x.N.Named("n").Unique(), x.F.Named("f").Unique(), x.At.Named("at").Unique(), x.On.Named("on").Unique()}
})

// savedTally saves a tally with only the fields set makes.
func savedTally(t *testing.T, ctx context.Context, st *rapyer.Store, set func(x *tally)) *tally {
	t.Helper()
	x := tallies.New(st)
	set(x)
	must(t, x.Save(ctx))
	return x
}

// takenMsg is the error a write of value v in field f of object id taken
// by another object returns, on every backend.
func takenMsg(op, model, id, f, v string) string {
	return fmt.Sprintf("rapyer: %s %s id=%q field %s: already exists: unique field %s: value %s is taken", op, model, id, f, f, v)
}

// TestUniqueComputed: computed operations on unique fields. A free result
// is written (on a cluster: 4 round trips, the script asked, the claim,
// the script guarded by it, the confirmation); a taken one is ErrExists
// with the error of one server, nothing written (3: the owner's read);
// an unchanged value, an overflow or a missing object: one round trip,
// the script's own answer, nothing claimed.
func TestUniqueComputed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		p := newPerson(people, b.Store, "P", "ap@c", 1)
		must(t, p.Save(ctx))
		var got string
		var err error
		trips, _ := b.Count(func() { got, err = p.Email.Append(ctx, "x") })
		must(t, err)
		if got != "ap@cx" || p.Email.Get() != "ap@cx" || trips != onCluster(b, 1, 4) {
			t.Fatalf("Append: %q (local %q), %d round trips", got, p.Email.Get(), trips)
		}
		wantClaim(t, b, "person", "ap@cx", p.ID())
		if s, _ := b.HGet(t, p.Key(), "email"); s != "ap@cx" {
			t.Fatalf("stored %q", s)
		}
		found, err := people.Find(ctx, b.Store, people.Fields().Email.Eq("ap@cx"))
		must(t, err)
		if len(found) != 1 || found[0].ID() != p.ID() {
			t.Fatalf("index after Append: %v", found)
		}

		// h in another shard than p: in p's shard the script's own index
		// would refuse the value at once (one round trip), where this
		// asserts the claim's path (ids are random: 1 in 12 shared it).
		h := personAway(people, b.Store, p, "H", "ap@cxy", 2)
		must(t, h.Save(ctx))
		trips, _ = b.Count(func() { _, err = p.Email.Append(ctx, "y") })
		wantErr(t, err, rapyer.ErrExists)
		if err.Error() != takenMsg("Str.Append", "person", p.ID(), "email", "ap@cxy") || trips != onCluster(b, 1, 3) {
			t.Fatalf("Append to a taken value: %v, %d round trips", err, trips)
		}
		if s, _ := b.HGet(t, p.Key(), "email"); s != "ap@cx" {
			t.Fatalf("stored %q after a refused Append", s)
		}
		wantClaim(t, b, "person", "ap@cxy", h.ID())

		// Unchanged, missing object: the script's answer, one round trip.
		trips, _ = b.Count(func() { got, err = p.Email.Append(ctx, "") })
		if err != nil || got != "ap@cx" || trips != 1 {
			t.Fatalf("Append of nothing: %q %v, %d round trips", got, err, trips)
		}
		ghost := newPerson(people, b.Store, "G", "ghost@c", 3)
		trips, _ = b.Count(func() { _, err = ghost.Email.Append(ctx, "x") })
		wantErr(t, err, rapyer.ErrNotFound)
		if trips != 1 || claimOf(t, b, "person", "email", "ghost@cx") != "" {
			t.Fatalf("Append on a missing object: %d round trips", trips)
		}

		// Int, Float, Time, Bool.
		t1 := savedTally(t, ctx, b.Store, func(x *tally) { x.N.Set(10); x.F.Set(1.5); x.On.Set(true) })
		t2 := savedTally(t, ctx, b.Store, func(x *tally) { x.N.Set(12) })
		n, err := t1.N.Incr(ctx, 1)
		must(t, err)
		_, err = t1.N.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrExists)
		if n != 11 || t1.N.Get() != 11 || err.Error() != takenMsg("Int.Incr", "tally", t1.ID(), "n", "12") {
			t.Fatalf("Incr: %d (local %d), then %v", n, t1.N.Get(), err)
		}
		if s, _ := b.HGet(t, t1.Key(), "n"); s != "11" {
			t.Fatalf("stored n %q", s)
		}
		f, err := t1.F.Mul(ctx, 2)
		if err != nil || f != 3 {
			t.Fatalf("Mul: %v %v", f, err)
		}
		at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
		t2.At.Set(at)
		must(t, t2.Update(ctx, &t2.At))
		t3 := savedTally(t, ctx, b.Store, func(x *tally) { x.At.Set(at.Add(-time.Hour)) })
		_, err = t3.At.Add(ctx, time.Hour)
		wantErr(t, err, rapyer.ErrExists, "at")
		tm, err := t3.At.Add(ctx, 2*time.Hour)
		if err != nil || !tm.Equal(at.Add(time.Hour)) {
			t.Fatalf("Time.Add: %v %v", tm, err)
		}
		on, err := t1.On.Toggle(ctx)
		if err != nil || on {
			t.Fatalf("Toggle: %v %v", on, err)
		}
		t2.On.Set(true)
		must(t, t2.Update(ctx, &t2.On))
		_, err = t2.On.Toggle(ctx)
		wantErr(t, err, rapyer.ErrExists, "on")

		// Overflow: the script's error, nothing claimed.
		t4 := savedTally(t, ctx, b.Store, func(x *tally) { x.N.Set(math.MaxInt64) })
		trips, _ = b.Count(func() { _, err = t4.N.Incr(ctx, 1) })
		wantErr(t, err, rapyer.ErrOverflow, "n")
		if trips != 1 {
			t.Fatalf("overflowing Incr: %d round trips", trips)
		}

		// Queued: refused on a cluster (the value depends on the queue);
		// on one server it runs.
		berr := b.Store.Batch(ctx, func(q context.Context) error {
			_, err := p.Email.Append(q, "z")
			return err
		})
		s, _ := b.HGet(t, p.Key(), "email")
		if b.Name == "cluster" {
			wantErr(t, berr, rapyer.ErrInvalid, "Str.Append", "Batch or Tx", "email")
			if s != "ap@cx" {
				t.Fatalf("a refused queued Append wrote %q", s)
			}
		} else if berr != nil || s != "ap@cxz" {
			t.Fatalf("queued Append: %v, stored %q", berr, s)
		}
	})
}

// TestUniqueComputedRace: computed operations racing. Two objects whose
// Incr computes the same value at once: exactly one holds it, the other
// is refused with ErrExists. Writers of one object incrementing it at
// once: every Incr lands (on a cluster each retries while the value moves
// under it), none twice.
func TestUniqueComputedRace(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for round := range 6 {
			base := int64(1000 * (round + 1))
			a := savedTally(t, ctx, b.Store, func(x *tally) { x.N.Set(base + 1) })
			c := savedTally(t, ctx, b.Store, func(x *tally) { x.N.Set(base + 2) })
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, step := range []struct {
				x *tally
				d int64
			}{{a, 2}, {c, 1}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = step.x.N.Incr(ctx, step.d)
				}()
			}
			wg.Wait()
			won := 0
			for _, e := range errs {
				switch {
				case e == nil:
					won++
				case !errors.Is(e, rapyer.ErrExists) || !strings.Contains(e.Error(), fmt.Sprint(base+3)):
					t.Fatalf("round %d: %v", round, e)
				}
			}
			holders, err := tallies.Find(ctx, b.Store, tallies.Fields().N.Eq(base+3))
			must(t, err)
			if won != 1 || len(holders) != 1 {
				t.Fatalf("round %d: %d won, %d hold %d (%v)", round, won, len(holders), base+3, errs)
			}
		}

		x := savedTally(t, ctx, b.Store, func(x *tally) { x.N.Set(-100) })
		const writers, each = 4, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				y, err := tallies.Get(ctx, b.Store, x.ID())
				if err != nil {
					errs <- err
					return
				}
				for range each {
					if _, err := y.N.Incr(ctx, 1); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if s, _ := b.HGet(t, x.Key(), "n"); s != fmt.Sprint(-100+writers*each) {
			t.Fatalf("n after %d concurrent Incr: %s", writers*each, s)
		}
	})
}
