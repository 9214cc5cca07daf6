package rapyer_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

func TestRefActsWithoutLoading(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersTTL, b.Store)
		var r *user
		rt, _ := b.Count(func() {
			var err error
			r, err = usersTTL.Ref(b.Store, u.ID())
			must(t, err)
		})
		if rt != 0 {
			t.Fatalf("Ref sent %d round trips, want 0", rt)
		}
		if r.Name.Present() || r.Age.Present() || len(r.Tags.Local()) != 0 {
			t.Fatalf("a Ref's local values are not absent: %q %v %v", r.Name.Get(), r.Age.Present(), r.Tags.Local())
		}
		// Field and container operations act on the stored object.
		rt, _ = b.Count(func() {
			n, err := r.Age.Incr(ctx, 4)
			must(t, err)
			if n != 40 {
				t.Fatalf("Incr on a Ref gave %d, want 40", n)
			}
		})
		if rt != 1 {
			t.Fatalf("Incr on a Ref: %d round trips, want 1", rt)
		}
		if _, err := r.Tags.Append(ctx, "d"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Roles.Add(ctx, "ops"); err != nil {
			t.Fatal(err)
		}
		b.Do(t, "PEXPIRE", u.Key(), 5000)
		if _, err := r.Name.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if r.Name.Get() != "Ada" {
			t.Fatalf("Load on a Ref: %q", r.Name.Get())
		}
		if p := b.PTTL(t, u.Key()); p < 59*60*1000 {
			t.Fatalf("a Ref's read left PTTL %d, want the model's TTL re-armed", p)
		}
		got, err := usersTTL.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Age.Get() != 40 || got.Name.Get() != "Ada" || len(got.Tags.Local()) != 4 || len(got.Roles.Local()) != 3 {
			t.Fatalf("stored after Ref ops: age %d name %q tags %v roles %v", got.Age.Get(), got.Name.Get(), got.Tags.Local(), got.Roles.Local())
		}
		// TTL and locks.
		d, err := r.TTL(ctx)
		must(t, err)
		if d <= 0 {
			t.Fatalf("TTL on a Ref: %v", d)
		}
		ran := false
		must(t, r.WithLock(ctx, "edit", func(ctx context.Context) error { ran = true; return nil }))
		if !ran {
			t.Fatal("WithLock on a Ref did not run its function")
		}
		// Update writes only what was set.
		r2, err := usersTTL.Ref(b.Store, u.ID())
		must(t, err)
		r2.Home.City.Set("Lyon")
		must(t, r2.Update(ctx, &r2.Home.City))
		got, err = usersTTL.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Home.City.Get() != "Lyon" || got.Name.Get() != "Ada" {
			t.Fatalf("Update through a Ref: city %q name %q", got.Home.City.Get(), got.Name.Get())
		}
		// Delete.
		existed, err := r.Delete(ctx)
		must(t, err)
		if !existed {
			t.Fatal("Delete on a Ref: did not exist")
		}
		_, err = r.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrNotFound)
		if ok, err := r.Exists(ctx); err != nil || ok {
			t.Fatalf("Exists after Delete: %v %v", ok, err)
		}
	})
}

func TestRefOfMissingObject(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		r, err := users.Ref(b.Store, "nobody")
		must(t, err)
		_, err = r.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrNotFound, "nobody")
		_, err = r.Tags.Append(ctx, "x")
		wantErr(t, err, rapyer.ErrNotFound)
		err = r.SetTTL(ctx, time.Minute)
		wantErr(t, err, rapyer.ErrNotFound)
		if n := len(keysOf(t, b)); n != 0 {
			t.Fatalf("operations on a missing Ref wrote %d keys", n)
		}
		_, err = users.Ref(b.Store, "")
		wantErr(t, err, rapyer.ErrInvalid)
		_, err = users.Ref(nil, "x")
		wantErr(t, err, rapyer.ErrInvalid)
	})
}

// keysOf lists the test's keys (under its prefix).
func keysOf(t *testing.T, b *testkit.Backend) []string {
	t.Helper()
	r, err := b.Do(t, "KEYS", b.Prefix()+"*")
	must(t, err)
	var out []string
	for _, k := range r.([]any) {
		out = append(out, string(k.([]byte)))
	}
	return out
}

func TestGetOrCreate(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var (
			u       *user
			created bool
			err     error
		)
		rt, _ := b.Count(func() {
			u, created, err = usersTTL.GetOrCreate(ctx, b.Store, "g1", func(u *user) { u.Name.Set("Ada"); u.Tags.SetLocal("x") })
		})
		must(t, err)
		if !created || u.Name.Get() != "Ada" || u.ID() != "g1" || u.Version() != 1 {
			t.Fatalf("first call: created %v name %q id %q version %d", created, u.Name.Get(), u.ID(), u.Version())
		}
		if rt != 2 {
			t.Fatalf("GetOrCreate of a missing object: %d round trips, want 2 (Get, Insert)", rt)
		}
		if p := b.PTTL(t, u.Key()); p <= 0 {
			t.Fatalf("created object has PTTL %d, want the model's TTL", p)
		}
		calls := 0
		rt, _ = b.Count(func() {
			u, created, err = usersTTL.GetOrCreate(ctx, b.Store, "g1", func(u *user) { calls++ })
		})
		must(t, err)
		if created || calls != 0 || u.Name.Get() != "Ada" || len(u.Tags.Local()) != 1 {
			t.Fatalf("second call: created %v, init ran %d times, name %q tags %v", created, calls, u.Name.Get(), u.Tags.Local())
		}
		if rt != 1 {
			t.Fatalf("GetOrCreate of an existing object: %d round trips, want 1", rt)
		}
		// nil init: defaults only.
		u, created, err = usersTTL.GetOrCreate(ctx, b.Store, "g2", nil)
		must(t, err)
		if !created || u.Name.Present() {
			t.Fatalf("nil init: created %v name present %v", created, u.Name.Present())
		}
		// Bad input.
		_, _, err = usersTTL.GetOrCreate(ctx, b.Store, "", nil)
		wantErr(t, err, rapyer.ErrInvalid)
		_, _, err = usersTTL.GetOrCreate(ctx, nil, "x", nil)
		wantErr(t, err, rapyer.ErrInvalid)
		err = b.Store.Batch(ctx, func(q context.Context) error {
			_, _, err := usersTTL.GetOrCreate(q, b.Store, "g3", nil)
			return err
		})
		wantErr(t, err, rapyer.ErrInvalid)
	})
}

func TestGetOrCreateUnique(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		_, created, err := people.GetOrCreate(ctx, b.Store, "p1", func(p *person) { p.Email.Set("a@x") })
		must(t, err)
		if !created {
			t.Fatal("not created")
		}
		_, created, err = people.GetOrCreate(ctx, b.Store, "p2", func(p *person) { p.Email.Set("a@x") })
		wantErr(t, err, rapyer.ErrExists, "email")
		if created {
			t.Fatal("created despite a taken unique value")
		}
		if ok, err := people.Exists(ctx, b.Store, "p2"); err != nil || ok {
			t.Fatalf("p2 exists after a refused create: %v %v", ok, err)
		}
		n, err := people.Count(ctx, b.Store, people.Fields().Email.Eq("a@x"))
		must(t, err)
		if n != 1 {
			t.Fatalf("%d objects hold the unique value, want 1", n)
		}
	})
}

func TestGetOrCreateConcurrent(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		const n = 16
		var creators atomic.Int32
		var wg sync.WaitGroup
		errs := make([]error, n)
		names := make([]string, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				u, created, err := usersTTL.GetOrCreate(ctx, b.Store, "race", func(u *user) { u.Name.Set(itoa(i)) })
				errs[i] = err
				if err == nil {
					names[i] = u.Name.Get()
					if created {
						creators.Add(1)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			must(t, err)
		}
		if c := creators.Load(); c != 1 {
			t.Fatalf("%d callers created the object, want exactly 1", c)
		}
		for i := range names {
			if names[i] != names[0] {
				t.Fatalf("callers saw different objects: %q and %q", names[0], names[i])
			}
		}
	})
}
