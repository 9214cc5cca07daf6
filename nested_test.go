package rapyer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestNestedJoins: a Batch or Tx opened with an outer one's queue context
// joins it: one round trip for all, the inner operations completing when
// the outer has run; an inner function's error drops what it queued only.
func TestNestedJoins(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		u := saved(t, ctx, users, st)      // age 36
		v := savedBeside(t, ctx, users, u) // one Tx holds both: one slot on a cluster
		boom := errors.New("boom")
		var inner *rapyer.Result[int64]
		var afterInner int64
		var innerErr, droppedErr error
		trips, cmds := b.Count(func() {
			must(t, st.Tx(ctx, func(q context.Context) error {
				_, _ = u.Age.Incr(q, 1)
				innerErr = st.Batch(q, func(q2 context.Context) error {
					inner = rapyer.Later(q2, func(q2 context.Context) (int64, error) { return v.Age.Incr(q2, 10) })
					return st.Tx(q2, func(q3 context.Context) error { // three levels
						_, err := u.Name.Append(q3, "!")
						return err
					})
				})
				afterInner = v.Age.Get()
				droppedErr = st.Batch(q, func(q2 context.Context) error {
					_, _ = v.Age.Incr(q2, 1000)
					return boom
				})
				return nil
			}))
		})
		if innerErr != nil || !errors.Is(droppedErr, boom) {
			t.Fatalf("inner returned %v and %v", innerErr, droppedErr)
		}
		if trips != 1 || cmds[0] != "MULTI" || cmds[len(cmds)-1] != "EXEC" || len(cmds) != 5 {
			t.Fatalf("nested: %d round trips, commands %v; want MULTI, 3 operations, EXEC", trips, cmds)
		}
		if afterInner != 36 {
			t.Fatalf("inner Batch completed at its end: v.Age %d before the outer ran", afterInner)
		}
		if n, err := inner.Get(); err != nil || n != 46 || v.Age.Get() != 46 || u.Age.Get() != 37 || u.Name.Get() != "Ada!" {
			t.Fatalf("after the outer: inner Incr %d, %v; v.Age %d, u.Age %d, u.Name %q", n, err, v.Age.Get(), u.Age.Get(), u.Name.Get())
		}

		// A Tx joining a Batch makes it one MULTI/EXEC; an inner error
		// reaches the outer's BatchError at its position among the calls.
		missing := users.NewBeside(u)
		trips, cmds = b.Count(func() {
			err := st.Batch(ctx, func(q context.Context) error {
				_, _ = u.Age.Incr(q, 1)
				return st.Tx(q, func(q2 context.Context) error {
					_, _ = missing.Age.Incr(q2, 1)
					return nil
				})
			})
			var be *rapyer.BatchError
			if !errors.As(err, &be) || !be.Tx || len(be.Failed) != 1 || be.Failed[0].Index != 1 || !errors.Is(err, rapyer.ErrNotFound) {
				t.Fatalf("Batch with a joined Tx: %v", err)
			}
		})
		if trips != 1 || cmds[0] != "MULTI" {
			t.Fatalf("Batch with a joined Tx: %d round trips, %v", trips, cmds)
		}

		// An inner one of another Store cannot join.
		other, err := embedded.Open(ctx)
		must(t, err)
		defer other.Close()
		must(t, st.Batch(ctx, func(q context.Context) error {
			wantErr(t, other.Tx(q, func(context.Context) error { return nil }), rapyer.ErrInvalid, "Separate")
			return nil
		}))
	})
}

// TestNestedSeparate: with Separate, the inner one sends its queue at its
// own end, in its own round trip, and completes then.
func TestNestedSeparate(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		u := saved(t, ctx, users, st)
		var during int
		var innerAge int64
		boom := errors.New("boom")
		total, _ := b.Count(func() {
			err := st.Tx(ctx, func(q context.Context) error {
				_, _ = u.Name.Append(q, "?")
				during, _ = b.Count(func() {
					must(t, st.Tx(q, func(q2 context.Context) error {
						_, err := u.Age.Incr(q2, 4)
						return err
					}, rapyer.Separate()))
				})
				innerAge = u.Age.Get()
				return boom // the outer sends nothing; the inner has run
			})
			if !errors.Is(err, boom) {
				t.Fatalf("outer: %v", err)
			}
		})
		if during != 1 || total != 1 || innerAge != 40 {
			t.Fatalf("Separate: %d round trips inside, %d in all, age %d after the inner one; want 1, 1, 40", during, total, innerAge)
		}
		g, err := users.Get(ctx, st, u.ID())
		must(t, err)
		if g.Age.Get() != 40 || g.Name.Get() != "Ada" {
			t.Fatalf("stored: age %d name %q", g.Age.Get(), g.Name.Get())
		}
		// Outside any Batch, Separate changes nothing.
		trips, _ := b.Count(func() {
			must(t, st.Batch(ctx, func(q context.Context) error {
				_, _ = u.Age.Incr(q, 1)
				_, _ = u.Age.Incr(q, 1)
				return nil
			}, rapyer.Separate()))
		})
		if trips != 1 || u.Age.Get() != 42 {
			t.Fatalf("top-level Separate: %d round trips, age %d", trips, u.Age.Get())
		}
	})
}
