package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

func TestModifyNoLostUpdates(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersTTL, b.Store)
		const workers, each = 8, 100
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					// A computed field: read, compute, write (not atomic on
					// its own), plus a container change in the same save.
					_, err := usersTTL.Modify(ctx, b.Store, u.ID(), func(p *user) error {
						p.Age.Set(p.Age.Get() + 1)
						p.Name.Set(fmt.Sprint("n", p.Age.Get()))
						p.Tags.SetLocal(append(p.Tags.Local(), "x")...)
						return nil
					}, rapyer.MaxAttempts(1000))
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := usersTTL.Get(ctx, b.Store, u.ID())
		must(t, err)
		want := int64(36 + workers*each)
		if got.Age.Get() != want || got.Name.Get() != fmt.Sprint("n", want) || len(got.Tags.Local()) != 3+workers*each {
			t.Fatalf("after %d updates: age %d name %q tags %d", workers*each, got.Age.Get(), got.Name.Get(), len(got.Tags.Local()))
		}
		if p := b.PTTL(t, u.Key()); p < 3500_000 {
			t.Fatalf("Modify did not re-arm the TTL: %d", p)
		}
	})
}

func TestModifyConflictAndErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		// A writer that always wins: ErrConflict after the bound, nothing
		// of fn's written.
		calls := 0
		rt, _ := b.Count(func() {
			_, err := users.Modify(ctx, b.Store, u.ID(), func(p *user) error {
				calls++
				b.Do(t, "HINCRBY", u.Key(), "age", 1)
				p.Name.Set("never")
				return nil
			}, rapyer.MaxAttempts(3))
			wantErr(t, err, rapyer.ErrConflict, "3 attempts")
		})
		if calls != 3 || rt != 6 {
			t.Fatalf("%d calls, %d round trips (want 3 and 6)", calls, rt)
		}
		if v, _ := b.HGet(t, u.Key(), "name"); v != "Ada" {
			t.Fatalf("a conflicting Modify wrote name %q", v)
		}
		// fn's error: nothing written, returned as is.
		boom := errors.New("boom")
		_, err := users.Modify(ctx, b.Store, u.ID(), func(p *user) error {
			p.Name.Set("never")
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("fn error: %v", err)
		}
		// Missing object, bad id, nil fn, a queue context.
		_, err = users.Modify(ctx, b.Store, "nope", func(*user) error { return nil })
		wantErr(t, err, rapyer.ErrNotFound)
		_, err = users.Modify(ctx, b.Store, "", func(*user) error { return nil })
		wantErr(t, err, rapyer.ErrInvalid)
		_, err = users.Modify(ctx, b.Store, u.ID(), nil)
		wantErr(t, err, rapyer.ErrInvalid)
		must(t, b.Store.Batch(ctx, func(q context.Context) error {
			_, err := users.Modify(q, b.Store, u.ID(), func(*user) error { return nil })
			wantErr(t, err, rapyer.ErrInvalid)
			return nil
		}))
		// A quiet object: two round trips.
		rt, _ = b.Count(func() {
			must(t, u.Modify(ctx, func() error { u.Age.Set(1); return nil }))
		})
		if rt != 2 || u.Age.Get() != 1 {
			t.Fatalf("Modify: %d round trips, age %d", rt, u.Age.Get())
		}
	})
}

var usersChecked = rapyer.Define("userck", userFields, rapyer.WithVersionCheck(), rapyer.WithTTL(time.Hour))

func TestVersionCheck(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := usersChecked.New(b.Store)
		fill(a)
		rt, _ := b.Count(func() { must(t, a.Save(ctx)) })
		if rt != 1 || a.Version() != 1 {
			t.Fatalf("checked Save of a new object: %d round trips, version %d", rt, a.Version())
		}
		// A second new object with the same id may not overwrite it.
		twin, err := usersChecked.NewWithID(b.Store, a.ID())
		must(t, err)
		twin.Name.Set("twin")
		wantErr(t, twin.Save(ctx), rapyer.ErrConflict, "expected 0")

		x, err := usersChecked.Get(ctx, b.Store, a.ID())
		must(t, err)
		y, err := usersChecked.Get(ctx, b.Store, a.ID())
		must(t, err)
		x.Age.Set(40)
		must(t, x.Save(ctx))
		// y's copy is stale: Save, Update and a field's Save all refuse,
		// and nothing is written.
		y.Name.Set("stale")
		y.Tags.SetLocal("stale")
		wantErr(t, y.Save(ctx), rapyer.ErrConflict)
		wantErr(t, y.Update(ctx, &y.Name), rapyer.ErrConflict)
		wantErr(t, y.Name.Save(ctx), rapyer.ErrConflict)
		wantErr(t, y.Tags.Save(ctx), rapyer.ErrConflict)
		got, err := usersChecked.Get(ctx, b.Store, a.ID())
		must(t, err)
		if got.Name.Get() != "Ada" || got.Age.Get() != 40 || len(got.Tags.Local()) != 3 || got.Version() != 2 {
			t.Fatalf("a refused write changed the object: %q %d %v v%d", got.Name.Get(), got.Age.Get(), got.Tags.Local(), got.Version())
		}
		// Reload, then it goes through; the version moves on every write.
		must(t, y.Reload(ctx))
		y.Name.Set("fresh")
		must(t, y.Update(ctx, &y.Name))
		must(t, y.Save(ctx))
		if y.Version() != 4 {
			t.Fatalf("version %d after two more writes", y.Version())
		}
		// Field operations are not checked. One that is the only write
		// since the object last saw the server moves Version with it (every
		// field script's kind), so a checked Save goes through; queued in a
		// Tx too. One that writes nothing leaves it.
		ops := []struct {
			name string
			run  func(ctx context.Context) error
		}{
			{"Int.Incr", func(ctx context.Context) error { _, err := y.Age.Incr(ctx, 1); return err }},
			{"Float.Incr", func(ctx context.Context) error { _, err := y.Score.Incr(ctx, 0.5); return err }},
			{"Str.Append", func(ctx context.Context) error { _, err := y.Name.Append(ctx, "!"); return err }},
			{"Bool.Toggle", func(ctx context.Context) error { _, err := y.Active.Toggle(ctx); return err }},
			{"List.Append", func(ctx context.Context) error { _, err := y.Tags.Append(ctx, "t"); return err }},
			{"Map.Set", func(ctx context.Context) error { return y.Prefs.Set(ctx, "k", "v") }},
			{"Counter.Incr", func(ctx context.Context) error { _, err := y.Counts.Incr(ctx, "k", 2); return err }},
			{"Set.Add", func(ctx context.Context) error { _, err := y.Roles.Add(ctx, "r"); return err }},
			{"SortedSet.Add", func(ctx context.Context) error { _, err := y.Board.Add(ctx, "m", 1.5); return err }},
		}
		for _, o := range ops {
			before := y.Version()
			must(t, o.run(ctx))
			if y.Version() != before+1 {
				t.Fatalf("%s: version %d, want %d", o.name, y.Version(), before+1)
			}
			must(t, y.Save(ctx))
		}
		// A versioned field script is one round trip, like the plain one.
		trips, _ := b.Count(func() { _, err = y.Age.Incr(ctx, 1) })
		must(t, err)
		if trips != 1 {
			t.Fatalf("Incr on a checked model: %d round trips, want 1", trips)
		}
		before := y.Version()
		_, err = y.Roles.Add(ctx, "r") // already a member: nothing written
		must(t, err)
		if y.Version() != before {
			t.Fatalf("Set.Add of a member moved the version to %d from %d", y.Version(), before)
		}
		must(t, b.Store.Tx(ctx, func(q context.Context) error {
			_, err := y.Age.Incr(q, 1)
			if err == nil {
				_, err = y.Tags.Append(q, "t")
			}
			return err
		}))
		if y.Version() != before+2 {
			t.Fatalf("version %d after a Tx of two field operations, want %d", y.Version(), before+2)
		}
		must(t, y.Save(ctx))
		// When another client wrote in between, Version stays where it
		// was, and the checked Save still sees the other write.
		must(t, x.Reload(ctx))
		x.Name.Set("other")
		must(t, x.Save(ctx))
		before = y.Version()
		_, err = y.Age.Incr(ctx, 1)
		must(t, err)
		if y.Version() != before {
			t.Fatalf("version %d after Incr over another write, want %d (unchanged)", y.Version(), before)
		}
		wantErr(t, y.Save(ctx), rapyer.ErrConflict)
		must(t, y.Reload(ctx))
		must(t, y.Save(ctx))
		// A model without the check keeps Version at what it last loaded
		// or saved (its field scripts reply no version).
		u := users.New(b.Store)
		must(t, u.Save(ctx))
		_, err = u.Age.Incr(ctx, 1)
		must(t, err)
		if u.Version() != 1 {
			t.Fatalf("unchecked model: version %d after Incr, want 1", u.Version())
		}
		// Modify works with the check (it saves the version it loaded).
		_, err = usersChecked.Modify(ctx, b.Store, a.ID(), func(p *user) error { p.Age.Set(1); return nil })
		must(t, err)
		// Clear of a container is a field operation: not checked.
		must(t, x.Tags.Clear(ctx))
		// Error replies pass through the versioned scripts as they are.
		must(t, y.Reload(ctx))
		y.Age.Set(math.MaxInt64)
		must(t, y.Save(ctx))
		_, err = y.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrOverflow, "age")
		_, err = y.Delete(ctx)
		must(t, err)
		_, err = y.Tags.Append(ctx, "t")
		wantErr(t, err, rapyer.ErrNotFound)
	})
}
