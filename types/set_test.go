package types_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/serialize"
	"github.com/rapyer-go/rapyer/types"
)

// role is a named string type: a Set of it needs serialize.StringOf.
type role string

// setObj has several Set fields, so that set algebra has partners in the
// same object (one of them nested).
type setObj struct {
	rapyer.Model
	A    types.Set[string]
	B    types.Set[string]
	N    types.Set[int64]
	R    types.Set[role]
	T    types.Set[time.Time]
	Home struct{ S types.Set[string] }
}

var setObjs = rapyer.Define("sett", func(o *setObj) rapyer.Fields {
	return rapyer.Fields{
		o.A.Named("a"),
		o.B.Named("b"),
		o.N.Named("n"),
		o.R.Named("r").Codec(serialize.StringOf[role]()),
		o.T.Named("t"),
		rapyer.Nested("home", o.Home.S.Named("s")),
	}
})

// savedSet returns a new saved setObj with A {a b c}, B {b c d}, N {1 2 3},
// home.s {c x} (and whatever set changes).
func savedSet(t *testing.T, b *testkit.Backend, set func(o *setObj)) *setObj {
	t.Helper()
	o := setObjs.New(b.Store)
	o.A.SetLocal("a", "b", "c")
	o.B.SetLocal("b", "c", "d")
	o.N.SetLocal(1, 2, 3)
	o.Home.S.SetLocal("c", "x")
	if set != nil {
		set(o)
	}
	noErr(t, o.Save(testkit.Ctx(t)))
	return o
}

// smembers returns a stored set, sorted.
func smembers(t *testing.T, b *testkit.Backend, key string) []string {
	t.Helper()
	ms, err := redis.Strings(b.Do(t, "SMEMBERS", key))
	noErr(t, err)
	sort.Strings(ms)
	return ms
}

// setVersion returns the object's stored version counter.
func setVersion(t *testing.T, b *testkit.Backend, o *setObj) string {
	t.Helper()
	v, _ := b.HGet(t, o.Key(), "_v")
	return v
}

func wantSlice[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) || (got == nil && want != nil) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// wantLocalSet fails unless the handle's local copy holds exactly want.
func wantLocalSet[T comparable](t *testing.T, s *types.Set[T], want ...T) {
	t.Helper()
	if len(s.Local()) != len(setOfT(want)) {
		t.Fatalf("local copy %v, want %v", s.Local(), want)
	}
	for _, v := range want {
		if !s.LocalHas(v) {
			t.Fatalf("local copy %v lacks %v", s.Local(), v)
		}
	}
}

func setOfT[T comparable](vs []T) map[T]bool {
	m := map[T]bool{}
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// trip runs f, failing unless it sent exactly one round trip and returned no
// error.
func trip(t *testing.T, b *testkit.Backend, f func() error) {
	t.Helper()
	var err error
	oneTrip(t, b, func() { err = f() })
	noErr(t, err)
}

// setOps runs every remote operation of Set once; it is the list the
// contract tests (not found, one round trip) go over.
var setOps = []struct {
	name string
	run  func(ctx context.Context, o *setObj) error
}{
	{"Add", func(ctx context.Context, o *setObj) error { _, err := o.A.Add(ctx, "z", "a"); return err }},
	{"AddNone", func(ctx context.Context, o *setObj) error { _, err := o.A.Add(ctx); return err }},
	{"Remove", func(ctx context.Context, o *setObj) error { _, err := o.A.Remove(ctx, "a", "q"); return err }},
	{"Has", func(ctx context.Context, o *setObj) error { _, err := o.A.Has(ctx, "a"); return err }},
	{"Members", func(ctx context.Context, o *setObj) error { _, err := o.A.Members(ctx); return err }},
	{"Pop", func(ctx context.Context, o *setObj) error { _, _, err := o.A.Pop(ctx); return err }},
	{"PopN", func(ctx context.Context, o *setObj) error { _, err := o.A.PopN(ctx, 2); return err }},
	{"Random", func(ctx context.Context, o *setObj) error { _, err := o.A.Random(ctx, 2); return err }},
	{"Union", func(ctx context.Context, o *setObj) error { _, err := o.A.Union(ctx, &o.B); return err }},
	{"Intersect", func(ctx context.Context, o *setObj) error { _, err := o.A.Intersect(ctx, &o.B); return err }},
	{"Diff", func(ctx context.Context, o *setObj) error { _, err := o.A.Diff(ctx, &o.B); return err }},
	{"UnionStore", func(ctx context.Context, o *setObj) error { _, err := o.A.UnionStore(ctx, &o.B); return err }},
	{"IntersectStore", func(ctx context.Context, o *setObj) error { _, err := o.A.IntersectStore(ctx, &o.B); return err }},
	{"DiffStore", func(ctx context.Context, o *setObj) error { _, err := o.A.DiffStore(ctx, &o.B); return err }},
	{"UnionValues", func(ctx context.Context, o *setObj) error { _, err := o.A.UnionValues(ctx, "q"); return err }},
	{"IntersectValues", func(ctx context.Context, o *setObj) error { _, err := o.A.IntersectValues(ctx, "a", "q"); return err }},
	{"IntersectValuesNone", func(ctx context.Context, o *setObj) error { _, err := o.A.IntersectValues(ctx); return err }},
	{"DiffValues", func(ctx context.Context, o *setObj) error { _, err := o.A.DiffValues(ctx, "a"); return err }},
	{"Len", func(ctx context.Context, o *setObj) error { _, err := o.A.Len(ctx); return err }},
	{"Clear", func(ctx context.Context, o *setObj) error { return o.A.Clear(ctx) }},
}

// TestSetContract: every operation is one round trip on an existing object,
// and on a deleted one returns ErrNotFound naming the field and writes
// nothing (no key comes back).
func TestSetContract(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, op := range setOps {
			t.Run(op.name, func(t *testing.T) {
				o := savedSet(t, b, nil)
				trip(t, b, func() error { return op.run(ctx, o) })

				gone := savedSet(t, b, nil)
				_, err := gone.Delete(ctx)
				noErr(t, err)
				var rts int
				rts, _ = b.Count(func() { err = op.run(ctx, gone) })
				if rts != 1 {
					t.Fatalf("round trips on a missing object = %d, want 1", rts)
				}
				wantFieldErr(t, err, rapyer.ErrNotFound, "a")
				for _, k := range gone.Keys() {
					wantNoKey(t, b, k)
				}
			})
		}
	})
}

func TestSetAddRemove(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		v0 := setVersion(t, b, o)

		var n int
		trip(t, b, func() (err error) { n, err = o.A.Add(ctx, "d", "a", "d", "e"); return })
		if n != 2 {
			t.Fatalf("Add = %d, want 2 (d and e are new; a is a member, d given twice)", n)
		}
		wantSlice(t, "stored", smembers(t, b, o.A.Key()), []string{"a", "b", "c", "d", "e"})
		wantLocalSet(t, &o.A, "a", "b", "c", "d", "e")
		v1 := setVersion(t, b, o)
		if v1 == v0 {
			t.Fatal("Add that added did not bump the version")
		}

		trip(t, b, func() (err error) { n, err = o.A.Add(ctx, "a", "b"); return })
		if n != 0 || setVersion(t, b, o) != v1 {
			t.Fatalf("Add of members = %d, version %s -> %s; want 0 and unchanged", n, v1, setVersion(t, b, o))
		}

		trip(t, b, func() (err error) { n, err = o.A.Remove(ctx, "a", "zz", "a", "e"); return })
		if n != 2 {
			t.Fatalf("Remove = %d, want 2", n)
		}
		wantSlice(t, "stored", smembers(t, b, o.A.Key()), []string{"b", "c", "d"})
		wantLocalSet(t, &o.A, "b", "c", "d")
		v2 := setVersion(t, b, o)
		if v2 == v1 {
			t.Fatal("Remove that removed did not bump the version")
		}
		trip(t, b, func() (err error) { n, err = o.A.Remove(ctx, "zz"); return })
		if n != 0 || setVersion(t, b, o) != v2 {
			t.Fatal("Remove of non-members changed something")
		}

		// Removing the last members deletes the key; Add recreates it.
		n, err := o.A.Remove(ctx, "b", "c", "d")
		noErr(t, err)
		if n != 3 {
			t.Fatalf("Remove = %d, want 3", n)
		}
		wantNoKey(t, b, o.A.Key())
		wantLocalSet(t, &o.A)
		n, err = o.A.Add(ctx, "x")
		noErr(t, err)
		wantSlice(t, "stored", smembers(t, b, o.A.Key()), []string{"x"})
		if n != 1 {
			t.Fatalf("Add = %d", n)
		}

		// The local copy follows a fresh load.
		fresh, err := setObjs.Get(ctx, b.Store, o.ID())
		noErr(t, err)
		wantLocalSet(t, &fresh.A, "x")
	})
}

// TestSetHugeAdd: inputs beyond Lua's unpack limit go in slices, in one
// round trip.
func TestSetHugeAdd(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		vs := make([]int64, 20_001)
		for i := range vs {
			vs[i] = int64(i) - 10_000
		}
		var n int
		trip(t, b, func() (err error) { n, err = o.N.Add(ctx, vs...); return })
		if n != len(vs)-3 { // 1, 2, 3 were members
			t.Fatalf("Add = %d, want %d", n, len(vs)-3)
		}
		got, err := o.N.Len(ctx)
		noErr(t, err)
		if got != len(vs) {
			t.Fatalf("Len = %d", got)
		}
		trip(t, b, func() (err error) { n, err = o.N.Remove(ctx, vs...); return })
		if n != len(vs) {
			t.Fatalf("Remove = %d", n)
		}
		wantNoKey(t, b, o.N.Key())
	})
}

func TestSetHasMembers(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		for v, want := range map[string]bool{"a": true, "d": false, "": false} {
			var got bool
			trip(t, b, func() (err error) { got, err = o.A.Has(ctx, v); return })
			if got != want {
				t.Fatalf("Has(%q) = %v", v, got)
			}
		}
		// Another client adds a member: Members sees it and replaces the
		// local copy; Has does not touch the local copy.
		b.Do(t, "SADD", o.A.Key(), "q")
		has, err := o.A.Has(ctx, "q")
		noErr(t, err)
		if !has || o.A.LocalHas("q") {
			t.Fatalf("Has = %v, local has q = %v; want true, false", has, o.A.LocalHas("q"))
		}
		var ms []string
		trip(t, b, func() (err error) { ms, err = o.A.Members(ctx); return })
		wantSlice(t, "Members", ms, []string{"a", "b", "c", "q"})
		wantLocalSet(t, &o.A, "a", "b", "c", "q")

		// Sorted by stored bytes: integers in text order.
		noErr(t, o.N.Clear(ctx))
		_, err = o.N.Add(ctx, 10, 9, -1, 100)
		noErr(t, err)
		ns, err := o.N.Members(ctx)
		noErr(t, err)
		wantSlice(t, "Members", ns, []int64{-1, 10, 100, 9})

		// Empty set: an empty, non-nil slice and an empty local copy.
		noErr(t, o.A.Clear(ctx))
		o.A.SetLocal("stale")
		ms, err = o.A.Members(ctx)
		noErr(t, err)
		wantSlice(t, "Members of empty", ms, []string{})
		wantLocalSet(t, &o.A)
		has, err = o.A.Has(ctx, "a")
		noErr(t, err)
		if has {
			t.Fatal("Has on an empty set")
		}
	})
}

func TestSetPop(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		seen := map[string]bool{}
		for range 3 {
			v0 := setVersion(t, b, o)
			var (
				v  string
				ok bool
			)
			trip(t, b, func() (err error) { v, ok, err = o.A.Pop(ctx); return })
			if !ok || seen[v] || !strings.Contains("abc", v) || v == "" {
				t.Fatalf("Pop = %q, %v (seen %v)", v, ok, seen)
			}
			seen[v] = true
			if o.A.LocalHas(v) || slices.Contains(smembers(t, b, o.A.Key()), v) {
				t.Fatalf("Pop left %q", v)
			}
			if setVersion(t, b, o) == v0 {
				t.Fatal("Pop did not bump the version")
			}
		}
		wantNoKey(t, b, o.A.Key())
		v0 := setVersion(t, b, o)
		var (
			v  string
			ok bool
		)
		trip(t, b, func() (err error) { v, ok, err = o.A.Pop(ctx); return })
		if ok || v != "" || setVersion(t, b, o) != v0 {
			t.Fatalf("Pop of empty = %q, %v (version %s -> %s)", v, ok, v0, setVersion(t, b, o))
		}

		// PopN: fewer when the set is smaller; 0 pops nothing; negative is
		// refused before anything is sent.
		_, err := o.N.PopN(ctx, -1)
		wantFieldErr(t, err, rapyer.ErrInvalid, "n")
		noTrip(t, b, func() { _, _ = o.N.PopN(ctx, -1) })
		var ns []int64
		trip(t, b, func() (err error) { ns, err = o.N.PopN(ctx, 0); return })
		wantSlice(t, "PopN(0)", ns, []int64{})
		wantSlice(t, "stored", smembers(t, b, o.N.Key()), []string{"1", "2", "3"})
		trip(t, b, func() (err error) { ns, err = o.N.PopN(ctx, 2); return })
		if len(ns) != 2 || ns[0] == ns[1] {
			t.Fatalf("PopN(2) = %v", ns)
		}
		left := smembers(t, b, o.N.Key())
		if len(left) != 1 {
			t.Fatalf("stored after PopN(2): %v", left)
		}
		last, _ := strconv.ParseInt(left[0], 10, 64)
		wantLocalSet(t, &o.N, last)
		ns, err = o.N.PopN(ctx, math.MaxInt)
		noErr(t, err)
		wantSlice(t, "PopN(max)", ns, []int64{last})
		wantNoKey(t, b, o.N.Key())
		ns, err = o.N.PopN(ctx, 5)
		noErr(t, err)
		wantSlice(t, "PopN of empty", ns, []int64{})
	})
}

func TestSetRandom(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		v0 := setVersion(t, b, o)
		for _, n := range []int{0, 1, 2, 3, 4, math.MaxInt} {
			var got []string
			trip(t, b, func() (err error) { got, err = o.A.Random(ctx, n); return })
			want := min(n, 3)
			if len(got) != want || len(setOfT(got)) != want {
				t.Fatalf("Random(%d) = %v, want %d distinct members", n, got, want)
			}
			for _, v := range got {
				if !strings.Contains("abc", v) || v == "" {
					t.Fatalf("Random(%d) = %v: not members", n, got)
				}
			}
		}
		wantSlice(t, "stored", smembers(t, b, o.A.Key()), []string{"a", "b", "c"})
		if setVersion(t, b, o) != v0 {
			t.Fatal("Random bumped the version")
		}
		_, err := o.A.Random(ctx, -2)
		wantFieldErr(t, err, rapyer.ErrInvalid, "a")
		noTrip(t, b, func() { _, _ = o.A.Random(ctx, -2) })

		noErr(t, o.A.Clear(ctx))
		got, err := o.A.Random(ctx, 3)
		noErr(t, err)
		wantSlice(t, "Random of empty", got, []string{})
	})
}

func TestSetAlgebra(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil) // A {a b c}, B {b c d}, home.s {c x}
		v0 := setVersion(t, b, o)
		for _, c := range []struct {
			name string
			run  func() ([]string, error)
			want []string
		}{
			{"Union", func() ([]string, error) { return o.A.Union(ctx, &o.B) }, []string{"a", "b", "c", "d"}},
			{"Union3", func() ([]string, error) { return o.A.Union(ctx, &o.B, &o.Home.S) }, []string{"a", "b", "c", "d", "x"}},
			{"UnionSelf", func() ([]string, error) { return o.A.Union(ctx, &o.A) }, []string{"a", "b", "c"}},
			{"UnionNone", func() ([]string, error) { return o.A.Union(ctx) }, []string{"a", "b", "c"}},
			{"Intersect", func() ([]string, error) { return o.A.Intersect(ctx, &o.B) }, []string{"b", "c"}},
			{"Intersect3", func() ([]string, error) { return o.A.Intersect(ctx, &o.B, &o.Home.S) }, []string{"c"}},
			{"Diff", func() ([]string, error) { return o.A.Diff(ctx, &o.B) }, []string{"a"}},
			{"DiffReverse", func() ([]string, error) { return o.B.Diff(ctx, &o.A) }, []string{"d"}},
			{"DiffSelf", func() ([]string, error) { return o.A.Diff(ctx, &o.A) }, []string{}},
			{"NestedDiff", func() ([]string, error) { return o.Home.S.Diff(ctx, &o.A) }, []string{"x"}},
			{"UnionValues", func() ([]string, error) { return o.A.UnionValues(ctx, "z", "a", "z", "") }, []string{"", "a", "b", "c", "z"}},
			{"UnionValuesNone", func() ([]string, error) { return o.A.UnionValues(ctx) }, []string{"a", "b", "c"}},
			{"IntersectValues", func() ([]string, error) { return o.A.IntersectValues(ctx, "c", "z", "a", "c") }, []string{"a", "c"}},
			{"IntersectValuesNone", func() ([]string, error) { return o.A.IntersectValues(ctx) }, []string{}},
			{"IntersectValuesMiss", func() ([]string, error) { return o.A.IntersectValues(ctx, "q") }, []string{}},
			{"DiffValues", func() ([]string, error) { return o.A.DiffValues(ctx, "b", "z", "b") }, []string{"a", "c"}},
			{"DiffValuesNone", func() ([]string, error) { return o.A.DiffValues(ctx) }, []string{"a", "b", "c"}},
		} {
			var got []string
			trip(t, b, func() (err error) { got, err = c.run(); return })
			wantSlice(t, c.name, got, c.want)
		}
		// Reads: nothing written, local copies untouched.
		wantSlice(t, "A", smembers(t, b, o.A.Key()), []string{"a", "b", "c"})
		wantSlice(t, "B", smembers(t, b, o.B.Key()), []string{"b", "c", "d"})
		if setVersion(t, b, o) != v0 {
			t.Fatal("a set algebra read bumped the version")
		}
		wantLocalSet(t, &o.A, "a", "b", "c")

		// An empty partner.
		noErr(t, o.B.Clear(ctx))
		got, err := o.A.Intersect(ctx, &o.B)
		noErr(t, err)
		wantSlice(t, "Intersect with empty", got, []string{})
		got, err = o.A.Union(ctx, &o.B)
		noErr(t, err)
		wantSlice(t, "Union with empty", got, []string{"a", "b", "c"})
	})
}

func TestSetAlgebraRefusesOtherObjects(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		p := savedSet(t, b, nil)
		var loose types.Set[string] // never bound
		for _, other := range []*types.Set[string]{&p.B, &loose, nil} {
			for _, op := range []struct {
				name string
				run  func() error
			}{
				{"Union", func() error { _, err := o.A.Union(ctx, &o.B, other); return err }},
				{"Intersect", func() error { _, err := o.A.Intersect(ctx, other); return err }},
				{"Diff", func() error { _, err := o.A.Diff(ctx, other); return err }},
				{"UnionStore", func() error { _, err := o.A.UnionStore(ctx, other); return err }},
				{"IntersectStore", func() error { _, err := o.A.IntersectStore(ctx, other); return err }},
				{"DiffStore", func() error { _, err := o.A.DiffStore(ctx, other); return err }},
			} {
				var err error
				noTrip(t, b, func() { err = op.run() })
				wantFieldErr(t, err, rapyer.ErrInvalid, "a")
				if other == &p.B && !strings.Contains(err.Error(), `"b"`) {
					t.Fatalf("%s: error %q does not name the other field", op.name, err)
				}
			}
		}
		wantSlice(t, "A", smembers(t, b, o.A.Key()), []string{"a", "b", "c"})
	})
}

func TestSetStore(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, c := range []struct {
			name string
			run  func(o *setObj) ([]string, error)
			want []string
		}{
			{"UnionStore", func(o *setObj) ([]string, error) { return o.A.UnionStore(ctx, &o.B) }, []string{"a", "b", "c", "d"}},
			{"UnionStore3", func(o *setObj) ([]string, error) { return o.A.UnionStore(ctx, &o.B, &o.Home.S) }, []string{"a", "b", "c", "d", "x"}},
			{"IntersectStore", func(o *setObj) ([]string, error) { return o.A.IntersectStore(ctx, &o.B) }, []string{"b", "c"}},
			{"DiffStore", func(o *setObj) ([]string, error) { return o.A.DiffStore(ctx, &o.B) }, []string{"a"}},
			{"DiffStoreSelf", func(o *setObj) ([]string, error) { return o.A.DiffStore(ctx, &o.A) }, []string{}},
			{"NestedUnionStore", func(o *setObj) ([]string, error) { return o.Home.S.UnionStore(ctx, &o.A) }, []string{"a", "b", "c", "x"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				o := savedSet(t, b, nil)
				v0 := setVersion(t, b, o)
				var got []string
				trip(t, b, func() (err error) { got, err = c.run(o); return })
				wantSlice(t, c.name, got, c.want)
				key := o.A.Key()
				if strings.HasPrefix(c.name, "Nested") {
					key = o.Home.S.Key()
					wantLocalSet(t, &o.Home.S, c.want...)
				} else {
					wantLocalSet(t, &o.A, c.want...)
				}
				if len(c.want) == 0 {
					wantNoKey(t, b, key)
				} else {
					wantSlice(t, "stored", smembers(t, b, key), c.want)
				}
				wantSlice(t, "B", smembers(t, b, o.B.Key()), []string{"b", "c", "d"})
				if setVersion(t, b, o) == v0 {
					t.Fatal("a Store that changed the set did not bump the version")
				}
			})
		}
		// No change, no bump.
		o := savedSet(t, b, nil)
		v0 := setVersion(t, b, o)
		got, err := o.A.IntersectStore(ctx, &o.A)
		noErr(t, err)
		wantSlice(t, "IntersectStore self", got, []string{"a", "b", "c"})
		got, err = o.A.UnionStore(ctx, &o.A)
		noErr(t, err)
		wantSlice(t, "UnionStore self", got, []string{"a", "b", "c"})
		if setVersion(t, b, o) != v0 {
			t.Fatal("a Store that changed nothing bumped the version")
		}
		// A TTL set by hand on a model without one survives the rewrite of
		// the key.
		noErr(t, o.SetTTL(ctx, time.Hour))
		_, err = o.A.UnionStore(ctx, &o.B)
		noErr(t, err)
		if got := b.PTTL(t, o.A.Key()); got <= 0 || got > 3_600_000 {
			t.Fatalf("after UnionStore, PTTL %d, want the hour set by hand", got)
		}
		noErr(t, o.Persist(ctx))
		// Into an empty set.
		noErr(t, o.A.Clear(ctx))
		got, err = o.A.UnionStore(ctx, &o.B)
		noErr(t, err)
		wantSlice(t, "UnionStore into empty", got, []string{"b", "c", "d"})
		wantSlice(t, "stored", smembers(t, b, o.A.Key()), []string{"b", "c", "d"})
	})
}

// TestSetWeirdMembers: any bytes are a member and come back as they went.
func TestSetWeirdMembers(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		weird := []string{"", " ", "  two  ", "é", "日本", "\x00", "\x00\xff\xfe", "a\nb", "{tag}", "*", "\"'"}
		o := savedSet(t, b, func(o *setObj) { o.A.SetLocal() })
		n, err := o.A.Add(ctx, weird...)
		noErr(t, err)
		if n != len(weird) {
			t.Fatalf("Add = %d, want %d", n, len(weird))
		}
		want := slices.Clone(weird)
		sort.Strings(want)
		got, err := o.A.Members(ctx)
		noErr(t, err)
		wantSlice(t, "Members", got, want)
		wantSlice(t, "stored", smembers(t, b, o.A.Key()), want)
		for _, w := range weird {
			has, err := o.A.Has(ctx, w)
			noErr(t, err)
			if !has {
				t.Fatalf("Has(%q) = false", w)
			}
		}
		got, err = o.A.IntersectValues(ctx, "", "\x00\xff\xfe", "nope")
		noErr(t, err)
		wantSlice(t, "IntersectValues", got, []string{"", "\x00\xff\xfe"})
		fresh, err := setObjs.Get(ctx, b.Store, o.ID())
		noErr(t, err)
		wantLocalSet(t, &fresh.A, weird...)
		n, err = o.A.Remove(ctx, "", "\x00")
		noErr(t, err)
		if n != 2 || o.A.LocalHas("") {
			t.Fatalf("Remove = %d, local has \"\" = %v", n, o.A.LocalHas(""))
		}
		var popped []string
		for {
			v, ok, err := o.A.Pop(ctx)
			noErr(t, err)
			if !ok {
				break
			}
			popped = append(popped, v)
		}
		sort.Strings(popped)
		wantSlice(t, "popped", popped, want[2:]) // "" and "\x00" sort first
	})
}

// TestSetTypedMembers: int64 (the whole range), a named string type with its
// codec, and times (local copy in the form a load gives: UTC).
func TestSetTypedMembers(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		ns := []int64{math.MinInt64, math.MaxInt64, 0, 1 << 53, 1<<53 + 1}
		_, err := o.N.Add(ctx, ns...)
		noErr(t, err)
		has, err := o.N.Has(ctx, 1<<53+1)
		noErr(t, err)
		if !has {
			t.Fatal("Has(2^53+1) = false")
		}
		has, err = o.N.Has(ctx, 1<<53+2)
		noErr(t, err)
		if has {
			t.Fatal("Has(2^53+2) = true")
		}
		got, err := o.N.Members(ctx)
		noErr(t, err)
		if len(got) != 8 || !slices.Contains(got, math.MinInt64) || !slices.Contains(got, math.MaxInt64) {
			t.Fatalf("Members = %v", got)
		}
		inter, err := o.N.IntersectValues(ctx, math.MaxInt64, 1<<53+1, 7)
		noErr(t, err)
		wantSlice(t, "IntersectValues", inter, []int64{1<<53 + 1, math.MaxInt64})

		n, err := o.R.Add(ctx, "admin", "dev", "admin")
		noErr(t, err)
		if n != 2 {
			t.Fatalf("Add = %d", n)
		}
		rs, err := o.R.Members(ctx)
		noErr(t, err)
		wantSlice(t, "roles", rs, []role{"admin", "dev"})
		wantSlice(t, "stored roles", smembers(t, b, o.R.Key()), []string{"admin", "dev"})

		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			paris = time.FixedZone("CET", 3600)
		}
		at := time.Date(2026, 11, 25, 10, 0, 0, 123456789, paris)
		_, err = o.T.Add(ctx, at)
		noErr(t, err)
		if !o.T.LocalHas(at.UTC()) {
			t.Fatalf("local copy %v lacks %v in UTC", o.T.Local(), at)
		}
		has, err = o.T.Has(ctx, at.In(time.UTC))
		noErr(t, err)
		if !has {
			t.Fatal("Has(same instant in UTC) = false")
		}
		n, err = o.T.Remove(ctx, at)
		noErr(t, err)
		if n != 1 || len(o.T.Local()) != 0 {
			t.Fatalf("Remove = %d, local %v", n, o.T.Local())
		}
	})
}

// TestSetBadInput: values that do not encode are refused before anything is
// sent, naming the field.
func TestSetBadInput(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		bad := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) // beyond Unix nanoseconds
		for name, run := range map[string]func() error{
			"Add":             func() error { _, err := o.T.Add(ctx, seen(), bad); return err },
			"Remove":          func() error { _, err := o.T.Remove(ctx, bad); return err },
			"Has":             func() error { _, err := o.T.Has(ctx, bad); return err },
			"UnionValues":     func() error { _, err := o.T.UnionValues(ctx, bad); return err },
			"IntersectValues": func() error { _, err := o.T.IntersectValues(ctx, bad); return err },
			"DiffValues":      func() error { _, err := o.T.DiffValues(ctx, bad); return err },
		} {
			var err error
			noTrip(t, b, func() { err = run() })
			wantFieldErr(t, err, rapyer.ErrInvalid, "t")
			if name == "Add" && !strings.Contains(err.Error(), "element 1") {
				t.Fatalf("error %q does not name the element", err)
			}
		}
		wantNoKey(t, b, o.T.Key())
	})
}

func seen() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// TestSetCorrupt: stored members that do not decode give ErrDecode naming
// the field, never a panic; reads leave the data as it is.
func TestSetCorrupt(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		b.Do(t, "SADD", o.N.Key(), "x1")
		b.Do(t, "SADD", o.B.Key(), "x1") // a partner holding a bad member
		for name, run := range map[string]func() error{
			"Members": func() error { _, err := o.N.Members(ctx); return err },
			"Random":  func() error { _, err := o.N.Random(ctx, 100); return err },
			"DiffValues": func() error {
				_, err := o.N.DiffValues(ctx, 1)
				return err
			},
			"UnionValues": func() error { _, err := o.N.UnionValues(ctx, 9); return err },
			"Union":       func() error { _, err := o.N.Union(ctx, &o.N); return err },
			"Load":        func() error { return o.N.Load(ctx) },
		} {
			err := run()
			if name == "Load" {
				wantErr(t, err, rapyer.ErrDecode)
				continue
			}
			wantFieldErr(t, err, rapyer.ErrDecode, "n")
		}
		wantLocalSet(t, &o.N, 1, 2, 3)
		wantSlice(t, "stored", smembers(t, b, o.N.Key()), []string{"1", "2", "3", "x1"})
		has, err := o.N.Has(ctx, 2)
		noErr(t, err)
		if !has {
			t.Fatal("Has(2) with a corrupt neighbour")
		}

		// Writes that return members: the bad one is removed all the same
		// (documented) and the error quotes it.
		_, err = o.N.PopN(ctx, 10)
		wantFieldErr(t, err, rapyer.ErrDecode, "n")
		if !strings.Contains(err.Error(), "x1") {
			t.Fatalf("error %q does not quote the member", err)
		}
		wantNoKey(t, b, o.N.Key())
		wantLocalSet(t, &o.N)

		b.Do(t, "SADD", o.N.Key(), "x2")
		_, ok, err := o.N.Pop(ctx)
		wantFieldErr(t, err, rapyer.ErrDecode, "n")
		if ok || !strings.Contains(err.Error(), "x2") {
			t.Fatalf("Pop: ok %v, error %q", ok, err)
		}

		b.Do(t, "SADD", o.N.Key(), "x3", "4")
		_, err = o.N.UnionStore(ctx)
		wantFieldErr(t, err, rapyer.ErrDecode, "n")
		wantSlice(t, "stored", smembers(t, b, o.N.Key()), []string{"4", "x3"})

		// A set key holding another Redis type.
		b.Do(t, "DEL", o.A.Key())
		b.Do(t, "SET", o.A.Key(), "str")
		// (Redis reports WRONGTYPE, which maps to rapyer.ErrWrongType;
		// miniredis wraps it in a script error, so only "an error, nothing
		// written" is the same on both.)
		_, err = o.A.Add(ctx, "a")
		if err == nil {
			t.Fatal("Add to a string key: no error")
		}
		_, err = o.A.Members(ctx)
		if err == nil {
			t.Fatal("Members of a string key: no error")
		}
		if v, err := redis.String(b.Do(t, "GET", o.A.Key())); err != nil || v != "str" {
			t.Fatalf("the string key became %q, %v", v, err)
		}
	})
}

// TestSetDefine: members must have a native codec; Define panics naming the
// field otherwise.
func TestSetDefine(t *testing.T) {
	type point struct{ X, Y int }
	type bad struct {
		rapyer.Model
		P types.Set[point]
	}
	type badNamed struct {
		rapyer.Model
		R types.Set[role]
	}
	for name, define := range map[string]func(){
		"struct": func() {
			rapyer.Define("setbad", func(x *bad) rapyer.Fields { return rapyer.Fields{x.P.Named("pts")} })
		},
		"named type without codec": func() {
			rapyer.Define("setbad2", func(x *badNamed) rapyer.Fields { return rapyer.Fields{x.R.Named("pts")} })
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("Define did not panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, "pts") || !strings.Contains(msg, "native") {
					t.Fatalf("panic %q does not name the field and the reason", msg)
				}
			}()
			define()
		})
	}
}

// TestSetDefaultAndLocal: defaults, SetLocal and Save.
func TestSetDefaultAndLocal(t *testing.T) {
	type withDef struct {
		rapyer.Model
		S types.Set[string]
	}
	defs := rapyer.Define("setdef", func(x *withDef) rapyer.Fields {
		return rapyer.Fields{x.S.Named("s").Default("x", "y", "x")}
	})
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		y := defs.New(b.Store)
		y.S.SetLocal("z", "z", "")
		noErr(t, y.Save(ctx))
		wantSlice(t, "stored", smembers(t, b, y.S.Key()), []string{"", "z"})
		y.S.SetLocal("q")
		noErr(t, y.S.Save(ctx))
		wantSlice(t, "stored", smembers(t, b, y.S.Key()), []string{"q"})

		x := defs.New(b.Store)
		if len(x.S.Local()) == 0 {
			t.Skip("Schema.New does not apply container defaults yet (model.go applies them to scalars only)")
		}
		wantLocalSet(t, &x.S, "x", "y")
		noErr(t, x.Save(ctx))
		wantSlice(t, "stored", smembers(t, b, x.S.Key()), []string{"x", "y"})
	})
}
