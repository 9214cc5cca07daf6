package types_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// queue is a job queue object: pending jobs, the jobs being worked on,
// and jobs by priority.
type queue struct {
	rapyer.Model
	Jobs    types.List[string]
	Working types.List[string]
	Ranked  types.SortedSet[string]
}

var queues = rapyer.Define("bqueue", func(q *queue) rapyer.Fields {
	return rapyer.Fields{q.Jobs.Named("jobs"), q.Working.Named("working"), q.Ranked.Named("ranked")}
}, rapyer.WithTTL(time.Hour))

func newQueue(t *testing.T, ctx context.Context, b *testkit.Backend) *queue {
	t.Helper()
	q := queues.New(b.Store)
	if err := q.Save(ctx); err != nil {
		t.Fatal(err)
	}
	return q
}

// storedVersion reads the object's `_v` straight from the server.
func storedVersion(t *testing.T, b *testkit.Backend, key string) int64 {
	t.Helper()
	v, _ := b.HGet(t, key, "_v")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("stored _v %q: %v", v, err)
	}
	return n
}

func TestBlockingPopReady(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		q := newQueue(t, ctx, b)
		if _, err := q.Jobs.Append(ctx, "a", "b", "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Ranked.AddMany(ctx, types.Member[string]{Value: "low", Score: 1}, types.Member[string]{Value: "high", Score: 9}); err != nil {
			t.Fatal(err)
		}
		v0 := storedVersion(t, b, q.Key())
		b.Do(t, "PEXPIRE", q.Key(), 50_000)
		var v string
		var ok bool
		var err error
		rt, cmds := b.Count(func() { v, ok, err = q.Jobs.BPopFront(ctx, time.Minute) })
		if err != nil || !ok || v != "a" {
			t.Fatalf("BPopFront = %q %v %v, want a", v, ok, err)
		}
		if rt != 1 || slices.Contains(cmds, "BLPOP") {
			t.Fatalf("BPopFront of a ready element: %d round trips %v, want 1 without BLPOP", rt, cmds)
		}
		if got := storedVersion(t, b, q.Key()); got != v0+1 {
			t.Fatalf("version %d after a pop, want %d", got, v0+1)
		}
		if p := b.PTTL(t, q.Key()); p < 59*60*1000 {
			t.Fatalf("PTTL %d after a pop, want the TTL re-armed", p)
		}
		v, ok, err = q.Jobs.BPop(ctx, time.Minute)
		if err != nil || !ok || v != "c" {
			t.Fatalf("BPop = %q %v %v, want c", v, ok, err)
		}
		if l := q.Jobs.Local(); len(l) != 1 || l[0] != "b" {
			t.Fatalf("local copy after pops: %v", l)
		}
		m, ok, err := q.Ranked.BPopMin(ctx, time.Minute)
		if err != nil || !ok || m.Value != "low" || m.Score != 1 {
			t.Fatalf("BPopMin = %+v %v %v", m, ok, err)
		}
		m, ok, err = q.Ranked.BPopMax(ctx, time.Minute)
		if err != nil || !ok || m.Value != "high" || m.Score != 9 {
			t.Fatalf("BPopMax = %+v %v %v", m, ok, err)
		}
		v, ok, err = q.Jobs.BMove(ctx, &q.Working, time.Minute)
		if err != nil || !ok || v != "b" {
			t.Fatalf("BMove = %q %v %v", v, ok, err)
		}
		got, err := queues.Get(ctx, b.Store, q.ID())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Jobs.Local()) != 0 || !slices.Equal(got.Working.Local(), []string{"b"}) || len(got.Ranked.Local()) != 0 {
			t.Fatalf("stored: jobs %v working %v ranked %v", got.Jobs.Local(), got.Working.Local(), got.Ranked.Local())
		}
		if !slices.Equal(q.Working.Local(), []string{"b"}) {
			t.Fatalf("local working list %v", q.Working.Local())
		}
	})
}

func TestBlockingPopTimeout(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		q := newQueue(t, ctx, b)
		v, ok, err := q.Jobs.BPopFront(ctx, 50*time.Millisecond)
		if err != nil || ok || v != "" {
			t.Fatalf("BPopFront on an empty list = %q %v %v, want nothing", v, ok, err)
		}
		m, ok, err := q.Ranked.BPopMin(ctx, 50*time.Millisecond)
		if err != nil || ok || m.Value != "" {
			t.Fatalf("BPopMin on an empty set = %+v %v %v", m, ok, err)
		}
		v, ok, err = q.Jobs.BMove(ctx, &q.Working, 50*time.Millisecond)
		if err != nil || ok {
			t.Fatalf("BMove from an empty list = %q %v %v", v, ok, err)
		}
		// The context bounds the wait: its error, and the Store still works.
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, _, err = q.Jobs.BPopFront(short, 0)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("BPopFront past the context's deadline: %v, want DeadlineExceeded", err)
		}
		if _, err := q.Jobs.Append(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		v, ok, err = q.Jobs.BPopFront(ctx, time.Minute)
		if err != nil || !ok || v != "x" {
			t.Fatalf("after a cut wait: %q %v %v", v, ok, err)
		}
	})
}

// TestBlockingPopWakes pushes to the list's key behind rapyer's back (a raw
// RPUSH, which touches neither the version nor the TTL) while a pop waits,
// until the pop took the element by BLPOP; the wake-up must bump the version
// and re-arm the TTL as a pop does.
func TestBlockingPopWakes(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		q := newQueue(t, ctx, b)
		pusher := b.Dial(t, q.Key()) // raw: no version, no TTL; the object's server (its master on a cluster)
		blocked := false
		for try := 0; try < 20 && !blocked; try++ {
			v0 := storedVersion(t, b, q.Key())
			b.Do(t, "PEXPIRE", q.Key(), 50_000)
			job := "job" + strconv.Itoa(try)
			delay := time.Duration(try+1) * 20 * time.Millisecond
			pushed := make(chan struct{})
			go func() {
				defer close(pushed)
				time.Sleep(delay)
				_, _ = pusher.Do("RPUSH", q.Keys()[1], job)
			}()
			var v string
			var ok bool
			var err error
			_, cmds := b.Count(func() { v, ok, err = q.Jobs.BPopFront(ctx, time.Minute) })
			if err != nil || !ok || v != job {
				t.Fatalf("BPopFront = %q %v %v, want %s", v, ok, err, job)
			}
			<-pushed
			blocked = slices.Contains(cmds, "BLPOP")
			if got := storedVersion(t, b, q.Key()); got != v0+1 {
				t.Fatalf("version %d after the pop (blocked %v), want %d", got, blocked, v0+1)
			}
			for _, k := range q.Keys() {
				if p := b.PTTL(t, k); k == q.Key() && p < 59*60*1000 {
					t.Fatalf("PTTL of %s %d after the pop (blocked %v), want the TTL re-armed", k, p, blocked)
				}
			}
		}
		if !blocked {
			t.Fatal("the push always came before the wait: BLPOP never ran")
		}
		// BZPOPMIN the same way.
		blocked = false
		for try := 0; try < 20 && !blocked; try++ {
			delay := time.Duration(try+1) * 20 * time.Millisecond
			pushed := make(chan struct{})
			go func() {
				defer close(pushed)
				time.Sleep(delay)
				_, _ = pusher.Do("ZADD", q.Keys()[3], 7, "m")
			}()
			var m types.Member[string]
			var ok bool
			var err error
			_, cmds := b.Count(func() { m, ok, err = q.Ranked.BPopMin(ctx, time.Minute) })
			if err != nil || !ok || m.Value != "m" || m.Score != 7 {
				t.Fatalf("BPopMin = %+v %v %v", m, ok, err)
			}
			<-pushed
			blocked = slices.Contains(cmds, "BZPOPMIN")
		}
		if !blocked {
			t.Fatal("BZPOPMIN never ran")
		}
	})
}

func TestBlockingPopErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ghost, err := queues.Ref(b.Store, "ghost")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = ghost.Jobs.BPopFront(ctx, time.Minute)
		if !errors.Is(err, rapyer.ErrNotFound) {
			t.Fatalf("BPopFront on a missing object: %v, want ErrNotFound", err)
		}
		_, _, err = ghost.Ranked.BPopMin(ctx, time.Minute)
		if !errors.Is(err, rapyer.ErrNotFound) {
			t.Fatalf("BPopMin on a missing object: %v", err)
		}
		_, _, err = ghost.Jobs.BMove(ctx, &ghost.Working, time.Minute)
		if !errors.Is(err, rapyer.ErrNotFound) {
			t.Fatalf("BMove on a missing object: %v", err)
		}
		q := newQueue(t, ctx, b)
		other := newQueue(t, ctx, b)
		if _, err := q.Jobs.Append(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		_, _, err = q.Jobs.BPopFront(ctx, -time.Second)
		if !errors.Is(err, rapyer.ErrInvalid) {
			t.Fatalf("negative timeout: %v", err)
		}
		_, _, err = q.Jobs.BMove(ctx, &other.Working, time.Minute)
		if !errors.Is(err, rapyer.ErrInvalid) {
			t.Fatalf("BMove to another object's list: %v", err)
		}
		err = b.Store.Batch(ctx, func(qc context.Context) error {
			_, _, err := q.Jobs.BPopFront(qc, time.Minute)
			return err
		})
		if !errors.Is(err, rapyer.ErrInvalid) {
			t.Fatalf("BPopFront in a Batch: %v", err)
		}
		got, err := queues.Get(ctx, b.Store, q.ID())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Jobs.Local(), []string{"a"}) {
			t.Fatalf("refused calls changed the list: %v", got.Jobs.Local())
		}
	})
}
