package rapyer_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// The timeouts of a multiplexed connection: its socket deadlines move only
// when less than a timeout is left on them (pipeConn.armRead, armWrite), so
// a wait is cut after between one and one and a half timeouts. These tests
// hold that a stalled reply and a stalled write still end at the timeout,
// not at the context, and that the next call gets a fresh connection.

const muxTimeout = 400 * time.Millisecond

// TestMuxReadTimeout: a reply the server never sends ends the call with a
// timeout after at least the read timeout (and well before the context's
// end); the connection breaks, and the next call dials anew and sees its
// own reply. The connection has served calls before, so the deadline the
// stalled call waits on was armed lazily by an earlier one.
func TestMuxReadTimeout(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithReadTimeout(muxTimeout), rapyer.WithMultiplexConns(1))
		ctx := testkit.Ctx(t)
		o := muxSaved(t, ctx, st, 1, 0)[0]
		for range 20 {
			_, err := o.N.Incr(ctx, 1)
			must(t, err)
		}
		time.Sleep(muxTimeout / 2) // part of the armed deadline is spent
		p.StallReplies()
		start := time.Now()
		_, err := o.N.Incr(ctx, 1)
		took := time.Since(start)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			t.Fatalf("Incr on a stalled reply: %v after %v, want a read timeout", err, took)
		}
		if took < muxTimeout {
			t.Fatalf("the stalled Incr ended after %v, before the read timeout %v", took, muxTimeout)
		}
		p.Resume()
		n, err := o.N.Incr(ctx, 100)
		must(t, err)
		if n != 120 && n != 121 { // the stalled Incr may have run
			t.Fatalf("Incr returned %d, want 120 or 121", n)
		}
		if v, _ := b.HGet(t, o.Key(), "n"); v != "120" && v != "121" || v != strconv.FormatInt(n, 10) {
			t.Fatalf("stored n %q after Incr returned %d", v, n)
		}
	})
}

// TestMuxWriteTimeout: a write the server does not take (it stopped
// reading) ends the call with a timeout after at least the write timeout;
// nothing of the half-sent request is applied, and the next call works on
// a new connection.
func TestMuxWriteTimeout(t *testing.T) {
	defer rapyer.SetMuxMaxBytes(64 << 20)() // the 32 MB Save multiplexed too
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		st, p := proxied(t, b, rapyer.WithWriteTimeout(muxTimeout), rapyer.WithReadTimeout(time.Minute),
			rapyer.WithMultiplexConns(1))
		ctx := testkit.Ctx(t)
		big := muxSaved(t, ctx, st, 1, 0)[0]
		p.StallRequests()
		big.Name.Set(strings.Repeat("y", 32<<20))
		start := time.Now()
		err := big.Save(ctx)
		took := time.Since(start)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			t.Fatalf("Save through a stalled write: %v after %v, want a write timeout", err, took)
		}
		if took < muxTimeout {
			t.Fatalf("the stalled Save ended after %v, before the write timeout %v", took, muxTimeout)
		}
		p.Resume()
		n, err := big.N.Incr(ctx, 5)
		must(t, err)
		if n != 5 {
			t.Fatalf("Incr returned %d, want 5", n)
		}
		if v, _ := b.HGet(t, big.Key(), "name"); v != "g0" {
			t.Fatalf("stored name of %d bytes, want the old %q: part of a cut write was applied", len(v), "g0")
		}
	})
}

// TestMuxIdleAfterTimeouts: a connection left idle past its armed read and
// write deadlines (the writer goroutine's and the readers' arm them ahead
// and leave them) serves the next calls: a lone caller's write and read
// arm their own. Without that, the first write after a pause longer than
// one and a half write timeouts failed with "i/o timeout".
func TestMuxIdleAfterTimeouts(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		const d = 150 * time.Millisecond
		st := b.OpenStore(t, append(testkit.EnvOptions(), rapyer.WithWriteTimeout(d), rapyer.WithReadTimeout(d),
			rapyer.WithMultiplexConns(1))...)
		ctx := testkit.Ctx(t)
		objs := muxSaved(t, ctx, st, 32, 0)
		for round := range 3 {
			// Many callers at once: the writer goroutine writes batches
			// (armWrite), the reader goroutine and callers read (armRead).
			var wg sync.WaitGroup
			errs := make(chan error, len(objs))
			for _, o := range objs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 10 {
						if _, err := o.N.Incr(ctx, 1); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("round %d: Incr under load: %v", round, err)
			}
			time.Sleep(3 * d) // every armed deadline passes
			n, err := objs[0].N.Incr(ctx, 1)
			if err != nil {
				t.Fatalf("round %d: Incr after an idle pause: %v", round, err)
			}
			if want := int64(11 * (round + 1)); n != want {
				t.Fatalf("round %d: Incr returned %d, want %d", round, n, want)
			}
		}
	})
}
