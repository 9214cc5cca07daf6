package rapyer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

func TestWithLockNoWait(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newLockObj(t, ctx, b.Store)
		held, err := o.Lock(ctx, "run")
		must(t, err)
		// Held by another owner: at once, one attempt, fn not called.
		ran := false
		rt, cmds := b.Count(func() {
			err = o.WithLock(ctx, "run", func(context.Context) error { ran = true; return nil }, rapyer.NoWait())
		})
		wantErr(t, err, rapyer.ErrLocked, "run")
		if ran {
			t.Fatal("WithLock with NoWait ran its function while the lock was held")
		}
		if rt != 1 || len(cmds) != 1 {
			t.Fatalf("WithLock with NoWait on a held lock: %d round trips %v, want one attempt", rt, cmds)
		}
		_, err = o.Lock(ctx, "run", rapyer.NoWait(), rapyer.WithLockTTL(time.Second))
		wantErr(t, err, rapyer.ErrLocked)
		must(t, held.Unlock(ctx))
		// Free: it runs and saves as WithLock does.
		err = o.WithLock(ctx, "run", func(context.Context) error {
			ran = true
			o.Note.Set("done")
			return nil
		}, rapyer.NoWait(), rapyer.WithSave())
		must(t, err)
		got, err := lockObjs.Get(ctx, b.Store, o.ID())
		must(t, err)
		if !ran || got.Note.Get() != "done" {
			t.Fatalf("WithLock with NoWait on a free lock: ran %v, note %q", ran, got.Note.Get())
		}
		// Released afterwards: another NoWait attempt gets it.
		l, err := o.Lock(ctx, "run", rapyer.NoWait())
		must(t, err)
		must(t, l.Unlock(ctx))
		// A missing object: ErrNotFound, not ErrLocked.
		ghost, err := lockObjs.Ref(b.Store, "ghost")
		must(t, err)
		err = ghost.WithLock(ctx, "run", func(context.Context) error { return nil }, rapyer.NoWait())
		if !errors.Is(err, rapyer.ErrNotFound) {
			t.Fatalf("NoWait on a missing object: %v", err)
		}
	})
}
