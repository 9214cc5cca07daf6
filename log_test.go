package rapyer_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// logRec is an slog.Handler that keeps the records of its level and up,
// and counts every Handle call.
type logRec struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (h *logRec) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *logRec) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *logRec) WithGroup(string) slog.Handler                { return h }
func (h *logRec) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}

// take returns the records whose message starts with prefix (all of them
// for ""), and forgets every record.
func (h *logRec) take(prefix string) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.recs {
		if strings.HasPrefix(r.Message, prefix) {
			out = append(out, r)
		}
	}
	h.recs = nil
	return out
}

// attrs returns a record's attributes as text.
func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// TestLogFailed: a failed operation is logged at Debug with its name,
// model, id, field and error; a successful one is not.
func TestLogFailed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		h := &logRec{level: slog.LevelDebug}
		st := b.NewStore(t, rapyer.WithLogger(slog.New(h)))
		p := newPerson(people, st, "Ada", "ada@example.org", 36)
		must(t, p.Save(ctx))
		if _, err := p.Age.Incr(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if recs := h.take("rapyer: operation failed"); len(recs) != 0 {
			t.Fatalf("successful operations logged: %v", recs)
		}

		missing := people.New(st)
		_, err := missing.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrNotFound)
		recs := h.take("rapyer: operation failed")
		if len(recs) != 1 || recs[0].Level != slog.LevelDebug {
			t.Fatalf("records %v", recs)
		}
		a := attrs(recs[0])
		if a["op"] != "Int.Incr" || a["model"] != "person" || a["id"] != missing.ID() || a["field"] != "age" ||
			!strings.Contains(a["err"], "not found") {
			t.Fatalf("attributes %v", a)
		}
	})
}

// TestLogSlow: with a threshold every operation that long is logged at
// Warn; the threshold off, none is.
func TestLogSlow(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		h := &logRec{level: slog.LevelWarn}
		st := b.NewStore(t, rapyer.WithLogger(slog.New(h)), rapyer.WithSlowThreshold(time.Nanosecond))
		p := newPerson(people, st, "Ada", "ada@example.org", 36)
		h.take("")
		must(t, p.Save(ctx))
		recs := h.take("")
		if len(recs) != 1 || recs[0].Level != slog.LevelWarn || recs[0].Message != "rapyer: slow operation" {
			t.Fatalf("records %v", recs)
		}
		a := attrs(recs[0])
		// On a cluster the unique email is claimed and confirmed around
		// the save (claim.go): 3 units, 3 round trips.
		if a["op"] != "Save" || a["id"] != p.ID() || a["round_trips"] != onCluster(b, "1", "3") || a["units"] != onCluster(b, "1", "3") || a["duration"] == "0s" {
			t.Fatalf("attributes %v", a)
		}

		quiet := b.NewStore(t, rapyer.WithLogger(slog.New(h)))
		q := newPerson(people, quiet, "Bo", "bo@example.org", 3)
		must(t, q.Save(ctx))
		if recs := h.take(""); len(recs) != 0 {
			t.Fatalf("no threshold, yet %v", recs)
		}
	})
}

// TestLogLevelOff: a logger whose levels are off costs nothing: an
// operation allocates as much as on a Store without a logger, and the
// handler is never called.
func TestLogLevelOff(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		b.StopClock() // its goroutine's allocations would count
		h := &logRec{level: slog.LevelError}
		plain := b.NewStore(t)
		logged := b.NewStore(t, rapyer.WithLogger(slog.New(h)))
		allocs := func(st *rapyer.Store) float64 {
			p := newPerson(people, st, "Ada", "", 1)
			p.Email.Clear()
			must(t, p.Save(ctx))
			return testing.AllocsPerRun(50, func() {
				if _, err := p.Age.Incr(ctx, 1); err != nil {
					t.Fatal(err)
				}
			})
		}
		// The minimum of alternate runs: a connection's reads may
		// allocate a little more now and then, logger or not.
		a, c := allocs(plain), allocs(logged)
		for range 3 {
			a, c = min(a, allocs(plain)), min(c, allocs(logged))
		}
		// The embedded server runs in this process and its own allocations
		// count too (its per-connection state differs by one now and then,
		// clock stopped or not): one allocation of slack there. A real
		// server's backend (REDIS_URL, in CI) asserts the exact figure.
		slack := 0.0
		if b.Name == "embedded" {
			slack = 1
		}
		if c > a+slack {
			t.Fatalf("Incr allocates %v times with a logger whose levels are off, %v without one", c, a)
		}
		missing := people.New(logged)
		_, err := missing.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrNotFound)
		if recs := h.take(""); len(recs) != 0 {
			t.Fatalf("records %v", recs)
		}
	})
}
