package rapyer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// Claims of unique values in a Batch or Tx (claim_queue.go): on a cluster
// the queue's values are claimed before the queue is sent and settled
// after; on one server each write's script checks the value, as alone.

// peopleChecked is people with WithVersionCheck: its Save after another
// operation of the same object in a queue runs guarded (WATCH).
var peopleChecked = rapyer.Define("personck", personFields, rapyer.WithVersionCheck())

// claimOf is what the claim key of stored text v of model's unique field
// holds ("" none).
func claimOf(t *testing.T, b *testkit.Backend, model, field, v string) string {
	t.Helper()
	key, sk := rapyer.ClaimKeyOf(b.Store, model, field, v)
	rec, err := redis.String(b.Do(t, "HGET", key, sk))
	if err == redis.ErrNil {
		return ""
	}
	must(t, err)
	return rec
}

// wantClaim checks the claim of email v of model: on a cluster confirmed
// and held by id (id "": no claim at all), on one server no claim.
func wantClaim(t *testing.T, b *testkit.Backend, model, v, id string) {
	t.Helper()
	rec := claimOf(t, b, model, "email", v)
	switch {
	case b.Name != "cluster" || id == "":
		if rec != "" {
			t.Fatalf("claim of %s: %q, want none", v, rec)
		}
	case !strings.HasPrefix(rec, "c") || !strings.HasSuffix(rec, ":"+id):
		t.Fatalf("claim of %s: %q, want confirmed for %s", v, rec, id)
	}
}

// personBeside is newPerson in near's shard (a Tx may hold both on a
// cluster).
func personBeside(s *rapyer.Schema[person, *person], near *person, name, email string, age int64) *person {
	return fillPerson(s.NewBeside(near), name, email, age)
}

// personAway is newPerson on st in another shard than far's, when the
// model has several (ids are random: one in ShardsOf shares far's).
func personAway(s *rapyer.Schema[person, *person], st *rapyer.Store, far *person, name, email string, age int64) *person {
	p := newPerson(s, st, name, email, age)
	for rapyer.ShardsOf(st, s.Name()) > 1 && rapyer.ShardOfID(st, s.Name(), p.ID()) == rapyer.ShardOfID(st, s.Name(), far.ID()) {
		p = newPerson(s, st, name, email, age)
	}
	return p
}

func exists(t *testing.T, ctx context.Context, p *person) bool {
	t.Helper()
	ok, err := p.Exists(ctx)
	must(t, err)
	return ok
}

// batchErr returns err's *BatchError, failing when it has not exactly
// the failed operations at want.
func batchErr(t *testing.T, err error, want ...int) *rapyer.BatchError {
	t.Helper()
	var be *rapyer.BatchError
	if !errors.As(err, &be) || len(be.Failed) != len(want) {
		t.Fatalf("error %v, want a BatchError failing %v", err, want)
	}
	for i, f := range be.Failed {
		if f.Index != want[i] {
			t.Fatalf("failed operation #%d, want #%d (%v)", f.Index, want[i], err)
		}
	}
	return be
}

// TestUniqueClaimBatch: writes of unique values queued in a Batch. On a
// cluster the queue's values are claimed in one request before the queue
// and confirmed in one after (3 round trips; one on one server); a value
// taken fails its operation with the error the write returns alone (4
// round trips on a cluster: the owner's read too) while the others run;
// two objects of the queue claiming one value: the first wins; one object
// writing a value twice claims it once.
func TestUniqueClaimBatch(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.Store
		h := newPerson(people, st, "H", "held@q", 1)
		must(t, h.Save(ctx))
		p := newPerson(people, st, "P", "p@q", 2)
		u := newPerson(people, st, "U", "u@q", 3)
		must(t, u.Save(ctx))
		var n *rapyer.Result[int64]
		trips, cmds := b.Count(func() {
			must(t, st.Batch(ctx, func(q context.Context) error {
				if err := p.Save(q); err != nil {
					return err
				}
				u.Email.Set("u2@q")
				if err := u.Update(q, &u.Email); err != nil {
					return err
				}
				n = rapyer.Later(q, func(q context.Context) (int64, error) { return u.Age.Incr(q, 1) })
				return nil
			}))
		})
		if trips != onCluster(b, 1, 3) {
			t.Fatalf("Batch of free values: %d round trips %v", trips, cmds)
		}
		if v, err := n.Get(); err != nil || v != 4 {
			t.Fatalf("queued Incr: %d %v", v, err)
		}
		if e, _ := b.HGet(t, u.Key(), "email"); e != "u2@q" || !exists(t, ctx, p) {
			t.Fatalf("after the Batch: u's email %q, p exists %v", e, exists(t, ctx, p))
		}
		wantClaim(t, b, "person", "p@q", p.ID())
		wantClaim(t, b, "person", "u2@q", u.ID())

		// A value taken: that Save fails as it does alone; the other runs.
		x := newPerson(people, st, "X", "held@q", 4)
		y := newPerson(people, st, "Y", "y@q", 5)
		var berr error
		trips, cmds = b.Count(func() {
			berr = st.Batch(ctx, func(q context.Context) error {
				must(t, y.Save(q))
				must(t, x.Save(q))
				return nil
			})
		})
		if trips != onCluster(b, 1, 4) {
			t.Fatalf("Batch with a taken value: %d round trips %v", trips, cmds)
		}
		be := batchErr(t, berr, 1)
		wantErr(t, be.Failed[0].Err, rapyer.ErrExists, "email", "held@q")
		alone := x.Save(ctx)
		if alone == nil || alone.Error() != be.Failed[0].Err.Error() {
			t.Fatalf("queued Save's error %q, alone %v", be.Failed[0].Err, alone)
		}
		if exists(t, ctx, x) || !exists(t, ctx, y) {
			t.Fatalf("x exists %v, y exists %v", exists(t, ctx, x), exists(t, ctx, y))
		}
		wantClaim(t, b, "person", "y@q", y.ID())
		wantClaim(t, b, "person", "held@q", h.ID())

		// Two objects of one queue, one value: the first written wins.
		a := newPerson(people, st, "A", "twice@q", 6)
		c := newPerson(people, st, "C", "twice@q", 7)
		berr = st.Batch(ctx, func(q context.Context) error {
			must(t, a.Save(q))
			must(t, c.Save(q))
			return nil
		})
		wantErr(t, batchErr(t, berr, 1).Failed[0].Err, rapyer.ErrExists, "email", "twice@q")
		if !exists(t, ctx, a) || exists(t, ctx, c) {
			t.Fatal("two objects of one Batch with one unique value: want the first alone")
		}
		wantClaim(t, b, "person", "twice@q", a.ID())

		// One object writing one value twice: one claim, confirmed.
		d := newPerson(people, st, "D", "d@q", 8)
		trips, cmds = b.Count(func() {
			must(t, st.Batch(ctx, func(q context.Context) error {
				must(t, d.Save(q))
				d.Age.Set(9)
				return d.Save(q)
			}))
		})
		if trips != onCluster(b, 1, 3) {
			t.Fatalf("Batch of one value twice: %d round trips %v", trips, cmds)
		}
		wantClaim(t, b, "person", "d@q", d.ID())
		// SetIfAbsent and CompareAndSwap queued claim their values too.
		var swapped *rapyer.Result[bool]
		berr = st.Batch(ctx, func(q context.Context) error {
			swapped = rapyer.Later(q, func(q context.Context) (bool, error) { return d.Email.CompareAndSwap(q, "d@q", "held@q") })
			return nil
		})
		batchErr(t, berr, 0)
		if ok, err := swapped.Get(); ok || !errors.Is(err, rapyer.ErrExists) {
			t.Fatalf("queued CompareAndSwap to a taken value: %v %v", ok, err)
		}
		must(t, st.Batch(ctx, func(q context.Context) error {
			swapped = rapyer.Later(q, func(q context.Context) (bool, error) { return d.Email.CompareAndSwap(q, "d@q", "d2@q") })
			return nil
		}))
		if ok, err := swapped.Get(); !ok || err != nil {
			t.Fatalf("queued CompareAndSwap to a free value: %v %v", ok, err)
		}
		wantClaim(t, b, "person", "d2@q", d.ID())
	})
}

// TestUniqueClaimTx: writes of unique values queued in a Tx (objects of
// one shard). On a cluster the claims come first: a value taken refuses
// the whole Tx with that error and nothing is sent (its other claims
// released); on one server the Tx runs and the write of the taken value
// fails inside it (the others ran). An operation refused inside EXEC
// releases its claims, the others' are confirmed; a guarded Tx refused
// (ErrConflict, nothing run) releases all of them.
func TestUniqueClaimTx(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.Store
		cluster := b.Name == "cluster"
		a := newPerson(people, st, "A", "ta@t", 1)
		c := personBeside(people, a, "C", "tc@t", 2)
		trips, cmds := b.Count(func() {
			must(t, st.Tx(ctx, func(q context.Context) error {
				must(t, a.Save(q))
				return c.Save(q)
			}))
		})
		if trips != onCluster(b, 1, 3) {
			t.Fatalf("Tx of free values: %d round trips %v", trips, cmds)
		}
		wantClaim(t, b, "person", "ta@t", a.ID())
		wantClaim(t, b, "person", "tc@t", c.ID())

		// A value taken.
		h := newPerson(people, st, "H", "held@t", 3)
		must(t, h.Save(ctx))
		e := personBeside(people, a, "E", "te@t", 4)
		x := personBeside(people, a, "X", "held@t", 5)
		var n *rapyer.Result[int64]
		var terr error
		trips, cmds = b.Count(func() {
			terr = st.Tx(ctx, func(q context.Context) error {
				must(t, e.Save(q))
				n = rapyer.Later(q, func(q context.Context) (int64, error) { return a.Age.Incr(q, 1) })
				return x.Save(q)
			})
		})
		wantErr(t, terr, rapyer.ErrExists, "email", "held@t")
		age, _ := b.HGet(t, a.Key(), "age")
		if cluster {
			// claim, the owner's read, the release: nothing sent.
			if trips != 3 || exists(t, ctx, e) || age != "1" {
				t.Fatalf("refused Tx: %d round trips %v, e exists %v, a's age %s", trips, cmds, exists(t, ctx, e), age)
			}
			var be *rapyer.BatchError
			if errors.As(terr, &be) {
				t.Fatalf("refused Tx: %v, want the claim's error alone", terr)
			}
			if _, err := n.Get(); !errors.Is(err, rapyer.ErrExists) {
				t.Fatalf("Later of a refused Tx: %v", err)
			}
			wantClaim(t, b, "person", "te@t", "")
		} else {
			batchErr(t, terr, 2)
			if trips != 1 || !exists(t, ctx, e) || age != "2" {
				t.Fatalf("Tx: %d round trips, e exists %v, a's age %s", trips, exists(t, ctx, e), age)
			}
		}
		wantClaim(t, b, "person", "held@t", h.ID())

		// Refused inside EXEC (an Insert over an existing id): its claim
		// released, the other's confirmed.
		f := personBeside(people, a, "F", "tf@t", 6)
		g, err := people.NewWithID(st, a.ID())
		must(t, err)
		g.Email.Set("tg@t")
		trips, cmds = b.Count(func() {
			terr = st.Tx(ctx, func(q context.Context) error {
				must(t, f.Save(q))
				return g.Insert(q)
			})
		})
		wantErr(t, batchErr(t, terr, 1).Failed[0].Err, rapyer.ErrExists)
		if trips != onCluster(b, 1, 3) || !exists(t, ctx, f) {
			t.Fatalf("Tx with a refused Insert: %d round trips %v", trips, cmds)
		}
		wantClaim(t, b, "person", "tf@t", f.ID())
		wantClaim(t, b, "person", "tg@t", "")

		// Objects of two shards in one Tx: on a cluster refused before any
		// claim (no round trip), then the same queue as a Batch.
		m1 := newPerson(people, st, "M1", "m1@t", 9)
		m2 := personAway(people, st, m1, "M2", "m2@t", 10)
		trips, cmds, terr = b.TxAcross(t, ctx, func(q context.Context) error {
			must(t, m1.Save(q))
			return m2.Save(q)
		}, nil, m1.Key(), m2.Key())
		must(t, terr)
		if trips != onCluster(b, 1, 3) {
			t.Fatalf("Tx across shards, then Batch: %d round trips %v", trips, cmds)
		}
		wantClaim(t, b, "person", "m1@t", m1.ID())
		wantClaim(t, b, "person", "m2@t", m2.ID())

		// A guarded Tx refused: nothing ran, every claim released.
		k := newPerson(peopleChecked, st, "K", "k@t", 7)
		must(t, k.Save(ctx))
		other, err := peopleChecked.Get(ctx, st, k.ID())
		must(t, err)
		_, err = other.Age.Incr(ctx, 1) // k's version is behind now
		must(t, err)
		// k's field operation then its Save in one Tx: guarded (WATCH).
		guarded := func(email string) error {
			return st.Tx(ctx, func(q context.Context) error {
				if _, err := k.Age.Incr(q, 1); err != nil {
					return err
				}
				k.Email.Set(email)
				return k.Save(q)
			})
		}
		trips, cmds = b.Count(func() { terr = guarded("kg@t") })
		wantErr(t, terr, rapyer.ErrConflict)
		// On a cluster the claim first and the release last; on every
		// backend the WATCH with the versions (refused: nothing more sent)
		// and the UNWATCH of the connection going back to its pool.
		if trips != onCluster(b, 2, 4) {
			t.Fatalf("refused guarded Tx: %d round trips %v", trips, cmds)
		}
		if v, _ := b.HGet(t, k.Key(), "email"); v != "k@t" {
			t.Fatalf("email after a refused guarded Tx: %q", v)
		}
		if rec := claimOf(t, b, "personck", "email", "kg@t"); rec != "" {
			t.Fatalf("a refused guarded Tx left the claim %q", rec)
		}
		must(t, newPerson(peopleChecked, st, "L", "kg@t", 8).Save(ctx))
		// A guarded Tx that runs: claim, WATCH, EXEC, confirm.
		k, err = peopleChecked.Get(ctx, st, k.ID())
		must(t, err)
		trips, cmds = b.Count(func() { must(t, guarded("kh@t")) })
		if trips != onCluster(b, 2, 4) {
			t.Fatalf("guarded Tx: %d round trips %v", trips, cmds)
		}
		if rec := claimOf(t, b, "personck", "email", "kh@t"); cluster && !strings.HasPrefix(rec, "c") || !cluster && rec != "" {
			t.Fatalf("claim after a guarded Tx: %q", rec)
		}
	})
}

// TestUniqueClaimBulkQueued: SaveMany and InsertMany queued in a Batch.
// SaveMany's objects are each on their own (a value taken refuses its
// object, the others are saved); InsertMany is all or nothing for its
// values (a value taken refuses every object, nothing written, its other
// claims released), on every backend.
func TestUniqueClaimBulkQueued(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		h := newPerson(people, b.Store, "H", "held@b", 1)
		must(t, h.Save(ctx))
		s1, s2 := newPerson(people, b.Store, "S1", "s1@b", 2), newPerson(people, b.Store, "S2", "held@b", 3)
		i1, i2 := newPerson(people, b.Store, "I1", "i1@b", 4), newPerson(people, b.Store, "I2", "held@b", 5)
		var saveErr, insertErr *rapyer.Result[struct{}]
		berr := b.Store.Batch(ctx, func(q context.Context) error {
			saveErr = rapyer.Later(q, func(q context.Context) (struct{}, error) {
				return struct{}{}, people.SaveMany(q, []*person{s1, s2})
			})
			insertErr = rapyer.Later(q, func(q context.Context) (struct{}, error) {
				return struct{}{}, people.InsertMany(q, []*person{i1, i2})
			})
			return nil
		})
		batchErr(t, berr, 0, 1)
		_, err := saveErr.Get()
		wantErr(t, err, rapyer.ErrExists, "email", "held@b", s2.ID())
		_, err = insertErr.Get()
		wantErr(t, err, rapyer.ErrExists, "email", "held@b", "nothing was written")
		if !exists(t, ctx, s1) || exists(t, ctx, s2) || exists(t, ctx, i1) || exists(t, ctx, i2) {
			t.Fatal("queued SaveMany: want s1 alone saved; queued InsertMany: want nothing")
		}
		wantClaim(t, b, "person", "s1@b", s1.ID())
		wantClaim(t, b, "person", "i1@b", "")
		wantClaim(t, b, "person", "held@b", h.ID())

		// Free values: everything written and claimed.
		i2.Email.Set("i2@b")
		must(t, b.Store.Batch(ctx, func(q context.Context) error { return people.InsertMany(q, []*person{i1, i2}) }))
		wantClaim(t, b, "person", "i1@b", i1.ID())
		wantClaim(t, b, "person", "i2@b", i2.ID())
	})
}
