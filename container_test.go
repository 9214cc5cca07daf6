package rapyer_test

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// wantContainers checks that u holds what fill put in its containers.
func wantContainers(t *testing.T, u *user) {
	t.Helper()
	if got := u.Tags.Local(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("tags %v", got)
	}
	if got := u.Places.Local(); !reflect.DeepEqual(got, []place{{"Paris", 48.85}, {"Lima", -12.04}}) {
		t.Fatalf("places %v", got)
	}
	if got := u.Home.Visits.Local(); !reflect.DeepEqual(got, []string{"Rome", "Oslo"}) {
		t.Fatalf("home.visits %v", got)
	}
	if got := u.Prefs.Local(); !reflect.DeepEqual(got, map[string]string{"theme": "dark", "a.b[0] $x": "weird"}) {
		t.Fatalf("prefs %v", got)
	}
	if got := u.Counts.Local(); !reflect.DeepEqual(got, map[string]int64{"logins": 3}) {
		t.Fatalf("counts %v", got)
	}
	if got := u.Roles.Local(); !reflect.DeepEqual(got, map[string]struct{}{"admin": {}, "dev": {}}) {
		t.Fatalf("roles %v", got)
	}
	want := []types.Member[string]{{Value: "bob", Score: 2.5}, {Value: "ada", Score: 10}}
	if got := u.Board.Local(); !reflect.DeepEqual(got, want) {
		t.Fatalf("board %v", got)
	}
}

func TestContainersSaveGet(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := users.New(b.Store)
		fill(u)
		rt, cmds := b.Count(func() { must(t, u.Save(ctx)) })
		if rt != 1 {
			t.Fatalf("Save: %d round trips (%v)", rt, cmds)
		}
		var got *user
		rt, cmds = b.Count(func() {
			var err error
			got, err = users.Get(ctx, b.Store, u.ID())
			must(t, err)
		})
		if rt != 1 || cmds[0] != "MULTI" {
			t.Fatalf("Get: %d round trips (%v), want one MULTI/EXEC", rt, cmds)
		}
		wantContainers(t, got)

		// Each container is a native key of its type beside the hash, under
		// the same hash tag.
		keys := u.Keys()
		if len(keys) != 8 || keys[0] != u.Key() {
			t.Fatalf("keys %v", keys)
		}
		tag := u.Key()[:strings.Index(u.Key(), "}")+1]
		wantType := map[string]string{
			u.Tags.Key(): "list", u.Places.Key(): "list", u.Home.Visits.Key(): "list",
			u.Prefs.Key(): "hash", u.Counts.Key(): "hash", u.Roles.Key(): "set", u.Board.Key(): "zset",
		}
		for k, typ := range wantType {
			if !strings.HasPrefix(k, tag) {
				t.Fatalf("key %q is not under the object's tag %q", k, tag)
			}
			if got, _ := redis.String(b.Do(t, "TYPE", k)); got != typ {
				t.Fatalf("%s is a %s, want %s", k, got, typ)
			}
		}
		if !strings.Contains(u.Home.Visits.Key(), ":f:home.visits:") {
			t.Fatalf("nested container key %q", u.Home.Visits.Key())
		}

		// Empty containers are valid: Save removes their keys, Get loads
		// them empty, and the object still exists.
		got.Tags.SetLocal()
		got.Prefs.SetLocal(nil)
		got.Roles.SetLocal()
		got.Board.SetLocal()
		must(t, got.Save(ctx))
		for _, k := range []string{u.Tags.Key(), u.Prefs.Key(), u.Roles.Key(), u.Board.Key()} {
			if n, _ := redis.Int(b.Do(t, "EXISTS", k)); n != 0 {
				t.Fatalf("empty container %s still stored", k)
			}
		}
		must(t, u.Reload(ctx))
		if len(u.Tags.Local()) != 0 || len(u.Prefs.Local()) != 0 || len(u.Roles.Local()) != 0 || len(u.Board.Local()) != 0 {
			t.Fatal("emptied containers reloaded non-empty")
		}
		if len(u.Places.Local()) != 2 || u.Version() != 2 {
			t.Fatalf("untouched container lost, or version %d", u.Version())
		}

		// A new object starts with empty containers; a model with only
		// containers still exists once saved (the hash keeps its version).
		n := users.New(b.Store)
		if n.Tags.Local() != nil || len(n.Prefs.Local()) != 0 {
			t.Fatal("new object has content")
		}
		must(t, n.Save(ctx))
		back, err := users.Get(ctx, b.Store, n.ID())
		must(t, err)
		if len(back.Tags.Local()) != 0 || len(back.Board.Local()) != 0 {
			t.Fatal("empty object loaded content")
		}
	})
}

func TestContainersInsertUpdateDuplicateDelete(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		// Leftovers of an expired object under the same id are replaced by
		// Insert, not merged.
		u, err := usersTTL.NewWithID(b.Store, "dup")
		must(t, err)
		b.Do(t, "RPUSH", u.Tags.Key(), "stale")
		b.Do(t, "SADD", u.Roles.Key(), "stale")
		fill(u)
		u.Board.SetLocal()
		rt, cmds := b.Count(func() { must(t, u.Insert(ctx)) })
		if rt != 1 {
			t.Fatalf("Insert: %d round trips (%v)", rt, cmds)
		}
		got, err := usersTTL.Get(ctx, b.Store, "dup")
		must(t, err)
		if !reflect.DeepEqual(got.Tags.Local(), []string{"a", "b", "c"}) || len(got.Roles.Local()) != 2 {
			t.Fatalf("Insert merged leftovers: %v %v", got.Tags.Local(), got.Roles.Local())
		}
		for _, k := range got.Keys()[1:] {
			if k == u.Board.Key() {
				continue // empty
			}
			if p := b.PTTL(t, k); p < 3500_000 {
				t.Fatalf("Insert left %s with PTTL %d", k, p)
			}
		}
		wantErr(t, u.Insert(ctx), rapyer.ErrExists)

		// Update replaces the named containers only.
		got.Tags.SetLocal("x")
		got.Name.Set("Eve")
		got.Roles.SetLocal("z")
		rt, _ = b.Count(func() { must(t, got.Update(ctx, &got.Tags, &got.Name)) })
		if rt != 1 {
			t.Fatalf("Update: %d round trips", rt)
		}
		must(t, u.Reload(ctx))
		if !reflect.DeepEqual(u.Tags.Local(), []string{"x"}) || u.Name.Get() != "Eve" || len(u.Roles.Local()) != 2 {
			t.Fatalf("after Update: tags %v name %q roles %v", u.Tags.Local(), u.Name.Get(), u.Roles.Local())
		}
		// Container.Save is Update of that container alone.
		rt, _ = b.Count(func() { must(t, got.Roles.Save(ctx)) })
		must(t, u.Reload(ctx))
		if rt != 1 || !reflect.DeepEqual(u.Roles.Local(), map[string]struct{}{"z": {}}) {
			t.Fatalf("Container.Save: %v in %d round trips", u.Roles.Local(), rt)
		}

		// Duplicate copies the containers.
		fill(u)
		dup, err := usersTTL.Duplicate(ctx, u)
		must(t, err)
		back, err := usersTTL.Get(ctx, b.Store, dup.ID())
		must(t, err)
		wantContainers(t, back)

		// SetTTL and Persist cover every key; Delete removes them all.
		must(t, u.Save(ctx))
		must(t, u.SetTTL(ctx, 5000*1e6))
		for _, k := range u.Keys() {
			if p := b.PTTL(t, k); p > 5000 || p < 4000 {
				t.Fatalf("SetTTL: %s PTTL %d", k, p)
			}
		}
		must(t, u.Persist(ctx))
		for _, k := range u.Keys() {
			if p := b.PTTL(t, k); p != -1 {
				t.Fatalf("Persist: %s PTTL %d", k, p)
			}
		}
		ok, err := u.Delete(ctx)
		must(t, err)
		args := make([]any, 0, 8)
		for _, k := range u.Keys() {
			args = append(args, k)
		}
		if n, _ := redis.Int(b.Do(t, "EXISTS", args...)); !ok || n != 0 {
			t.Fatalf("Delete left %d keys", n)
		}
		// Every container operation of a deleted object is ErrNotFound and
		// writes nothing.
		wantErr(t, u.Tags.Save(ctx), rapyer.ErrNotFound, "tags")
		wantErr(t, u.Tags.Clear(ctx), rapyer.ErrNotFound, "tags")
		wantErr(t, u.Tags.Load(ctx), rapyer.ErrNotFound, "tags")
		_, err = u.Tags.Len(ctx)
		wantErr(t, err, rapyer.ErrNotFound, "tags")
		_, err = u.Tags.Append(ctx, "x")
		wantErr(t, err, rapyer.ErrNotFound, "tags")
		if n, _ := redis.Int(b.Do(t, "EXISTS", args...)); n != 0 {
			t.Fatalf("operations on a deleted object wrote %d keys", n)
		}
	})
}

func TestContainerCommonOps(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		b.Do(t, "RPUSH", u.Tags.Key(), "d")
		var n int
		rt, _ := b.Count(func() {
			var err error
			n, err = u.Tags.Len(ctx)
			must(t, err)
		})
		if rt != 1 || n != 4 || len(u.Tags.Local()) != 3 {
			t.Fatalf("Len %d in %d round trips, local %v", n, rt, u.Tags.Local())
		}
		rt, _ = b.Count(func() { must(t, u.Tags.Load(ctx)) })
		if rt != 1 || !reflect.DeepEqual(u.Tags.Local(), []string{"a", "b", "c", "d"}) {
			t.Fatalf("Load: %v in %d", u.Tags.Local(), rt)
		}
		v := u.Version()
		rt, _ = b.Count(func() { must(t, u.Board.Clear(ctx)) })
		if rt != 1 || len(u.Board.Local()) != 0 || u.Version() != v+1 {
			t.Fatalf("Clear: local %v, %d round trips, version %d", u.Board.Local(), rt, u.Version())
		}
		if n, _ := redis.Int(b.Do(t, "EXISTS", u.Board.Key())); n != 0 {
			t.Fatal("Clear left the key")
		}
		for _, name := range []string{"tags", "places", "prefs", "counts", "roles", "board", "home.visits"} {
			found := false
			for _, f := range users.FieldNames() {
				found = found || f == name
			}
			if !found {
				t.Fatalf("FieldNames misses %s: %v", name, users.FieldNames())
			}
		}
	})
}

// bag has 6 scalars and 3 containers: the shape of the Get benchmark.
type bag struct {
	rapyer.Model
	A, B, C types.Int
	D, E, F types.Str
	L       types.List[string]
	M       types.Map[string, string]
	S       types.Set[string]
}

var bags = rapyer.Define("bag", func(g *bag) rapyer.Fields {
	return rapyer.Fields{
		g.A.Named("a"), g.B.Named("b"), g.C.Named("c"),
		g.D.Named("d"), g.E.Named("e"), g.F.Named("f"),
		g.L.Named("l"), g.M.Named("m"), g.S.Named("s"),
	}
})

func TestGetThreeContainersOneRoundTrip(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		g := bags.New(b.Store)
		var l, s []string
		m := map[string]string{}
		for i := 0; i < 100; i++ {
			l = append(l, fmt.Sprint("item-", i))
			s = append(s, fmt.Sprint("member-", i))
			m[fmt.Sprint("key-", i)] = fmt.Sprint("value-", i)
		}
		g.L.SetLocal(l...)
		g.M.SetLocal(m)
		g.S.SetLocal(s...)
		g.A.Set(1)
		g.F.Set("f")
		must(t, g.Save(ctx))
		var got *bag
		rt, cmds := b.Count(func() {
			var err error
			got, err = bags.Get(ctx, b.Store, g.ID())
			must(t, err)
		})
		if rt != 1 {
			t.Fatalf("Get: %d round trips (%v)", rt, cmds)
		}
		gotS := make([]string, 0, 100)
		for v := range got.S.Local() {
			gotS = append(gotS, v)
		}
		sort.Strings(gotS)
		sort.Strings(s)
		if !reflect.DeepEqual(got.L.Local(), l) || !reflect.DeepEqual(got.M.Local(), m) || !reflect.DeepEqual(gotS, s) || got.A.Get() != 1 || got.F.Get() != "f" {
			t.Fatal("Get of 3 containers of 100 elements lost data")
		}
	})
}

func TestLargeContainersThroughScripts(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		// 20,000 elements go through Insert and Update scripts, past Lua's
		// unpack limit.
		g := bags.New(b.Store)
		l := make([]string, 20_000)
		m := map[string]string{}
		for i := range l {
			l[i] = fmt.Sprint(i)
			m[l[i]] = l[i]
		}
		g.L.SetLocal(l...)
		g.M.SetLocal(m)
		must(t, g.Insert(ctx))
		must(t, g.Update(ctx, &g.L, &g.M))
		n, err := g.L.Len(ctx)
		must(t, err)
		hn, err := g.M.Len(ctx)
		must(t, err)
		if n != 20_000 || hn != 20_000 {
			t.Fatalf("lengths %d %d", n, hn)
		}
	})
}

func TestContainerCorruptData(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		b.Do(t, "RPUSH", u.Places.Key(), "\xc1not msgpack")
		b.Do(t, "HSET", u.Counts.Key(), "bad", "12x")
		_, err := users.Get(ctx, b.Store, u.ID())
		wantErr(t, err, rapyer.ErrDecode, "places")
		// The local copy is unchanged by a failed load.
		u.Tags.SetLocal("local")
		wantErr(t, u.Reload(ctx), rapyer.ErrDecode)
		if !reflect.DeepEqual(u.Tags.Local(), []string{"local"}) {
			t.Fatal("failed Reload changed the local copy")
		}
		wantErr(t, u.Places.Load(ctx), rapyer.ErrDecode, "places")
		got, err := users.Get(ctx, b.Store, u.ID(), rapyer.Tolerant())
		must(t, err)
		// Only the undecodable elements are dropped (tolerant_elems_test.go).
		if len(got.LoadErrors()) != 2 || len(got.Places.Local()) != 2 || !reflect.DeepEqual(got.Counts.Local(), map[string]int64{"logins": 3}) {
			t.Fatalf("tolerant load: errors %v, places %v, counts %v", got.LoadErrors(), got.Places.Local(), got.Counts.Local())
		}
		if !reflect.DeepEqual(got.Tags.Local(), []string{"a", "b", "c"}) {
			t.Fatal("tolerant load lost a good container")
		}

		// A key of the wrong Redis type is ErrWrongType, not a panic.
		b.Do(t, "DEL", u.Roles.Key())
		b.Do(t, "SET", u.Roles.Key(), "x")
		_, err = users.Get(ctx, b.Store, u.ID())
		wantErr(t, err, rapyer.ErrWrongType)
	})
}

func TestContainerEncodeErrorSendsNothing(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		u.Board.SetLocal(types.Member[string]{Value: "x", Score: math.NaN()})
		for name, f := range map[string]func() error{
			"Save":   func() error { return u.Save(ctx) },
			"Update": func() error { return u.Update(ctx, &u.Board) },
			"Insert": func() error { return users.New(b.Store).Insert(ctx) },
		} {
			if name == "Insert" {
				n := users.New(b.Store)
				n.Board.SetLocal(types.Member[string]{Value: "x", Score: math.NaN()})
				f = func() error { return n.Insert(ctx) }
			}
			var err error
			rt, _ := b.Count(func() { err = f() })
			wantErr(t, err, rapyer.ErrInvalid, "board", "NaN")
			if rt != 0 {
				t.Fatalf("%s sent %d round trips", name, rt)
			}
		}
	})
}

func TestContainerDefinePanics(t *testing.T) {
	type key struct{ A int }
	type bad struct {
		rapyer.Model
		S types.Set[key]
	}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), `"s"`) || !strings.Contains(fmt.Sprint(r), "native") {
			t.Fatalf("Define of a Set of structs: panic %v", r)
		}
	}()
	rapyer.Define("badset", func(b *bad) rapyer.Fields { return rapyer.Fields{b.S.Named("s")} })
}

func TestContainerDefaults(t *testing.T) {
	type defs struct {
		rapyer.Model
		L types.List[string]
		M types.Map[string, int64]
		S types.Set[string]
		Z types.SortedSet[string]
	}
	schema := rapyer.Define("defs", func(d *defs) rapyer.Fields {
		return rapyer.Fields{
			d.L.Named("l").Default("a", "b"),
			d.M.Named("m").Default(map[string]int64{"k": 1}),
			d.S.Named("s").Default("x"),
			d.Z.Named("z").Default(types.Member[string]{Value: "m", Score: 2}),
		}
	})
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		d := schema.New(b.Store)
		if !reflect.DeepEqual(d.L.Local(), []string{"a", "b"}) || d.M.Local()["k"] != 1 || len(d.S.Local()) != 1 || len(d.Z.Local()) != 1 {
			t.Fatalf("defaults not applied: %v %v %v %v", d.L.Local(), d.M.Local(), d.S.Local(), d.Z.Local())
		}
		must(t, d.Save(ctx))
		got, err := schema.Get(ctx, b.Store, d.ID())
		must(t, err)
		if !reflect.DeepEqual(got.L.Local(), []string{"a", "b"}) || got.Z.Local()[0].Score != 2 {
			t.Fatal("defaults not saved")
		}
		// Loading never applies defaults: an emptied container loads empty.
		must(t, got.L.Clear(ctx))
		again, err := schema.Get(ctx, b.Store, d.ID())
		must(t, err)
		if len(again.L.Local()) != 0 {
			t.Fatal("a default was applied on load")
		}
		// Defaults are copied: changing one object's does not change the next.
		d.M.Local()["k"] = 99
		if schema.New(b.Store).M.Local()["k"] != 1 {
			t.Fatal("default map shared between objects")
		}
	})
}
