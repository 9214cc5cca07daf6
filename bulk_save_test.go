package rapyer_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

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

// flatLeans is flatAll's model with no index and a TTL: its Save writes the
// hash alone, which SaveMany sends in lua/savemany.lua's shape form.
var flatLeans = rapyer.Define("flatlean", func(f *flatAll) rapyer.Fields {
	return rapyer.Fields{f.Name.Named("name"), f.Age.Named("age"), f.Score.Named("score"), f.On.Named("on"),
		f.Seen.Named("seen"), f.Blob.Named("blob"), f.Meta.Named("meta"), rapyer.Nested("home", f.City.Named("city"))}
}, rapyer.WithTTL(time.Hour))

// setFlat gives f the i-th test values, CRLF and RESP-like text among them.
func setFlat(f *flatAll, i int) {
	f.Name.Set("n" + strconv.Itoa(i) + "\r\n$3\r\n")
	f.Age.Set(int64(i))
	f.Score.Set(float64(i) / 4)
	f.On.Set(i%2 == 0)
	f.Seen.Set(seen0.Add(time.Duration(i)))
	f.Blob.Set([]byte{0, '\r', '\n', byte(i)})
	f.Meta.Set(meta{Tags: []string{"t" + strconv.Itoa(i)}, Level: i})
	f.City.Set("c" + strconv.Itoa(i))
}

// TestSaveManyLean: SaveMany of a model whose Save writes its hash alone
// sends an object with every field present as its values alone (the
// call's shape form) and one with absent fields with its own names (the
// compact form), mixed in the same calls. Both save exactly what Save
// saves: the same hash, absent fields removed, versions, the TTL. A refused
// object (a string key, a `_v` that is not an integer) writes nothing of
// itself; a value that does not encode sends nothing.
func TestSaveManyLean(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		const n = 150 // three script calls (64 objects a call), one shard
		fs := make([]*flatAll, n)
		for i := range fs {
			if i == 0 {
				fs[i] = flatLeans.New(st)
			} else {
				fs[i] = flatLeans.NewBeside(fs[0])
			}
			setFlat(fs[i], i)
			if i%10 == 3 { // absent from the start
				fs[i].Meta.Clear()
			}
		}
		rt, cmds := b.Count(func() { must(t, flatLeans.SaveMany(ctx, fs)) })
		if rt != 1 || len(cmds) != 3 {
			t.Fatalf("SaveMany of %d objects of one shard: %d round trips %v, want 3 script calls in one", n, rt, cmds)
		}
		// The same values by Save: the same hash.
		for _, i := range []int{0, 3, 77, n - 1} {
			twin := flatLeans.New(st)
			setFlat(twin, i)
			if i%10 == 3 {
				twin.Meta.Clear()
			}
			must(t, twin.Save(ctx))
			got, want := hashOf(t, b, fs[i].Key()), hashOf(t, b, twin.Key())
			if !maps.Equal(got, want) || fs[i].Version() != 1 {
				t.Fatalf("object %d: SaveMany stored %v (version %d), Save %v", i, got, fs[i].Version(), want)
			}
			if b.PTTL(t, fs[i].Key()) <= 0 {
				t.Fatalf("object %d has no TTL", i)
			}
		}
		// Fields cleared (removed), values changed, two objects refused.
		b.Do(t, "DEL", fs[5].Key())
		b.Do(t, "SET", fs[5].Key(), "x")
		b.Do(t, "HSET", fs[70].Key(), "_v", "x")
		for i, f := range fs {
			f.Age.Set(int64(i) + 1000)
			if i%4 == 1 {
				f.City.Clear()
				f.Blob.Clear()
			}
		}
		rt, _ = b.Count(func() {
			wantErr(t, flatLeans.SaveMany(ctx, fs), rapyer.ErrWrongType, fs[5].ID(), fs[5].Key())
		})
		if rt != 1 {
			t.Fatalf("SaveMany with refused objects: %d round trips", rt)
		}
		var fids []string // the refused two read apart
		for i, f := range fs {
			if i != 5 && i != 70 {
				fids = append(fids, f.ID())
			}
		}
		got, err := flatLeans.GetMany(ctx, st, fids)
		must(t, err)
		at := map[string]*flatAll{}
		for _, g := range got {
			at[g.ID()] = g
		}
		for i, f := range fs {
			if i == 5 || i == 70 {
				continue
			}
			g := at[f.ID()]
			if g == nil || fmt.Sprint(flatValues(g)) != fmt.Sprint(flatValues(f)) || f.Version() != 2 {
				t.Fatalf("object %d: stored %v, want %v (version %d)", i, flatValues(g), flatValues(f), f.Version())
			}
			_, hasCity := b.HGet(t, f.Key(), "home.city")
			_, hasMeta := b.HGet(t, f.Key(), "meta")
			if hasCity != (i%4 != 1) || hasMeta != (i%10 != 3) {
				t.Fatalf("object %d: city stored %v, meta stored %v", i, hasCity, hasMeta)
			}
		}
		if v, _ := redis.String(b.Do(t, "GET", fs[5].Key())); v != "x" || fs[5].Version() != 1 {
			t.Fatalf("refused object 5: key holds %q, version %d", v, fs[5].Version())
		}
		if age, _ := b.HGet(t, fs[70].Key(), "age"); age != "70" || fs[70].Version() != 1 {
			t.Fatalf("refused object 70 (DECODE): age %q, version %d", age, fs[70].Version())
		}
		// A value that does not encode, in the last call: nothing is sent.
		fs[n-2].Score.Set(nan())
		rt, _ = b.Count(func() { err = flatLeans.SaveMany(ctx, fs) })
		wantErr(t, err, rapyer.ErrInvalid, "score", fs[n-2].ID())
		if age, _ := b.HGet(t, fs[0].Key(), "age"); rt != 0 || age != "1000" {
			t.Fatalf("encode error: %d round trips, object 0's age %q", rt, age)
		}
	})
}

// hashOf is the hash at key, field by field.
func hashOf(t *testing.T, b *testkit.Backend, key string) map[string]string {
	t.Helper()
	m, err := redis.StringMap(b.Do(t, "HGETALL", key))
	must(t, err)
	return m
}
