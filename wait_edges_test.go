package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// WithWait's edges: writes of unique values (whose claims carry WAIT on a
// cluster), maintenance walks, blocking pops, redirections. No backend of
// the shared suite has replicas: every WAIT there counts 0 of 1.

const shortWait = 20 * time.Millisecond

// TestWaitClaims: a write of a unique value under WithWait on a Store
// without replicas returns ErrNotReplicated with the write done (on a
// cluster its claim, confirmed, too): Save, a queued Save, SaveMany,
// InsertMany and a computed Append. On a cluster the claim's WAIT came
// short first; the write still went (it used to stop there, unwritten).
func TestWaitClaims(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ws := b.NewStore(t, rapyer.WithWait(1, shortWait))
		stored := func(p *person) string {
			t.Helper()
			v, _ := b.HGet(t, p.Key(), "email")
			return v
		}
		p := newPerson(people, ws, "P", "w1@w", 1)
		trips, _ := b.Count(func() { wantErr(t, p.Save(ctx), rapyer.ErrNotReplicated) })
		if stored(p) != "w1@w" || p.Version() != 1 || trips != onCluster(b, 1, 3) {
			t.Fatalf("Save not replicated: stored %q, version %d, %d round trips", stored(p), p.Version(), trips)
		}
		wantClaim(t, b, "person", "w1@w", p.ID())

		q := newPerson(people, ws, "Q", "w2@w", 2)
		err := ws.Batch(ctx, func(c context.Context) error { return q.Save(c) })
		wantErr(t, err, rapyer.ErrNotReplicated)
		var be *rapyer.BatchError
		if errors.As(err, &be) || stored(q) != "w2@w" {
			t.Fatalf("queued Save not replicated: %v, stored %q", err, stored(q))
		}
		wantClaim(t, b, "person", "w2@w", q.ID())

		r, s := newPerson(people, ws, "R", "w3@w", 3), newPerson(people, ws, "S", "w4@w", 4)
		wantErr(t, people.SaveMany(ctx, []*person{r}), rapyer.ErrNotReplicated)
		wantErr(t, people.InsertMany(ctx, []*person{s}), rapyer.ErrNotReplicated)
		if stored(r) != "w3@w" || stored(s) != "w4@w" {
			t.Fatalf("bulk writes not replicated: stored %q, %q", stored(r), stored(s))
		}
		wantClaim(t, b, "person", "w3@w", r.ID())
		wantClaim(t, b, "person", "w4@w", s.ID())

		var got string
		trips, _ = b.Count(func() { got, err = p.Email.Append(ctx, "x") })
		wantErr(t, err, rapyer.ErrNotReplicated, "email")
		if got != "w1@wx" || stored(p) != "w1@wx" || trips != onCluster(b, 1, 4) {
			t.Fatalf("Append not replicated: %q, stored %q, %d round trips", got, stored(p), trips)
		}
		wantClaim(t, b, "person", "w1@wx", p.ID())
	})
}

// TestWaitMaintenance: Sweep and Reindex under WithWait on a Store without
// replicas do all their work (every chunk; on a cluster the claims too)
// and then report ErrNotReplicated (they used to stop at the first chunk):
// the same counts and round trips as without WithWait on the same data.
func TestWaitMaintenance(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ws := b.NewStore(t, rapyer.WithWait(1, shortWait))
		stores := []*rapyer.Store{b.Store, ws}
		// wantRun checks run k's outcome: plain on b.Store, not replicated
		// on ws, want objects, the round trips of run 0.
		var trips [2]int
		wantRun := func(name string, k, n, want int, err error) {
			t.Helper()
			if k == 0 {
				must(t, err)
			} else {
				wantErr(t, err, rapyer.ErrNotReplicated, name)
			}
			if n != want || trips[k] != trips[0] {
				t.Fatalf("%s run %d: %d objects, %d round trips; want %d, %d", name, k, n, trips[k], want, trips[0])
			}
		}
		sweeps := rapyer.Define("waitsw", personFields, rapyer.Redefine())
		const dead = 40 // several per shard: several round trips
		for k, st := range stores {
			var gone []*person
			for i := range dead { // the same ids, so the same shards, each run
				p, err := sweeps.NewWithID(b.Store, fmt.Sprintf("d%02d", i))
				must(t, err)
				must(t, fillPerson(p, "D", fmt.Sprintf("d%d@w", i), int64(i)).Save(ctx))
				gone = append(gone, p)
			}
			for _, p := range gone {
				_, err := b.Do(t, "DEL", p.Key()) // dead behind rapyer's back
				must(t, err)
			}
			var n int
			var err error
			trips[k], _ = b.Count(func() { n, err = sweeps.Sweep(ctx, st, rapyer.ChunkSize(1)) })
			wantRun("Sweep", k, n, dead, err)
			for _, p := range gone[:3] { // the dead's claims dropped
				if rec := claimOf(t, b, "waitsw", "email", p.Email.Get()); rec != "" {
					t.Fatalf("claim of a dead object after Sweep: %q", rec)
				}
			}
		}

		const name = "waitrx"
		plain := rapyer.Define(name, personFieldsBut("*"), rapyer.Redefine())
		full := rapyer.Define(name, personFields, rapyer.Redefine())
		for k, st := range stores {
			// No index entries, no claims: every object to reindex.
			for _, pattern := range []string{"{" + name + ":*}:x:*", "{" + name + ":u:*"} {
				keys, err := redis.Strings(b.Do(t, "KEYS", b.Prefix()+pattern))
				must(t, err)
				for _, key := range keys {
					_, err := b.Do(t, "DEL", key)
					must(t, err)
				}
			}
			for i := range 20 {
				p, err := plain.NewWithID(b.Store, fmt.Sprintf("r%02d", i))
				must(t, err)
				must(t, fillPerson(p, "R", fmt.Sprintf("r%d@w", i), int64(i)).Save(ctx))
			}
			var n int
			var err error
			trips[k], _ = b.Count(func() { n, err = full.Reindex(ctx, st, rapyer.ChunkSize(3)) })
			wantRun("Reindex", k, n, 20, err)
			found, err := full.Find(ctx, b.Store, full.Fields().Email.Eq("r19@w"))
			must(t, err)
			if len(found) != 1 {
				t.Fatalf("after Reindex: %d objects found by email", len(found))
			}
		}
	})
}

// TestWaitBlockingPop: a blocking pop whose first try pops an element, on
// a Store without replicas under WithWait: the element, ok true, and
// ErrNotReplicated (the pop happened; it used to come back ok false).
func TestWaitBlockingPop(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ws := b.NewStore(t, rapyer.WithWait(1, shortWait))
		u, err := users.Get(ctx, ws, saved(t, ctx, users, b.Store).ID())
		must(t, err)
		var v string
		var ok bool
		trips, cmds := b.Count(func() { v, ok, err = u.Tags.BPopFront(ctx, time.Second) })
		wantErr(t, err, rapyer.ErrNotReplicated, "tags")
		if !ok || v != "a" || trips != 1 || count(cmds, "WAIT") != 1 {
			t.Fatalf("BPopFront not replicated: %q %v, %d round trips %v", v, ok, trips, cmds)
		}
		m, ok, err := u.Board.BPopMin(ctx, time.Second)
		wantErr(t, err, rapyer.ErrNotReplicated, "board")
		if !ok || m.Value != "bob" {
			t.Fatalf("BPopMin not replicated: %v %v", m, ok)
		}
		tags, err := u.Tags.ReadAll(ctx)
		must(t, err)
		if fmt.Sprint(tags) != "[b c]" || fmt.Sprint(u.Tags.Local()) != "[b c]" {
			t.Fatalf("tags after the pop: stored %v, local %v", tags, u.Tags.Local())
		}
	})
}

// TestClusterWaitRedirect: on a 3+3 cluster this test starts, a write
// whose slot moved behind the Store's back (MOVED from the old owner, then
// the new one) under WithWait(1, ...): the old owner, whose replica is
// gone, counts 0 replicas, but nothing was written there; the new owner's
// replica acknowledges the write: no ErrNotReplicated (it used to report
// the old owner's count).
func TestClusterWaitRedirect(t *testing.T) {
	testkit.RunCluster(t, func(t *testing.T, _ *testkit.Backend) {
		lc := testkit.StartCluster(t, 3, 1)
		ctx := testkit.Ctx(t)
		st, err := rapyer.OpenCluster(ctx, lc.Addrs[:3], append(testkit.EnvOptions(), rapyer.WithWait(1, 2*time.Second))...)
		must(t, err)
		defer st.Close()
		u := users.New(st)
		fill(u)
		must(t, u.Save(ctx)) // acknowledged: every master has its replica
		src := lc.MasterOf(t, u.Key())
		lc.Kill(t, lc.ReplicaOf(t, src))
		// A write to src now counts 0 replicas.
		other := users.New(st)
		fill(other)
		for lc.MasterOf(t, other.Key()) != src {
			other = users.New(st)
			fill(other)
		}
		wantErr(t, other.Save(ctx), rapyer.ErrNotReplicated, src)

		from, to := lc.MigrateSlot(t, redisc.Slot(u.Key()), 0)
		if from != src {
			t.Fatalf("slot moved from %s, want %s", from, src)
		}
		start := time.Now()
		n, err := u.Age.Incr(ctx, 1) // to src (MOVED), then to
		if err != nil || n != 37 {
			t.Fatalf("Incr after the slot moved to %s: %d %v (after %v)", to, n, err, time.Since(start))
		}
		got, err := users.Get(ctx, st, u.ID())
		must(t, err)
		if got.Age.Get() != 37 {
			t.Fatalf("stored age %d", got.Age.Get())
		}
	})
}
