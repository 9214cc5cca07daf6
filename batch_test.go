package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// snapshot prints every local value of u, and its version.
func snapshot(u *user) string {
	lk := func(v any, ok bool) string { return fmt.Sprint(v, ok) }
	return fmt.Sprintln(
		lk(u.Name.Lookup()), lk(u.Age.Lookup()), lk(u.Score.Lookup()), lk(u.Active.Lookup()),
		lk(u.Seen.Lookup()), lk(u.Blob.Lookup()), lk(u.Meta.Lookup()),
		lk(u.Home.City.Lookup()), lk(u.Home.Zip.Lookup()), u.Home.Visits.Local(),
		u.Tags.Local(), u.Places.Local(), u.Prefs.Local(), u.Counts.Local(), u.Roles.Local(),
		u.Board.Local(), u.Version())
}

// notQueueable are the matrix operations a queue context refuses.
var notQueueable = map[string]bool{
	"Schema.GetMany": true, "Schema.DuplicateMany": true,
	"Model.Modify": true, "Schema.Modify": true,
	"Schema.GetOrCreate": true, "List.BPopFront": true, "List.BPop": true, "List.BMove": true,
	"SortedSet.BPopMin": true, "SortedSet.BPopMax": true,
}

// random are the matrix operations whose effect is random: their queued run
// is checked for errors only.
var random = map[string]bool{"Set.Pop": true, "Set.PopN": true, "Set.Random": true}

// TestBatchMatrix runs every operation of the TTL matrix queued, in a Tx and
// in a Batch, on one of two identical objects, and the operation alone on
// the other: the queued run sends nothing while queueing, then one round
// trip, and leaves the same local values and the same stored object.
func TestBatchMatrix(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, o := range matrix {
			for _, tx := range []bool{true, false} {
				name := o.name + "/batch"
				if tx {
					name = o.name + "/tx"
				}
				t.Run(name, func(t *testing.T) {
					alone, queued := saved(t, ctx, usersTTL, b.Store), saved(t, ctx, usersTTL, b.Store)
					var created []string
					var queueErr error
					run := b.Store.Batch
					if tx {
						run = b.Store.Tx
					}
					var during int
					rt, cmds := b.Count(func() {
						err := run(ctx, func(q context.Context) error {
							during, _ = b.Count(func() { created, queueErr = o.run(q, usersTTL, b.Store, queued) })
							return nil
						})
						must(t, err)
					})
					if notQueueable[o.name] {
						wantErr(t, queueErr, rapyer.ErrInvalid, "queued")
						return
					}
					must(t, queueErr)
					if during != 0 || rt != 1 {
						t.Fatalf("%d round trips while queueing, %d in all (%v)", during, rt, cmds)
					}
					wantCreated, err := o.run(ctx, usersTTL, b.Store, alone)
					must(t, err)
					if o.creates {
						if len(created) == 0 || len(wantCreated) == 0 {
							t.Fatal("no object created")
						}
						if n, _ := redis.Int(b.Do(t, "EXISTS", created[0])); n != 1 {
							t.Fatal("the queued operation did not create its object")
						}
						return
					}
					if random[o.name] {
						return
					}
					if got, want := snapshot(queued), snapshot(alone); got != want {
						t.Fatalf("local values after the queued run:\n%s\nafter the operation alone:\n%s", got, want)
					}
					g1, err := usersTTL.Get(ctx, b.Store, alone.ID())
					must(t, err)
					g2, err := usersTTL.Get(ctx, b.Store, queued.ID())
					must(t, err)
					if got, want := snapshot(g2), snapshot(g1); got != want {
						t.Fatalf("stored object after the queued run:\n%s\nafter the operation alone:\n%s", got, want)
					}
				})
			}
		}
	})
}

func TestTxServerRelativeAndLater(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersTTL, b.Store)
		v := savedBeside(t, ctx, usersTTL, u) // one Tx holds both: one slot on a cluster
		b.Do(t, "PEXPIRE", u.Key(), 100_000)
		var age *rapyer.Result[int64]
		var pop *rapyer.Result[rapyer.Pair[string, bool]]
		var got *user
		rt, _ := b.Count(func() {
			must(t, b.Store.Tx(ctx, func(q context.Context) error {
				// Another client changes the age after queueing: the queued
				// Incr adds to the server's value at EXEC.
				age = rapyer.Later(q, func(q context.Context) (int64, error) { return u.Age.Incr(q, 5) })
				b.Do(t, "HSET", u.Key(), "age", 100)
				pop = rapyer.Later2(q, func(q context.Context) (string, bool, error) { return u.Tags.Pop(q) })
				if _, err := v.Score.Incr(q, 1); err != nil {
					return err
				}
				v.Name.Clear() // absent: the Save sends HDEL
				if err := v.Save(q); err != nil {
					return err
				}
				var err error
				got, err = usersTTL.Get(q, b.Store, v.ID())
				return err
			}))
		})
		if rt != 1 {
			t.Fatalf("Tx: %d round trips", rt)
		}
		if n, err := age.Get(); err != nil || n != 105 || u.Age.Get() != 105 {
			t.Fatalf("queued Incr: %d %v, local %d", n, err, u.Age.Get())
		}
		if p, err := pop.Get(); err != nil || p != (rapyer.Pair[string, bool]{A: "c", B: true}) {
			t.Fatalf("queued Pop: %v %v", p, err)
		}
		if _, ok := b.HGet(t, v.Key(), "name"); ok {
			t.Fatal("absent field saved in a Tx was not removed")
		}
		// A queued Save encodes the local values when it is queued: it wrote
		// score 1.5 over the queued Incr's 2.5 (unlike the same calls made
		// one by one, where Incr's answer would be local before Save).
		if got.Name.Present() || got.Score.Get() != 1.5 || v.Score.Get() != 2.5 || got.Version() != v.Version() {
			t.Fatalf("Get queued after the Save: name present %v, score %v, version %d/%d", got.Name.Present(), got.Score.Get(), got.Version(), v.Version())
		}
		if p := b.PTTL(t, u.Key()); p < 3500_000 {
			t.Fatalf("the Tx did not re-arm the TTL: %d", p)
		}

		// Later outside a queue runs at once.
		r := rapyer.Later(ctx, func(ctx context.Context) (int64, error) { return u.Age.Incr(ctx, 1) })
		if n, err := r.Get(); err != nil || n != 106 {
			t.Fatalf("Later outside a queue: %d %v", n, err)
		}
		var early *rapyer.Result[int64]
		must(t, b.Store.Batch(ctx, func(q context.Context) error {
			early = rapyer.Later(q, func(q context.Context) (int64, error) { return u.Age.Incr(q, 1) })
			if _, err := early.Get(); !errors.Is(err, rapyer.ErrNotRun) {
				t.Fatalf("Result before the run: %v", err)
			}
			two := rapyer.Later(q, func(q context.Context) (int64, error) {
				_, _ = u.Age.Incr(q, 1)
				return u.Age.Incr(q, 1)
			})
			if _, err := two.Get(); !errors.Is(err, rapyer.ErrInvalid) {
				t.Fatalf("Later of two operations: %v", err)
			}
			return nil
		}))
		if n, _ := early.Get(); n != 107 {
			t.Fatalf("Batch Later %d", n)
		}
	})
}

func TestTxErrors(t *testing.T) {
	testkit.RunPrivate(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		gone := saved(t, ctx, users, b.Store)
		_, err := gone.Delete(ctx)
		must(t, err)

		// A failing operation is reported with its position and name; Redis
		// does not roll back the others.
		err = b.Store.Tx(ctx, func(q context.Context) error {
			_, _ = u.Age.Incr(q, 1)
			_, _ = gone.Age.Incr(q, 1)
			_, _ = u.Tags.Append(q, "z")
			return nil
		})
		var be *rapyer.BatchError
		if !errors.As(err, &be) || !be.Tx || be.Total != 3 || len(be.Failed) != 1 || be.Failed[0].Index != 1 || be.Failed[0].Op != "Int.Incr" {
			t.Fatalf("Tx error %v", err)
		}
		wantErr(t, err, rapyer.ErrNotFound, "#1 Int.Incr", gone.ID())
		if u.Age.Get() != 37 || len(u.Tags.Local()) != 4 {
			t.Fatal("the operations around the failed one did not run")
		}
		if n, _ := redis.Int(b.Do(t, "EXISTS", gone.Key())); n != 0 {
			t.Fatal("the failed operation created its object")
		}

		// An error before running discards everything: nothing is sent.
		boom := errors.New("boom")
		rt, _ := b.Count(func() {
			err = b.Store.Tx(ctx, func(q context.Context) error {
				_, _ = u.Age.Incr(q, 1)
				return boom
			})
		})
		if !errors.Is(err, boom) || rt != 0 {
			t.Fatalf("discarded Tx: %v, %d round trips", err, rt)
		}
		if n := hgetInt(t, b, u.Key(), "age"); n != 37 {
			t.Fatalf("discarded Tx wrote: age %d", n)
		}

		// What a queue context refuses.
		var leaked context.Context
		must(t, b.Store.Batch(ctx, func(q context.Context) error {
			leaked = q
			if _, err := u.Lock(q, "x"); !errors.Is(err, rapyer.ErrInvalid) {
				t.Fatalf("Lock with a queue context: %v", err)
			}
			if err := b.Store.Tx(q, func(context.Context) error { return nil }); err != nil {
				t.Fatalf("nested Tx: %v", err) // joins (nested_test.go)
			}
			if _, err := users.GetMany(q, b.Store, []string{u.ID()}); !errors.Is(err, rapyer.ErrInvalid) {
				t.Fatalf("GetMany with a queue context: %v", err)
			}
			return nil
		}))
		_, err = u.Age.Incr(leaked, 1)
		wantErr(t, err, rapyer.ErrInvalid, "after")
		wantErr(t, b.Store.Tx(ctx, nil), rapyer.ErrInvalid)

		other, err := embedded.Open(ctx)
		must(t, err)
		defer other.Close()
		foreign := users.New(other)
		err = b.Store.Tx(ctx, func(q context.Context) error { return foreign.Save(q) })
		wantErr(t, err, rapyer.ErrInvalid, "another Store")

		// Scripts lost between queueing and running: a Tx loads them before
		// MULTI (one round trip); a Batch sends the lost one again whole.
		for _, tx := range []bool{true, false} {
			run := b.Store.Batch
			if tx {
				run = b.Store.Tx
			}
			before := u.Age.Get()
			rt, _ := b.Count(func() {
				must(t, run(ctx, func(q context.Context) error {
					_, _ = u.Age.Incr(q, 1)
					_, _ = u.Score.Incr(q, 1)
					b.Do(t, "SCRIPT", "FLUSH")
					return nil
				}))
			})
			want := 1
			if !tx {
				want = 2
			}
			if rt != want || u.Age.Get() != before+1 {
				t.Fatalf("tx=%v after SCRIPT FLUSH: %d round trips, age %d", tx, rt, u.Age.Get())
			}
			if n := hgetInt(t, b, u.Key(), "age"); n != before+1 {
				t.Fatalf("tx=%v: stored age %d, want %d (applied twice?)", tx, n, before+1)
			}
		}
	})
}

func TestTxTenOpsThreeObjects(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u0 := saved(t, ctx, usersTTL, b.Store) // the others beside it: one slot on a cluster
		us := []*user{u0, savedBeside(t, ctx, usersTTL, u0), savedBeside(t, ctx, usersTTL, u0)}
		rt, _ := b.Count(func() {
			must(t, b.Store.Tx(ctx, func(q context.Context) error {
				for i := 0; i < 10; i++ {
					u := us[i%3]
					var err error
					switch i % 4 {
					case 0:
						_, err = u.Age.Incr(q, 1)
					case 1:
						_, err = u.Name.Append(q, "!")
					case 2:
						_, err = u.Tags.Append(q, "t")
					case 3:
						_, err = u.Counts.Incr(q, "logins", 2)
					}
					if err != nil {
						return err
					}
				}
				return nil
			}))
		})
		if rt != 1 {
			t.Fatalf("Tx of 10 operations on 3 objects: %d round trips", rt)
		}
		if us[0].Age.Get() != 37 || us[1].Age.Get() != 37 || us[1].Name.Get() != "Ada!" || us[0].Counts.Local()["logins"] != 5 {
			t.Fatalf("results: age %d/%d name %q", us[0].Age.Get(), us[1].Age.Get(), us[1].Name.Get())
		}
	})
}

func hgetInt(t *testing.T, b *testkit.Backend, key, field string) int64 {
	t.Helper()
	v, _ := b.HGet(t, key, field)
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// TestNewBeside: NewBeside gives an id in near's shard (here a model of 16
// shards on every backend), so one Tx holds both objects on a cluster too:
// one round trip. A nil near gives an unbound object.
func TestNewBeside(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersSharded, b.Store)
		head := strings.TrimSuffix(u.Key(), "o:"+u.ID())
		seen := map[string]bool{u.ID(): true}
		var near []*user
		for i := 0; i < 20; i++ {
			v := usersSharded.NewBeside(u)
			if !strings.HasPrefix(v.Key(), head) || seen[v.ID()] {
				t.Fatalf("NewBeside(%s) = %s: not in its shard, or an id seen before", u.Key(), v.Key())
			}
			seen[v.ID()] = true
			near = append(near, v)
		}
		fill(near[0])
		rt, _ := b.Count(func() {
			must(t, b.Store.Tx(ctx, func(q context.Context) error {
				if _, err := u.Age.Incr(q, 1); err != nil {
					return err
				}
				return near[0].Insert(q)
			}))
		})
		if rt != 1 || u.Age.Get() != 37 || near[0].Version() != 1 {
			t.Fatalf("Tx over an object and one beside it: %d round trips, age %d, version %d", rt, u.Age.Get(), near[0].Version())
		}
		if got, err := usersSharded.Get(ctx, b.Store, near[0].ID()); err != nil || got.Name.Get() != "Ada" {
			t.Fatalf("the object made beside: %v", err)
		}
		lone := usersSharded.NewBeside(nil)
		wantErr(t, lone.Save(ctx), rapyer.ErrUnbound)
	})
}
