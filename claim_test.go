package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// Unique values of a model over several shards: on a cluster each write
// claims them first (claim.go); on one server the write's own script checks
// every shard and no claim key exists. people has 1 shard on one server and
// 12 on a cluster.

// claimRecord is what the claim key of email v of model holds ("" none).
func claimRecord(t *testing.T, b *testkit.Backend, model, v string) string {
	t.Helper()
	key, sk := rapyer.ClaimKeyOf(b.Store, model, "email", v)
	rec, err := redis.String(b.Do(t, "HGET", key, sk))
	if err == redis.ErrNil {
		return ""
	}
	must(t, err)
	return rec
}

// plantClaim writes a claim record of v for id, in state p or c, made age
// ago by the claim node's clock, as a writer that stopped after claiming
// (or a stale claim) leaves it.
func plantClaim(t *testing.T, b *testkit.Backend, model, v, state, id string, age time.Duration) {
	t.Helper()
	key, sk := rapyer.ClaimKeyOf(b.Store, model, "email", v)
	now, err := redis.Int64s(b.Do(t, "TIME"))
	must(t, err)
	ms := now[0]*1000 + now[1]/1000 - age.Milliseconds()
	_, err = b.Do(t, "HSET", key, sk, fmt.Sprintf("%s%d.t:%s", state, ms, id))
	must(t, err)
}

// TestUniqueClaimRace: many goroutines write one unique value at once,
// each on its own object: exactly one wins, the others get ErrExists, and
// one object holds the value. On a cluster the claim decides; on one
// server the script.
func TestUniqueClaimRace(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		const writers = 16
		for round := range 4 {
			v := fmt.Sprintf("race%d@x", round)
			var wins, lost int
			var mu sync.Mutex
			var wg sync.WaitGroup
			ps := make([]*person, writers)
			for g := range ps {
				ps[g] = newPerson(people, b.Store, "R", v, int64(g))
			}
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if g%2 == 0 {
						err = ps[g].Insert(ctx)
					} else {
						err = ps[g].Save(ctx)
					}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, rapyer.ErrExists) && strings.Contains(err.Error(), "email"):
						lost++
					default:
						t.Errorf("writer %d: %v", g, err)
					}
				}()
			}
			wg.Wait()
			if wins != 1 || lost != writers-1 {
				t.Fatalf("round %d: %d won, %d refused, want 1 and %d", round, wins, lost, writers-1)
			}
			got, err := people.Find(ctx, b.Store, people.Fields().Email.Eq(v))
			must(t, err)
			if len(got) != 1 {
				t.Fatalf("round %d: %d objects hold %s", round, len(got), v)
			}
			rec := claimRecord(t, b, "person", v)
			if b.Name == "cluster" && !strings.HasSuffix(rec, ":"+got[0].ID()) || b.Name != "cluster" && rec != "" {
				t.Fatalf("round %d: claim %q, held by %s", round, rec, got[0].ID())
			}
		}
	})
}

// TestUniqueClaimFreed: a value freed by a change, a delete, an expiry or
// a refused write is claimable again at once; on a cluster the holder's
// claim is confirmed, on one server there is none.
func TestUniqueClaimFreed(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := newPerson(people, b.Store, "A", "f@x", 1)
		must(t, a.Save(ctx))
		if rec := claimRecord(t, b, "person", "f@x"); b.Name == "cluster" && !(strings.HasPrefix(rec, "c") && strings.HasSuffix(rec, ":"+a.ID())) || b.Name != "cluster" && rec != "" {
			t.Fatalf("claim of a saved value: %q", rec)
		}
		other := newPerson(people, b.Store, "B", "f@x", 2)
		wantErr(t, other.Save(ctx), rapyer.ErrExists, "email", "f@x")

		// Changed: free.
		a.Email.Set("g@x")
		must(t, a.Update(ctx, &a.Email))
		must(t, other.Save(ctx))
		// Deleted: free.
		_, err := other.Delete(ctx)
		must(t, err)
		third := newPerson(people, b.Store, "C", "f@x", 3)
		must(t, third.Insert(ctx))

		// Expired: free.
		e := newPerson(peopleTTL, b.Store, "E", "exp@x", 4)
		must(t, e.Save(ctx))
		must(t, e.SetTTL(ctx, 50*time.Millisecond))
		b.Elapse(150 * time.Millisecond)
		must(t, newPerson(peopleTTL, b.Store, "F", "exp@x", 5).Insert(ctx))

		// A refused write leaves nothing held: an Insert over an existing
		// id claims and releases.
		again, err := people.NewWithID(b.Store, a.ID())
		must(t, err)
		again.Email.Set("refused@x")
		wantErr(t, again.Insert(ctx), rapyer.ErrExists)
		if rec := claimRecord(t, b, "person", "refused@x"); rec != "" {
			t.Fatalf("a refused Insert left the claim %q", rec)
		}
		must(t, newPerson(people, b.Store, "G", "refused@x", 6).Save(ctx))

		// SetIfAbsent and CompareAndSwap claim their value too.
		ok, err := third.Email.CompareAndSwap(ctx, "f@x", "g@x")
		wantErr(t, err, rapyer.ErrExists, "g@x")
		if ok {
			t.Fatal("CompareAndSwap took a held value")
		}
		ok, err = third.Email.CompareAndSwap(ctx, "f@x", "h@x")
		must(t, err)
		if !ok {
			t.Fatal("CompareAndSwap to a free value failed")
		}
		must(t, newPerson(people, b.Store, "H", "f@x", 7).Save(ctx))

		// Modify and a Save under a lock (WithSave) claim as Save does.
		err = third.Modify(ctx, func() error { third.Email.Set("f@x"); return nil })
		wantErr(t, err, rapyer.ErrExists, "f@x")
		must(t, third.Modify(ctx, func() error { third.Email.Set("m@x"); return nil }))
		err = third.WithLock(ctx, "l", func(context.Context) error { third.Email.Set("f@x"); return nil }, rapyer.WithSave())
		wantErr(t, err, rapyer.ErrExists, "f@x")
		must(t, third.WithLock(ctx, "l", func(context.Context) error { third.Email.Set("w@x"); return nil }, rapyer.WithSave()))
		if v, _ := b.HGet(t, third.Key(), "email"); v != "w@x" {
			t.Fatalf("email after Modify and a locked Save: %q", v)
		}
		if rec := claimRecord(t, b, "person", "w@x"); b.Name == "cluster" && !strings.HasSuffix(rec, ":"+third.ID()) {
			t.Fatalf("claim after a locked Save: %q", rec)
		}
	})
}

// TestUniqueClaimLease: a claim pending for a write under way (a record
// younger than the lease whose owner does not hold the value) refuses
// others; once older than the lease, or confirmed, it is taken over. On one
// server no claim is read: a record planted in a claim key changes
// nothing.
func TestUniqueClaimLease(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.NewStore(t, rapyer.WithClaimLease(300*time.Millisecond))
		ghost := people.New(st).ID() // never written
		cluster := b.Name == "cluster"

		plantClaim(t, b, "person", "young@x", "p", ghost, 0)
		p := newPerson(people, st, "Y", "young@x", 1)
		err := p.Save(ctx)
		if cluster {
			wantErr(t, err, rapyer.ErrExists, "young@x", ghost, "under way")
			time.Sleep(400 * time.Millisecond) // past the lease
			err = p.Save(ctx)
		}
		must(t, err)
		if rec := claimRecord(t, b, "person", "young@x"); cluster && !strings.HasSuffix(rec, ":"+p.ID()) || !cluster && !strings.HasSuffix(rec, ":"+ghost) {
			t.Fatalf("claim after the lease: %q", rec)
		}

		// Older than the lease, or confirmed: taken over at once.
		plantClaim(t, b, "person", "old@x", "p", ghost, time.Hour)
		must(t, newPerson(people, st, "O", "old@x", 2).Save(ctx))
		plantClaim(t, b, "person", "done@x", "c", ghost, 0)
		must(t, newPerson(people, st, "D", "done@x", 3).Save(ctx))

		// A claim whose owner holds the value is never taken over, however
		// old.
		h := newPerson(people, st, "H", "held@x", 4)
		must(t, h.Save(ctx))
		plantClaim(t, b, "person", "held@x", "p", h.ID(), time.Hour)
		err = newPerson(people, st, "I", "held@x", 5).Save(ctx)
		wantErr(t, err, rapyer.ErrExists, "held@x")
	})
}

// TestUniqueClaimSweep: Sweep drops the stale claims (confirmed, or pending
// past the lease, whose owner does not hold the value) and keeps the
// others. On one server there are no claims to sweep: a planted key is
// left as it is.
func TestUniqueClaimSweep(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ghost := people.New(b.Store).ID()
		live := newPerson(people, b.Store, "L", "live@x", 1)
		must(t, live.Save(ctx))
		gone := newPerson(people, b.Store, "G", "gone@x", 2)
		must(t, gone.Save(ctx))
		_, err := b.Do(t, "DEL", gone.Keys()[0]) // dead behind rapyer's back
		must(t, err)
		plantClaim(t, b, "person", "stale@x", "p", ghost, time.Hour)
		plantClaim(t, b, "person", "young@x", "p", ghost, 0)
		plantClaim(t, b, "person", "confirmed@x", "c", ghost, 0)
		dead, err := people.Sweep(ctx, b.Store)
		must(t, err)
		if dead != 1 {
			t.Fatalf("Sweep reclaimed %d objects, want 1", dead)
		}
		// Left: on a cluster the live holder's claim and the young pending
		// one; on one server the planted records, untouched.
		kept := onCluster(b, map[string]bool{"stale@x": true, "young@x": true, "confirmed@x": true},
			map[string]bool{"live@x": true, "young@x": true})
		for _, v := range []string{"live@x", "gone@x", "stale@x", "young@x", "confirmed@x"} {
			rec := claimRecord(t, b, "person", v)
			want := kept[v]
			if (rec != "") != want {
				t.Fatalf("after Sweep, claim of %s: %q, kept %v", v, rec, want)
			}
		}
	})
}

// TestUniqueClaimRoundTrips: what claims cost, reported by the hook and
// seen on the wire. On a cluster a write of a unique value is the claim,
// the write, the confirmation (3 round trips, one on one server); a
// taken value is the claim and the owner's read (2); a write of no unique
// field claims nothing.
func TestUniqueClaimRoundTrips(t *testing.T) {
	r := &recorder{}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.NewStore(t, rapyer.WithHook(r))
		p := newPerson(people, st, "P", "rt@x", 1)
		plantClaim(t, b, "person", "stale@x", "p", p.ID(), time.Hour) // p will be gone
		cases := []struct {
			name     string
			f        func() error
			trips    int
			commands []string
		}{
			{"Insert", func() error { return p.Insert(ctx) }, onCluster(b, 1, 3), onCluster(b, []string{"insert"}, []string{"claim", "insert"})},
			{"Save", func() error { return p.Save(ctx) }, onCluster(b, 1, 3), onCluster(b, []string{"save"}, []string{"claim", "save"})},
			{"Update", func() error { p.Age.Set(2); return p.Update(ctx, &p.Age) }, 1, []string{"update"}},
			{"Save", func() error { return newPerson(people, st, "Q", "rt@x", 3).Save(ctx) }, onCluster(b, 1, 2), onCluster(b, []string{"save"}, []string{"claim", "HGET"})},
			{"Delete", func() error { _, err := p.Delete(ctx); return err }, 1, []string{"delete"}},
			// A stale claim (pending past the lease, its owner gone) is
			// read, its owner checked, taken over, then the write and the
			// confirmation.
			{"Insert", func() error { return newPerson(people, st, "S", "stale@x", 4).Insert(ctx) }, onCluster(b, 1, 5), onCluster(b, []string{"insert"}, []string{"claim", "HGET", "insert"})},
		}
		for i, c := range cases {
			var err error
			op := observe(t, b, r, c.name, func() { err = c.f() })
			if i == 3 {
				wantErr(t, err, rapyer.ErrExists, "rt@x")
			} else {
				must(t, err)
			}
			if op.RoundTrips != c.trips || !slices.Equal(op.Commands, c.commands) {
				t.Fatalf("%s: %d round trips %v, want %d %v", c.name, op.RoundTrips, op.Commands, c.trips, c.commands)
			}
		}
	})
}
