package rapyer_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// peopleMany is a model of its own for TestSaveManyUniquePerObject.
var peopleMany = rapyer.Define("personsm", personFields)

// TestSaveManyPerObject: the objects of one shard are one script call
// (lua/savemany.lua), and each object still succeeds or fails on its own:
// one refused (a key of another type, a _v that is not an integer, a
// stale version) writes nothing of itself, and the others are saved.
func TestSaveManyPerObject(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		us := newUsersBeside(users, b.Store, 6)
		rt, cmds := b.Count(func() { must(t, users.SaveMany(ctx, us)) })
		if rt != 1 || len(cmds) != 1 {
			t.Fatalf("SaveMany of 6 objects of one shard: %d round trips %v, want one script", rt, cmds)
		}
		b.Do(t, "DEL", us[1].Key())
		b.Do(t, "SET", us[1].Key(), "x")
		b.Do(t, "HSET", us[3].Key(), "_v", "x")
		for _, u := range us {
			u.Age.Set(u.Age.Get() + 100)
		}
		rt, cmds = b.Count(func() {
			wantErr(t, users.SaveMany(ctx, us), rapyer.ErrWrongType, us[1].ID(), us[1].Key())
		})
		if rt != 1 || len(cmds) != 1 {
			t.Fatalf("SaveMany with refused objects: %d round trips %v, want one script", rt, cmds)
		}
		for _, i := range []int{0, 2, 4, 5} {
			got, err := users.Get(ctx, b.Store, us[i].ID())
			must(t, err)
			if got.Age.Get() != int64(i+100) || got.Version() != 2 || us[i].Version() != 2 {
				t.Fatalf("object %d: age %d, version %d (local %d)", i, got.Age.Get(), got.Version(), us[i].Version())
			}
			wantContainers(t, got)
		}
		if v, _ := redis.String(b.Do(t, "GET", us[1].Key())); v != "x" || us[1].Version() != 1 {
			t.Fatalf("refused object 1: key holds %q, version %d", v, us[1].Version())
		}
		if age, _ := b.HGet(t, us[3].Key(), "age"); age != "3" || us[3].Version() != 1 {
			t.Fatalf("refused object 3 (DECODE): age %q, version %d", age, us[3].Version())
		}
		// The error of the first refused object is returned; the second
		// alone names its own.
		err := users.SaveMany(ctx, []*user{us[0], us[3], us[5]})
		wantErr(t, err, rapyer.ErrDecode, us[3].ID(), "_v")

		// An object of more arguments than one unpack takes (a long list)
		// is copied whole to its own ARGV.
		long := make([]string, 9000)
		for i := range long {
			long[i] = strconv.Itoa(i)
		}
		us[4].Tags.SetLocal(long...)
		must(t, users.SaveMany(ctx, []*user{us[0], us[4], us[5]}))
		if n, _ := redis.Int(b.Do(t, "LLEN", us[4].Tags.Key())); n != 9000 || us[4].Version() != 3 || us[5].Version() != 4 {
			t.Fatalf("long list: %d items, versions %d %d", n, us[4].Version(), us[5].Version())
		}

		// A stale copy (WithVersionCheck) is refused alone.
		cs := newUsersBeside(usersChecked, b.Store, 4)
		must(t, usersChecked.SaveMany(ctx, cs))
		other, err := usersChecked.Get(ctx, b.Store, cs[2].ID())
		must(t, err)
		other.Name.Set("other")
		must(t, other.Save(ctx))
		for _, c := range cs {
			c.Name.Set("many")
		}
		wantErr(t, usersChecked.SaveMany(ctx, cs), rapyer.ErrConflict, cs[2].ID())
		for i, c := range cs {
			name, _ := b.HGet(t, c.Key(), "name")
			want, v := "many", int64(2)
			if i == 2 {
				want, v = "other", 1 // stored version 2 is other's
			}
			if name != want || c.Version() != v {
				t.Fatalf("checked object %d: name %q version %d, want %q %d", i, name, c.Version(), want, v)
			}
		}
	})
}

// TestSaveManyUniquePerObject: a unique value taken (by a stored object,
// or by an earlier object of the same call) refuses that object alone,
// naming it and the field; the others are saved and indexed. On a cluster
// the claims (claim.go) refuse it before the script, and the claims of
// refused objects are released, those of saved ones kept.
func TestSaveManyUniquePerObject(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := newPerson(peopleMany, b.Store, "A", "a@x", 40)
		must(t, a.Save(ctx))
		ps := []*person{newPerson(peopleMany, b.Store, "P0", "p0@x", 20)}
		for _, e := range []string{"a@x", "p2@x", "p2@x"} {
			p := peopleMany.NewBeside(ps[0])
			p.Name.Set("P")
			p.Email.Set(e)
			ps = append(ps, p)
		}
		err := peopleMany.SaveMany(ctx, ps)
		wantErr(t, err, rapyer.ErrExists, ps[1].ID(), "email", "a@x")
		want := []string{a.ID(), ps[0].ID(), ps[2].ID()} // email order
		if got := indexIDs(t, b, "personsm", "email"); !slices.Equal(got, want) {
			t.Fatalf("email index %v, want %v", got, want)
		}
		for i, p := range ps {
			ok, err := p.Exists(ctx)
			must(t, err)
			if ok != (i == 0 || i == 2) {
				t.Fatalf("object %d exists: %v", i, ok)
			}
		}
		// The refused ones go through with values of their own: nothing of
		// the failed call holds their values; the saved ones' values stay
		// taken.
		ps[1].Email.Set("p1@x")
		ps[3].Email.Set("p3@x")
		must(t, peopleMany.SaveMany(ctx, []*person{ps[1], ps[3]}))
		late := newPerson(peopleMany, b.Store, "L", "p0@x", 1)
		wantErr(t, peopleMany.SaveMany(ctx, []*person{late}), rapyer.ErrExists, late.ID(), "p0@x")
		want = []string{a.ID(), ps[0].ID(), ps[1].ID(), ps[2].ID(), ps[3].ID()}
		if got := indexIDs(t, b, "personsm", "email"); !slices.Equal(got, want) {
			t.Fatalf("email index %v, want %v", got, want)
		}
	})
}
