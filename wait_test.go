package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// waitRow is one operation of TestWaitRoundTrips, run on a fresh object
// of the Store given.
type waitRow struct {
	name  string
	write bool
	waits int // WAITs expected on a write (0: one per node touched, at least 1)
	run   func(ctx context.Context, st *rapyer.Store, u *user) error
}

var waitRows = []waitRow{
	{"Save", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { return u.Save(ctx) }},
	{"Insert", true, 1, func(ctx context.Context, st *rapyer.Store, _ *user) error {
		n := users.New(st)
		fill(n)
		return n.Insert(ctx)
	}},
	{"Update", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error {
		u.Age.Set(40)
		return u.Update(ctx, &u.Age)
	}},
	{"Delete", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Delete(ctx); return err }},
	{"Int.Incr", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Age.Incr(ctx, 1); return err }},
	{"Str.Save", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { u.Name.Set("Bo"); return u.Name.Save(ctx) }},
	{"List.Append", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error {
		_, err := u.Tags.Append(ctx, "x")
		return err
	}},
	{"Set.Add", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Roles.Add(ctx, "x"); return err }},
	{"SetTTL", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { return u.SetTTL(ctx, time.Hour) }},
	{"Batch", true, 1, func(ctx context.Context, st *rapyer.Store, u *user) error {
		return st.Batch(ctx, func(q context.Context) error {
			_, _ = u.Age.Incr(q, 1)
			_, _ = u.Tags.Append(q, "y")
			return nil
		})
	}},
	{"Tx", true, 1, func(ctx context.Context, st *rapyer.Store, u *user) error {
		return st.Tx(ctx, func(q context.Context) error {
			_, _ = u.Age.Incr(q, 1)
			return u.Save(q)
		})
	}},
	{"SaveMany", true, 0, func(ctx context.Context, st *rapyer.Store, u *user) error {
		v := users.New(st)
		fill(v)
		return users.SaveMany(ctx, []*user{u, v})
	}},
	{"DeleteMany", true, 0, func(ctx context.Context, st *rapyer.Store, u *user) error {
		_, err := users.DeleteMany(ctx, st, []string{u.ID(), "nobody"})
		return err
	}},
	{"Modify", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error {
		return u.Modify(ctx, func() error { u.Age.Set(u.Age.Get() + 1); return nil })
	}},
	{"TryLock", true, 1, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.TryLock(ctx, "w"); return err }},
	{"Get", false, 0, func(ctx context.Context, st *rapyer.Store, u *user) error {
		_, err := users.Get(ctx, st, u.ID())
		return err
	}},
	{"Exists", false, 0, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Exists(ctx); return err }},
	{"Int.Load", false, 0, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Age.Load(ctx); return err }},
	{"List.ReadAll", false, 0, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Tags.ReadAll(ctx); return err }},
	{"Str.Len", false, 0, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.Name.Len(ctx); return err }},
	{"ExistsMany", false, 0, func(ctx context.Context, st *rapyer.Store, u *user) error {
		_, err := users.ExistsMany(ctx, st, []string{u.ID(), "nobody"})
		return err
	}},
	{"GetMany", false, 0, func(ctx context.Context, st *rapyer.Store, u *user) error {
		_, err := users.GetMany(ctx, st, []string{u.ID()})
		return err
	}},
	{"TTL", false, 0, func(ctx context.Context, _ *rapyer.Store, u *user) error { _, err := u.TTL(ctx); return err }},
}

// savedOn saves an object with st and returns it read by ws (a Store
// that waits: its own Save would fail with ErrNotReplicated).
func savedOn(t *testing.T, ctx context.Context, st, ws *rapyer.Store) *user {
	t.Helper()
	u, err := users.Get(ctx, ws, saved(t, ctx, users, st).ID())
	must(t, err)
	return u
}

func count(cmds []string, name string) int {
	n := 0
	for _, c := range cmds {
		if c == name {
			n++
		}
	}
	return n
}

// TestWaitRoundTrips: under WithWait every write sends WAIT in its own
// round trip (the round trips are those of the same operation without
// WithWait) and, with no replica to acknowledge (none on any backend
// here: the embedded server answers 0 at once), returns ErrNotReplicated
// saying "0 of 1"; reads send no WAIT and succeed.
func TestWaitRoundTrips(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ws := b.NewStore(t, rapyer.WithWait(1, 30*time.Millisecond))
		for _, row := range waitRows {
			t.Run(row.name, func(t *testing.T) {
				var err0, err1 error
				u0, u1 := saved(t, ctx, users, b.Store), savedOn(t, ctx, b.Store, ws)
				trips0, cmds0 := b.Count(func() { err0 = row.run(ctx, b.Store, u0) })
				trips1, cmds1 := b.Count(func() { err1 = row.run(ctx, ws, u1) })
				must(t, err0)
				if trips1 != trips0 {
					t.Errorf("round trips: %d with WithWait, %d without (%v / %v)", trips1, trips0, cmds1, cmds0)
				}
				if n := count(cmds0, "WAIT"); n != 0 {
					t.Errorf("without WithWait: %d WAIT sent", n)
				}
				waits := count(cmds1, "WAIT")
				if !row.write {
					must(t, err1)
					if waits != 0 {
						t.Errorf("a read sent %d WAIT: %v", waits, cmds1)
					}
					return
				}
				wantErr(t, err1, rapyer.ErrNotReplicated, "0 of 1 replicas", "applied on the master")
				if (row.waits > 0 && waits != row.waits) || waits < 1 {
					t.Errorf("%d WAIT sent, want %d (0: at least 1): %v", waits, row.waits, cmds1)
				}
			})
		}
	})
}

// TestWaitWriteStands: a write that returns ErrNotReplicated happened, and
// completed locally as on success (the version moved, the value is read
// back); per-call WithWait replaces the Store's (WithWait(0, 0) turns it
// off, nothing sent); bad values are ErrInvalid before anything is sent.
func TestWaitWriteStands(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ws := b.NewStore(t, rapyer.WithWait(1, 20*time.Millisecond))
		u := savedOn(t, ctx, b.Store, ws)
		v0 := u.Version()
		u.Name.Set("Grace")
		wantErr(t, u.Save(ctx), rapyer.ErrNotReplicated)
		if u.Version() != v0+1 {
			t.Fatalf("Version %d after a Save not replicated, want %d", u.Version(), v0+1)
		}
		n, err := u.Age.Incr(ctx, 4)
		wantErr(t, err, rapyer.ErrNotReplicated)
		if n != 40 || u.Age.Get() != 40 {
			t.Fatalf("Incr returned %d (local %d), want 40", n, u.Age.Get())
		}
		got, err := users.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Name.Get() != "Grace" || got.Age.Get() != 40 {
			t.Fatalf("stored %q %d", got.Name.Get(), got.Age.Get())
		}

		// Per call: off on a waiting Store, on for a Store that does not wait.
		trips, cmds := b.Count(func() {
			must(t, ws.Batch(ctx, func(q context.Context) error { _, err := u.Age.Incr(q, 1); return err }, rapyer.WithWait(0, 0)))
		})
		if count(cmds, "WAIT") != 0 || trips != 1 {
			t.Fatalf("Batch WithWait(0, 0): %d round trips, %v", trips, cmds)
		}
		p := saved(t, ctx, users, b.Store)
		err = b.Store.Tx(ctx, func(q context.Context) error { _, err := p.Age.Incr(q, 1); return err }, rapyer.WithWait(1, 20*time.Millisecond))
		wantErr(t, err, rapyer.ErrNotReplicated)
		if p.Age.Get() != 37 {
			t.Fatalf("local Age %d after a Tx not replicated, want 37", p.Age.Get())
		}
		q := users.New(b.Store)
		fill(q)
		wantErr(t, users.SaveMany(ctx, []*user{p, q}, rapyer.WithWait(1, 20*time.Millisecond)), rapyer.ErrNotReplicated)
		if q.Version() != 1 {
			t.Fatalf("Version %d after SaveMany not replicated, want 1", q.Version())
		}
		if ok, err := q.Exists(ctx); err != nil || !ok {
			t.Fatalf("Exists after SaveMany not replicated: %v %v", ok, err)
		}

		// A lock taken but not replicated is returned held; WithLock
		// releases it and does not run its function.
		l, err := p.TryLock(ctx, "job", rapyer.WithLockTTL(time.Minute)) // the Store does not wait
		must(t, err)
		must(t, l.Unlock(ctx))
		pw, err := users.Get(ctx, ws, p.ID())
		must(t, err)
		l, err = pw.TryLock(ctx, "job")
		wantErr(t, err, rapyer.ErrNotReplicated, `lock "job" taken`)
		if l == nil || l.Token() < 1 {
			t.Fatalf("TryLock not replicated returned lock %v", l)
		}
		wantErr(t, l.Unlock(ctx), rapyer.ErrNotReplicated)
		ran := false
		err = pw.WithLock(ctx, "job", func(context.Context) error { ran = true; return nil })
		wantErr(t, err, rapyer.ErrNotReplicated)
		if ran {
			t.Fatal("WithLock ran its function under a lock not replicated")
		}
		if l, err := p.TryLock(ctx, "job"); err != nil { // released: free again
			t.Fatalf("after WithLock: %v", err)
		} else {
			must(t, l.Unlock(ctx))
		}

		// Bad values.
		for _, w := range []rapyer.WaitOption{rapyer.WithWait(-1, time.Second), rapyer.WithWait(1, 0), rapyer.WithWait(1, -time.Second)} {
			trips, _ := b.Count(func() {
				wantErr(t, b.Store.Batch(ctx, func(q context.Context) error { _, err := p.Age.Incr(q, 1); return err }, w), rapyer.ErrInvalid, "WithWait")
				wantErr(t, users.SaveMany(ctx, []*user{p}, w), rapyer.ErrInvalid, "WithWait")
			})
			if trips != 0 {
				t.Fatalf("%d round trips for an invalid WithWait", trips)
			}
			_, err := rapyer.NewStore(new(redis.Pool), w)
			wantErr(t, err, rapyer.ErrInvalid)
		}
		if _, err := rapyer.OpenCluster(ctx, []string{"127.0.0.1:1"}, rapyer.WithWait(1, 0)); !errors.Is(err, rapyer.ErrInvalid) {
			t.Fatalf("OpenCluster with WithWait(1, 0): %v", err)
		}
		none := b.NewStore(t, rapyer.WithWait(0, 0))
		r := savedOn(t, ctx, none, none)
		_, cmds = b.Count(func() { _, err = r.Age.Incr(ctx, 1) })
		must(t, err)
		if count(cmds, "WAIT") != 0 {
			t.Fatalf("WithWait(0, 0) sent WAIT: %v", cmds)
		}
	})
}

// TestWaitNotMultiplexed: a write waiting for replicas holds its own
// connection, not a multiplexed one: reads from other goroutines of the
// same Store are answered while it waits (on the embedded server WAIT
// answers at once; on Redis without replicas it takes its whole timeout).
func TestWaitNotMultiplexed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		const wait = 3 * time.Second
		ws := b.NewStore(t, rapyer.WithWait(1, wait))
		u := saved(t, ctx, users, b.Store)
		w, err := users.Get(ctx, ws, u.ID())
		must(t, err)
		var wg sync.WaitGroup
		var slow []time.Duration
		var mu sync.Mutex
		writing := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			close(writing)
			_, err := w.Age.Incr(ctx, 1)
			if !errors.Is(err, rapyer.ErrNotReplicated) {
				t.Errorf("Incr: %v, want ErrNotReplicated", err)
			}
		}()
		<-writing
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					start := time.Now()
					_, err := users.Get(ctx, ws, u.ID())
					if err != nil {
						t.Error(err)
						return
					}
					if d := time.Since(start); d > wait/2 {
						mu.Lock()
						slow = append(slow, d)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if len(slow) > 0 {
			t.Fatalf("%d reads waited behind the WAIT: %v", len(slow), slow)
		}
	})
}

// TestWaitReplica: with a replica that acknowledges, writes under
// WithWait(1, ...) succeed, and asking for more replicas than exist
// reports how many acknowledged. On Redis the test starts its own master
// and replica; on a cluster its own 3+3 cluster; the embedded server has
// no replica to start and answers WAIT with 0 at once (its documented
// behaviour: ErrNotReplicated without waiting the timeout).
func TestWaitReplica(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var st *rapyer.Store
		var err error
		switch b.Name {
		case "embedded":
			st = b.NewStore(t, rapyer.WithWait(1, 10*time.Second))
			u := users.New(st)
			fill(u)
			start := time.Now()
			wantErr(t, u.Save(ctx), rapyer.ErrNotReplicated, "0 of 1")
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the embedded server's WAIT took %v", d)
			}
			return
		case "redis":
			master := testkit.StartRedis(t)
			replica := testkit.StartReplica(t, master)
			st, err = rapyer.Open(ctx, master, rapyer.WithWait(1, 10*time.Second))
			must(t, err)
			defer st.Close()
			defer func() { t.Logf("replica %s", replica) }()
		case "cluster":
			lc := testkit.StartCluster(t, 3, 1)
			st, err = rapyer.OpenCluster(ctx, lc.Addrs[:3], rapyer.WithWait(1, 10*time.Second))
			must(t, err)
			defer st.Close()
		}
		objs := make([]*user, 24) // 12 shards over 3 masters on a cluster
		for i := range objs {
			objs[i] = users.New(st)
			fill(objs[i])
		}
		must(t, users.SaveMany(ctx, objs))
		must(t, objs[0].Save(ctx))
		_, err = objs[1].Age.Incr(ctx, 1)
		must(t, err)
		must(t, st.Tx(ctx, func(q context.Context) error { _, err := objs[2].Age.Incr(q, 1); return err }))
		l, err := objs[3].TryLock(ctx, "job")
		must(t, err)
		must(t, l.Unlock(ctx))
		err = objs[4].Save(ctx)
		must(t, err)
		// Two replicas asked, one there.
		err = st.Batch(ctx, func(q context.Context) error { return objs[5].Save(q) }, rapyer.WithWait(2, 100*time.Millisecond))
		wantErr(t, err, rapyer.ErrNotReplicated, "1 of 2")
		if b.Name == "cluster" && !strings.Contains(err.Error(), "node 127.0.0.1:") {
			t.Fatalf("a cluster's ErrNotReplicated does not name the node: %v", err)
		}
		got, err := users.ExistsMany(ctx, st, ids(objs))
		must(t, err)
		for i, ok := range got {
			if !ok {
				t.Fatalf("object %d missing", i)
			}
		}
	})
}

// errKind sorts a write's outcome for the failover tests' summaries.
func errKind(err error) string {
	switch {
	case err == nil:
		return "acknowledged"
	case errors.Is(err, rapyer.ErrNotReplicated):
		return "not replicated"
	case errors.Is(err, rapyer.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return fmt.Sprintf("other (%.40s)", msg)
}
