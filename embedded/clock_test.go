package embedded_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

type clockSession struct {
	rapyer.Model
	User types.Str
}

func clockFields(s *clockSession) rapyer.Fields { return rapyer.Fields{s.User.Named("user")} }

// Short-lived sessions, and hour-long ones, for the clock tests.
var (
	shortSessions = rapyer.Define("clocksession", clockFields, rapyer.WithTTL(time.Second))
	hourSessions  = rapyer.Define("clockhour", clockFields, rapyer.WithTTL(time.Hour))
)

// waitGone polls exists (which must refresh nothing) until it reports
// false, and fails the test when the step's context ends first: the
// server's clock did not move on its own.
func waitGone(t *testing.T, what string, exists func() bool) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for exists() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s still there when the context ended: its TTL did not run out on its own", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestWallClockExpiry: a key expires on its own, as on Redis, with no
// FastForward (Elapse) at all.
func TestWallClockExpiry(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		s := shortSessions.New(b.Store)
		s.User.Set("ada")
		if err := s.Save(ctx); err != nil {
			t.Fatal(err)
		}
		if ms := b.PTTL(t, s.Key()); ms > 1000 || ms == -1 {
			t.Fatalf("PTTL after Save = %d ms, want at most 1000", ms)
		}
		waitGone(t, b.Name+": "+s.Key(), func() bool {
			n, _ := b.Do(t, "EXISTS", s.Key()) // EXISTS refreshes nothing
			return n != int64(0)
		})
		if _, err := shortSessions.Get(ctx, b.Store, s.ID()); !errors.Is(err, rapyer.ErrNotFound) {
			t.Fatalf("Get after expiry: %v, want ErrNotFound", err)
		}
	})
}

// TestFastForwardWithClock: FastForward still jumps ahead at once, and the
// clock goes on running from there.
func TestFastForwardWithClock(t *testing.T) {
	ctx := testkit.Ctx(t)
	srv := embedded.StartT(t)
	st, err := srv.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	a, b := hourSessions.New(st), hourSessions.New(st)
	for _, s := range []*clockSession{a, b} {
		if err := s.Save(ctx); err != nil {
			t.Fatal(err)
		}
	}
	srv.FastForward(30 * time.Minute)
	left, err := a.TTL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left > 30*time.Minute || left < 29*time.Minute {
		t.Fatalf("TTL after FastForward(30m) = %v, want just under 30m", left)
	}
	if _, err := a.User.Load(ctx); err != nil { // re-arms a's TTL to an hour
		t.Fatal(err)
	}
	srv.FastForward(30*time.Minute - 200*time.Millisecond)
	if ok, err := a.Exists(ctx); err != nil || !ok {
		t.Fatalf("a, re-armed: Exists = %v, %v; want true", ok, err)
	}
	// b has about 200 ms left: the wall clock takes it away.
	waitGone(t, "b, after FastForward", func() bool { return srv.Miniredis().Exists(b.Key()) })
	if ok, err := a.Exists(ctx); err != nil || !ok {
		t.Fatalf("a, re-armed: Exists after b expired = %v, %v; want true", ok, err)
	}
}

// TestStartTCleanup: StartT stops the server when the test that started it
// ends.
func TestStartTCleanup(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		srv := embedded.StartT(t)
		addr = srv.Addr()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial while the test runs: %v", err)
		}
		_ = c.Close()
	})
	if c, err := net.Dial("tcp", addr); err == nil {
		_ = c.Close()
		t.Fatalf("%s still accepts connections after the test that started it ended", addr)
	}
}

// TestCloseTwice: Close stops the server and its clock; a second Close does
// nothing.
func TestCloseTwice(t *testing.T) {
	srv, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStopClock: once the clock is stopped, a TTL no longer runs out on its
// own (it still reads its full value after more than a ClockTick), and
// FastForward alone expires the key.
func TestStopClock(t *testing.T) {
	ctx := testkit.Ctx(t)
	srv := embedded.StartT(t)
	srv.StopClock()
	srv.StopClock() // a second call does nothing
	st, err := srv.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := shortSessions.New(st)
	s.User.Set("ada")
	if err := s.Save(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * embedded.ClockTick)
	if ttl := srv.Miniredis().TTL(s.Key()); ttl != time.Second {
		t.Fatalf("TTL after %v with the clock stopped = %v, want 1s", 3*embedded.ClockTick, ttl)
	}
	srv.FastForward(time.Second)
	if _, err := shortSessions.Get(ctx, st, s.ID()); !errors.Is(err, rapyer.ErrNotFound) {
		t.Fatalf("Get after FastForward: %v, want ErrNotFound", err)
	}
}
