package types_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/serialize"
	"github.com/rapyer-go/rapyer/types"
)

// zboard has a leaderboard (string members), a priority queue (int64
// members: ties order by member bytes, so "10" before "9") and a set of
// float64 members (NaN and ±Inf members do not encode).
type zboard struct {
	rapyer.Model
	Top  types.SortedSet[string]
	Jobs types.SortedSet[int64]
	Vals types.SortedSet[float64]
}

var zboards = rapyer.Define("zsett", func(z *zboard) rapyer.Fields {
	return rapyer.Fields{z.Top.Named("top"), z.Jobs.Named("jobs"), z.Vals.Named("vals")}
})

type zm = types.Member[string]

// zsaved returns a new zboard, with set applied to it, saved.
func zsaved(t *testing.T, b *testkit.Backend, set func(z *zboard)) *zboard {
	t.Helper()
	z := zboards.New(b.Store)
	if set != nil {
		set(z)
	}
	noErr(t, z.Save(testkit.Ctx(t)))
	return z
}

// zone runs f in exactly one round trip and fails on an error.
func zone[R any](t *testing.T, b *testkit.Backend, f func() (R, error)) R {
	t.Helper()
	var r R
	var err error
	oneTrip(t, b, func() { r, err = f() })
	noErr(t, err)
	return r
}

// zone2 is zone for the (value, found, error) methods.
func zone2[R any](t *testing.T, b *testkit.Backend, f func() (R, bool, error)) (R, bool) {
	t.Helper()
	var r R
	var ok bool
	var err error
	oneTrip(t, b, func() { r, ok, err = f() })
	noErr(t, err)
	return r, ok
}

// sameScore compares scores exactly (±Inf equal to themselves).
func sameScore(a, b float64) bool { return a == b && math.Signbit(a) == math.Signbit(b) }

// wantMembers fails unless got equals want, member by member, in order.
func wantMembers[T comparable](t *testing.T, what string, got, want []types.Member[T]) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i].Value != want[i].Value || !sameScore(got[i].Score, want[i].Score) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

// wantZSynced fails unless each sorted set's local copy equals the stored
// set (read by a fresh Get).
func wantZSynced(t *testing.T, b *testkit.Backend, z *zboard) {
	t.Helper()
	fresh, err := zboards.Get(testkit.Ctx(t), b.Store, z.ID())
	noErr(t, err)
	wantMembers(t, "local top vs stored", z.Top.Local(), fresh.Top.Local())
	wantMembers(t, "local jobs vs stored", z.Jobs.Local(), fresh.Jobs.Local())
	wantMembers(t, "local vals vs stored", z.Vals.Local(), fresh.Vals.Local())
}

func zversion(t *testing.T, b *testkit.Backend, z *zboard) string {
	t.Helper()
	v, ok := b.HGet(t, z.Key(), "_v")
	if !ok {
		t.Fatal("object has no _v")
	}
	return v
}

func TestSortedSetLeaderboard(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		z := zsaved(t, b, nil)
		lb := &z.Top

		n := zone(t, b, func() (int, error) {
			return lb.AddMany(ctx, zm{"ada", 10}, zm{"bob", 2.5}, zm{"cy", 7}, zm{"dee", 7}, zm{"bob", 2})
		})
		if n != 4 {
			t.Fatalf("AddMany added %d, want 4", n)
		}
		wantMembers(t, "local", lb.Local(), []zm{{"bob", 2}, {"cy", 7}, {"dee", 7}, {"ada", 10}})

		if added := zone(t, b, func() (bool, error) { return lb.Add(ctx, "bob", 12) }); added {
			t.Fatal("Add of an existing member reported added")
		}
		if added := zone(t, b, func() (bool, error) { return lb.Add(ctx, "eve", 1) }); !added {
			t.Fatal("Add of a new member reported not added")
		}
		if s := zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "cy", 0.5) }); s != 7.5 {
			t.Fatalf("IncrScore = %v, want 7.5", s)
		}
		if s := zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "fay", 3) }); s != 3 {
			t.Fatalf("IncrScore of a new member = %v, want 3", s)
		}
		// Doubles, as Go adds them: 0.1 + 0.2 is 0.30000000000000004.
		x, y := 0.1, 0.2
		zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "gus", x) })
		if s := zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "gus", y) }); s != x+y || s == 0.3 {
			t.Fatalf("0.1 + 0.2 = %v, want %v", s, x+y)
		}
		wantZSynced(t, b, z)

		top := zone(t, b, func() ([]zm, error) { return lb.RevRangeByRank(ctx, 0, 3) })
		wantMembers(t, "top three", top, []zm{{"bob", 12}, {"ada", 10}, {"cy", 7.5}})
		wantMembers(t, "PeekMax(2)", zone(t, b, func() ([]zm, error) { return lb.PeekMax(ctx, 2) }), top[:2])
		wantMembers(t, "PeekMin(2)", zone(t, b, func() ([]zm, error) { return lb.PeekMin(ctx, 2) }), []zm{{"gus", x + y}, {"eve", 1}})
		wantMembers(t, "bottom two, ascending", zone(t, b, func() ([]zm, error) { return lb.RangeByRank(ctx, 0, 2) }), []zm{{"gus", x + y}, {"eve", 1}})

		if r, ok := zone2(t, b, func() (int, bool, error) { return lb.Rank(ctx, "ada") }); !ok || r != 5 {
			t.Fatalf("Rank(ada) = %d, %v; want 5, true", r, ok)
		}
		if r, ok := zone2(t, b, func() (int, bool, error) { return lb.RevRank(ctx, "ada") }); !ok || r != 1 {
			t.Fatalf("RevRank(ada) = %d, %v; want 1, true", r, ok)
		}
		if r, ok := zone2(t, b, func() (int, bool, error) { return lb.Rank(ctx, "zed") }); ok || r != 0 {
			t.Fatalf("Rank(zed) = %d, %v; want 0, false", r, ok)
		}
		if r, ok := zone2(t, b, func() (int, bool, error) { return lb.RevRank(ctx, "zed") }); ok || r != 0 {
			t.Fatalf("RevRank(zed) = %d, %v; want 0, false", r, ok)
		}
		if s, ok := zone2(t, b, func() (float64, bool, error) { return lb.Score(ctx, "ada") }); !ok || s != 10 {
			t.Fatalf("Score(ada) = %v, %v; want 10, true", s, ok)
		}
		if s, ok := zone2(t, b, func() (float64, bool, error) { return lb.Score(ctx, "zed") }); ok || s != 0 {
			t.Fatalf("Score(zed) = %v, %v; want 0, false", s, ok)
		}

		if n := zone(t, b, func() (int, error) { return lb.Remove(ctx, "eve", "zed", "eve") }); n != 1 {
			t.Fatalf("Remove = %d, want 1", n)
		}
		if n := zone(t, b, func() (int, error) { return lb.Remove(ctx) }); n != 0 {
			t.Fatalf("Remove() = %d, want 0", n)
		}
		if n := zone(t, b, func() (int, error) { return lb.Len(ctx) }); n != 6 {
			t.Fatalf("Len = %d, want 6", n)
		}
		wantZSynced(t, b, z)
		all := zone(t, b, func() ([]zm, error) { return lb.ReadAll(ctx) })
		wantMembers(t, "ReadAll", all, []zm{{"gus", x + y}, {"fay", 3}, {"dee", 7}, {"cy", 7.5}, {"ada", 10}, {"bob", 12}})
		wantMembers(t, "local after All", lb.Local(), all)
	})
}

type jm = types.Member[int64]

func TestSortedSetPriorityQueue(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		z := zsaved(t, b, nil)
		q := &z.Jobs
		if n := zone(t, b, func() (int, error) { return q.AddMany(ctx, jm{9, 1}, jm{10, 1}, jm{2, 0}, jm{100, 5}) }); n != 4 {
			t.Fatalf("AddMany added %d, want 4", n)
		}
		// Equal scores order by member bytes: "10" < "9".
		want := []jm{{2, 0}, {10, 1}, {9, 1}, {100, 5}}
		wantMembers(t, "local", q.Local(), want)
		wantMembers(t, "ReadAll", zone(t, b, func() ([]jm, error) { return q.ReadAll(ctx) }), want)
		wantMembers(t, "RevRangeByRank", zone(t, b, func() ([]jm, error) { return q.RevRangeByRank(ctx, 0, math.MaxInt) }),
			[]jm{{100, 5}, {9, 1}, {10, 1}, {2, 0}})

		wantMembers(t, "PopMin(2)", zone(t, b, func() ([]jm, error) { return q.PopMin(ctx, 2) }), want[:2])
		wantMembers(t, "local after PopMin", q.Local(), want[2:])
		wantZSynced(t, b, z)
		wantMembers(t, "PopMax(5)", zone(t, b, func() ([]jm, error) { return q.PopMax(ctx, 5) }), []jm{{100, 5}, {9, 1}})
		if len(q.Local()) != 0 {
			t.Fatalf("local after emptying: %v", q.Local())
		}
		wantNoKey(t, b, q.Key())

		// An empty queue: nothing, no error, nothing written.
		v := zversion(t, b, z)
		for name, f := range map[string]func() ([]jm, error){
			"PopMin":         func() ([]jm, error) { return q.PopMin(ctx, 1) },
			"PopMax":         func() ([]jm, error) { return q.PopMax(ctx, 3) },
			"PeekMin":        func() ([]jm, error) { return q.PeekMin(ctx, 1) },
			"PeekMax":        func() ([]jm, error) { return q.PeekMax(ctx, 1) },
			"RangeByRank":    func() ([]jm, error) { return q.RangeByRank(ctx, 0, math.MaxInt) },
			"RevRangeByRank": func() ([]jm, error) { return q.RevRangeByRank(ctx, -5, 5) },
			"RangeByScore":   func() ([]jm, error) { return q.RangeByScore(ctx, types.NegInf(), types.Inf()) },
			"ReadAll":        func() ([]jm, error) { return q.ReadAll(ctx) },
		} {
			if got := zone(t, b, f); len(got) != 0 {
				t.Fatalf("%s on an empty set = %v", name, got)
			}
		}
		if n := zone(t, b, func() (int, error) { return q.Len(ctx) }); n != 0 {
			t.Fatalf("Len = %d", n)
		}
		if n := zone(t, b, func() (int, error) { return q.Remove(ctx, 1, 2) }); n != 0 {
			t.Fatalf("Remove on an empty set = %d", n)
		}
		if _, ok := zone2(t, b, func() (float64, bool, error) { return q.Score(ctx, 1) }); ok {
			t.Fatal("Score found a member of an empty set")
		}
		if _, ok := zone2(t, b, func() (int, bool, error) { return q.Rank(ctx, 1) }); ok {
			t.Fatal("Rank found a member of an empty set")
		}
		if got := zversion(t, b, z); got != v {
			t.Fatalf("reads and no-op writes on an empty set bumped the version %s -> %s", v, got)
		}
		wantNoKey(t, b, q.Key())

		// Refill; Clear empties it.
		zone(t, b, func() (bool, error) { return q.Add(ctx, 7, 1) })
		oneTrip(t, b, func() { noErr(t, q.Clear(ctx)) })
		wantNoKey(t, b, q.Key())
		wantZSynced(t, b, z)
	})
}

// pySlice is Python's s[start:stop].
func pySlice[T any](s []T, start, stop int) []T {
	n := len(s)
	fix := func(i int) int {
		if i < 0 {
			i += n
			if i < 0 {
				return 0
			}
		}
		return min(i, n)
	}
	start, stop = fix(start), fix(stop)
	if start >= stop {
		return nil
	}
	return s[start:stop]
}

func TestSortedSetRangeByRankIsAPythonSlice(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		asc := []zm{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 3}, {"e", 5}}
		desc := []zm{{"e", 5}, {"d", 3}, {"c", 3}, {"b", 2}, {"a", 1}}
		z := zsaved(t, b, func(z *zboard) { z.Top.SetLocal(asc...) })
		idx := []int{math.MinInt, -1 << 40, math.MaxInt, 1 << 40}
		for i := -7; i <= 7; i++ {
			idx = append(idx, i)
		}
		for _, start := range idx {
			for _, stop := range idx {
				got := zone(t, b, func() ([]zm, error) { return z.Top.RangeByRank(ctx, start, stop) })
				wantMembers(t, fmt.Sprintf("RangeByRank(%d, %d)", start, stop), got, pySlice(asc, start, stop))
				got = zone(t, b, func() ([]zm, error) { return z.Top.RevRangeByRank(ctx, start, stop) })
				wantMembers(t, fmt.Sprintf("RevRangeByRank(%d, %d)", start, stop), got, pySlice(desc, start, stop))
			}
		}
		wantMembers(t, "PeekMin(9)", zone(t, b, func() ([]zm, error) { return z.Top.PeekMin(ctx, 9) }), asc)
		wantMembers(t, "PeekMax(math.MaxInt)", zone(t, b, func() ([]zm, error) { return z.Top.PeekMax(ctx, math.MaxInt) }), desc)
		wantMembers(t, "local unchanged by reads", z.Top.Local(), asc)
	})
}

func TestSortedSetRangeByScore(t *testing.T) {
	inf := math.Inf(1)
	all := []zm{{"n", -inf}, {"a", 1}, {"b", 2}, {"c", 2}, {"d", 3}, {"p", inf}}
	rev := func(ms []zm) []zm {
		out := make([]zm, len(ms))
		for i, m := range ms {
			out[len(ms)-1-i] = m
		}
		return out
	}
	cases := []struct {
		name     string
		min, max types.Bound
		opts     []types.ScoreOption
		want     []zm
	}{
		{"everything", types.NegInf(), types.Inf(), nil, all},
		{"everything, descending", types.NegInf(), types.Inf(), []types.ScoreOption{types.ScoreDesc()}, rev(all)},
		{"inclusive", types.Incl(1), types.Incl(2), nil, all[1:4]},
		{"exclusive both ends", types.Excl(1), types.Excl(3), nil, all[2:4]},
		{"exclusive both ends, descending", types.Excl(1), types.Excl(3), []types.ScoreOption{types.ScoreDesc()}, rev(all[2:4])},
		{"exclusive min", types.Excl(2), types.Incl(3), nil, all[4:5]},
		{"exclusive max", types.Incl(1), types.Excl(2), nil, all[1:2]},
		{"a point", types.Incl(2), types.Incl(2), nil, all[2:4]},
		{"an empty point", types.Excl(2), types.Excl(2), nil, nil},
		{"half-open point", types.Incl(2), types.Excl(2), nil, nil},
		{"min above max", types.Incl(3), types.Incl(1), nil, nil},
		{"min above max, descending", types.Incl(3), types.Incl(1), []types.ScoreOption{types.ScoreDesc()}, nil},
		{"between members", types.Incl(1.5), types.Incl(1.9), nil, nil},
		{"zero bounds", types.Bound{}, types.Incl(0), nil, nil},
		{"excluding the infinities", types.Excl(-inf), types.Excl(inf), nil, all[1:5]},
		{"excluding the infinities, descending", types.Excl(-inf), types.Excl(inf), []types.ScoreOption{types.ScoreDesc()}, rev(all[1:5])},
		{"only -inf", types.NegInf(), types.NegInf(), nil, all[:1]},
		{"only +inf", types.Inf(), types.Incl(inf), nil, all[5:]},
		{"above +inf", types.Excl(inf), types.Inf(), nil, nil},
		{"below -inf", types.NegInf(), types.Excl(-inf), nil, nil},
		{"above +inf, descending", types.Excl(inf), types.Inf(), []types.ScoreOption{types.ScoreDesc()}, nil},
		{"up to 2", types.NegInf(), types.Incl(2), nil, all[:4]},
		{"from 2", types.Incl(2), types.Inf(), nil, all[2:]},
		{"limit 0", types.NegInf(), types.Inf(), []types.ScoreOption{types.ScoreLimit(0, 0)}, nil},
		{"offset past the end", types.NegInf(), types.Inf(), []types.ScoreOption{types.ScoreLimit(6, 5)}, nil},
		{"offset far past the end", types.NegInf(), types.Inf(), []types.ScoreOption{types.ScoreLimit(math.MaxInt, 1)}, nil},
		{"offset and count", types.Incl(2), types.Inf(), []types.ScoreOption{types.ScoreLimit(2, 1)}, all[4:5]},
		{"count beyond the end", types.Excl(1), types.Inf(), []types.ScoreOption{types.ScoreLimit(1, 100)}, all[3:]},
		{"descending window", types.NegInf(), types.Inf(), []types.ScoreOption{types.ScoreDesc(), types.ScoreLimit(1, 2)}, []zm{all[4], all[3]}},
		{"descending window, option order", types.NegInf(), types.Inf(), []types.ScoreOption{types.ScoreLimit(1, 2), types.ScoreDesc()}, []zm{all[4], all[3]}},
		{"nil option", types.NegInf(), types.Incl(1), []types.ScoreOption{nil}, all[:2]},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		z := zsaved(t, b, func(z *zboard) { z.Top.SetLocal(all...) })
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := zone(t, b, func() ([]zm, error) { return z.Top.RangeByScore(ctx, c.min, c.max, c.opts...) })
				wantMembers(t, "RangeByScore", got, c.want)
			})
		}
		wantMembers(t, "local unchanged by reads", z.Top.Local(), all)
	})
}

func TestSortedSetBoundString(t *testing.T) {
	for b, want := range map[types.Bound]string{
		types.Incl(3):              "3",
		types.Excl(2.5):            "(2.5",
		types.Inf():                "+inf",
		types.NegInf():             "-inf",
		types.Excl(math.Inf(1)):    "(+inf",
		types.Incl(1e300):          "1e+300",
		{}:                         "0",
		types.Excl(-0.1 + 0.00001): "(-0.09999",
	} {
		if got := b.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestSortedSetInfiniteScores(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		inf := math.Inf(1)
		z := zsaved(t, b, nil)
		lb := &z.Top
		zone(t, b, func() (int, error) {
			return lb.AddMany(ctx, zm{"top", inf}, zm{"bottom", -inf}, zm{"big", math.MaxFloat64}, zm{"tiny", 5e-324}, zm{"neg", -math.MaxFloat64})
		})
		want := []zm{{"bottom", -inf}, {"neg", -math.MaxFloat64}, {"tiny", 5e-324}, {"big", math.MaxFloat64}, {"top", inf}}
		wantMembers(t, "local", lb.Local(), want)
		wantMembers(t, "ReadAll", zone(t, b, func() ([]zm, error) { return lb.ReadAll(ctx) }), want)
		for _, m := range want {
			if s, ok := zone2(t, b, func() (float64, bool, error) { return lb.Score(ctx, m.Value) }); !ok || !sameScore(s, m.Score) {
				t.Fatalf("Score(%s) = %v, %v; want %v", m.Value, s, ok, m.Score)
			}
		}
		wantZSynced(t, b, z)

		if s := zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "top", 1) }); s != inf {
			t.Fatalf("+inf + 1 = %v", s)
		}
		if s := zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "big", math.MaxFloat64) }); s != inf {
			t.Fatalf("MaxFloat64 + MaxFloat64 = %v, want +Inf", s)
		}
		if s := zone(t, b, func() (float64, error) { return lb.IncrScore(ctx, "fresh", -inf) }); s != -inf {
			t.Fatalf("0 - inf = %v", s)
		}
		// +Inf plus -Inf is NaN: refused, nothing written.
		v := zversion(t, b, z)
		for _, c := range []struct {
			member string
			d      float64
		}{{"top", -inf}, {"bottom", inf}} {
			var err error
			oneTrip(t, b, func() { _, err = lb.IncrScore(ctx, c.member, c.d) })
			wantFieldErr(t, err, rapyer.ErrInvalid, "top")
		}
		if got := zversion(t, b, z); got != v {
			t.Fatalf("a refused IncrScore bumped the version %s -> %s", v, got)
		}
		wantMembers(t, "RangeByScore(+inf)", zone(t, b, func() ([]zm, error) { return lb.RangeByScore(ctx, types.Inf(), types.Inf()) }),
			[]zm{{"big", inf}, {"top", inf}})
		wantMembers(t, "RangeByScore(-inf)", zone(t, b, func() ([]zm, error) { return lb.RangeByScore(ctx, types.NegInf(), types.NegInf()) }),
			[]zm{{"bottom", -inf}, {"fresh", -inf}})
		wantZSynced(t, b, z)
	})
}

func TestSortedSetVersion(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		z := zsaved(t, b, func(z *zboard) { z.Top.SetLocal(zm{"a", 1}) })
		lb := &z.Top
		step := func(name string, changes bool, f func() error) {
			t.Helper()
			v := zversion(t, b, z)
			oneTrip(t, b, func() { noErr(t, f()) })
			if got := zversion(t, b, z); (got != v) != changes {
				t.Fatalf("%s: version %s -> %s, want changed %v", name, v, got, changes)
			}
		}
		step("Add new", true, func() error { _, err := lb.Add(ctx, "b", 2); return err })
		step("Add same score", false, func() error { _, err := lb.Add(ctx, "b", 2); return err })
		step("Add new score", true, func() error { _, err := lb.Add(ctx, "b", 3); return err })
		step("AddMany nothing", false, func() error { _, err := lb.AddMany(ctx); return err })
		step("IncrScore by 0", false, func() error { _, err := lb.IncrScore(ctx, "b", 0); return err })
		step("IncrScore by 0 of a new member", true, func() error { _, err := lb.IncrScore(ctx, "c", 0); return err })
		step("IncrScore", true, func() error { _, err := lb.IncrScore(ctx, "c", -1); return err })
		step("Remove absent", false, func() error { _, err := lb.Remove(ctx, "zz"); return err })
		step("Remove", true, func() error { _, err := lb.Remove(ctx, "c"); return err })
		step("PopMin", true, func() error { _, err := lb.PopMin(ctx, 1); return err })
		step("PeekMax", false, func() error { _, err := lb.PeekMax(ctx, 1); return err })
		wantZSynced(t, b, z)
	})
}

func TestSortedSetLarge(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		z := zsaved(t, b, nil)
		const n = 9001 // several slices of the script's 4000 values
		ms := make([]jm, n)
		vs := make([]int64, n)
		for i := range ms {
			ms[i] = jm{int64(i), float64(n - i)}
			vs[i] = int64(i)
		}
		if got := zone(t, b, func() (int, error) { return z.Jobs.AddMany(ctx, ms...) }); got != n {
			t.Fatalf("AddMany added %d, want %d", got, n)
		}
		if got := zone(t, b, func() (int, error) { return z.Jobs.AddMany(ctx, ms...) }); got != 0 {
			t.Fatalf("AddMany again added %d, want 0", got)
		}
		if got := zone(t, b, func() (int, error) { return z.Jobs.Len(ctx) }); got != n {
			t.Fatalf("Len = %d", got)
		}
		wantZSynced(t, b, z)
		if top := zone(t, b, func() ([]jm, error) { return z.Jobs.PopMax(ctx, 2) }); len(top) != 2 || top[0] != (jm{0, n}) {
			t.Fatalf("PopMax = %v", top)
		}
		if got := zone(t, b, func() (int, error) { return z.Jobs.Remove(ctx, vs...) }); got != n-2 {
			t.Fatalf("Remove = %d, want %d", got, n-2)
		}
		wantNoKey(t, b, z.Jobs.Key())
		if len(z.Jobs.Local()) != 0 {
			t.Fatalf("local after removing everything has %d members", len(z.Jobs.Local()))
		}
	})
}

// zops is every remote operation of SortedSet, run on z.Top.
var zops = []struct {
	name string
	run  func(ctx context.Context, z *zboard) error
}{
	{"Add", func(ctx context.Context, z *zboard) error { _, err := z.Top.Add(ctx, "x", 1); return err }},
	{"AddMany", func(ctx context.Context, z *zboard) error { _, err := z.Top.AddMany(ctx, zm{"x", 1}); return err }},
	{"AddMany nothing", func(ctx context.Context, z *zboard) error { _, err := z.Top.AddMany(ctx); return err }},
	{"IncrScore", func(ctx context.Context, z *zboard) error { _, err := z.Top.IncrScore(ctx, "x", 1); return err }},
	{"Score", func(ctx context.Context, z *zboard) error { _, _, err := z.Top.Score(ctx, "x"); return err }},
	{"Rank", func(ctx context.Context, z *zboard) error { _, _, err := z.Top.Rank(ctx, "x"); return err }},
	{"RevRank", func(ctx context.Context, z *zboard) error { _, _, err := z.Top.RevRank(ctx, "x"); return err }},
	{"PopMin", func(ctx context.Context, z *zboard) error { _, err := z.Top.PopMin(ctx, 1); return err }},
	{"PopMax", func(ctx context.Context, z *zboard) error { _, err := z.Top.PopMax(ctx, 1); return err }},
	{"PeekMin", func(ctx context.Context, z *zboard) error { _, err := z.Top.PeekMin(ctx, 1); return err }},
	{"PeekMax", func(ctx context.Context, z *zboard) error { _, err := z.Top.PeekMax(ctx, 1); return err }},
	{"RangeByRank", func(ctx context.Context, z *zboard) error { _, err := z.Top.RangeByRank(ctx, 0, 5); return err }},
	{"RangeByRank empty", func(ctx context.Context, z *zboard) error { _, err := z.Top.RangeByRank(ctx, 0, 0); return err }},
	{"RevRangeByRank", func(ctx context.Context, z *zboard) error { _, err := z.Top.RevRangeByRank(ctx, 0, 5); return err }},
	{"RangeByScore", func(ctx context.Context, z *zboard) error {
		_, err := z.Top.RangeByScore(ctx, types.Excl(0), types.Inf(), types.ScoreLimit(0, 3), types.ScoreDesc())
		return err
	}},
	{"RangeByScore empty", func(ctx context.Context, z *zboard) error {
		_, err := z.Top.RangeByScore(ctx, types.Excl(math.Inf(1)), types.Inf())
		return err
	}},
	{"Remove", func(ctx context.Context, z *zboard) error { _, err := z.Top.Remove(ctx, "a"); return err }},
	{"Remove nothing", func(ctx context.Context, z *zboard) error { _, err := z.Top.Remove(ctx); return err }},
	{"ReadAll", func(ctx context.Context, z *zboard) error { _, err := z.Top.ReadAll(ctx); return err }},
	{"Load", func(ctx context.Context, z *zboard) error { return z.Top.Load(ctx) }},
	{"Len", func(ctx context.Context, z *zboard) error { _, err := z.Top.Len(ctx); return err }},
	{"Clear", func(ctx context.Context, z *zboard) error { return z.Top.Clear(ctx) }},
	{"Save", func(ctx context.Context, z *zboard) error { return z.Top.Save(ctx) }},
}

func TestSortedSetNotFound(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, op := range zops {
			t.Run(op.name, func(t *testing.T) {
				z := zsaved(t, b, func(z *zboard) { z.Top.SetLocal(zm{"a", 1}) })
				_, err := z.Delete(ctx)
				noErr(t, err)
				oneTrip(t, b, func() { err = op.run(ctx, z) })
				wantFieldErr(t, err, rapyer.ErrNotFound, "top")
				wantNoKey(t, b, z.Key())
				wantNoKey(t, b, z.Top.Key())
				if op.name != "Clear" {
					wantMembers(t, "local", z.Top.Local(), []zm{{"a", 1}})
				}
			})
		}
	})
}

// TestSortedSetEveryOpOneTrip runs every operation on a filled set in one
// round trip and checks the local copy against the server after it.
func TestSortedSetEveryOpOneTrip(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, op := range zops {
			t.Run(op.name, func(t *testing.T) {
				z := zsaved(t, b, func(z *zboard) { z.Top.SetLocal(zm{"a", 1}, zm{"b", 2}, zm{"c", 2}) })
				var err error
				oneTrip(t, b, func() { err = op.run(ctx, z) })
				noErr(t, err)
				switch op.name {
				case "Score", "Rank", "RevRank", "PeekMin", "PeekMax", "RangeByRank", "RangeByRank empty",
					"RevRangeByRank", "RangeByScore", "RangeByScore empty", "Len":
					wantMembers(t, "local unchanged by a read", z.Top.Local(), []zm{{"a", 1}, {"b", 2}, {"c", 2}})
				}
				wantZSynced(t, b, z)
			})
		}
	})
}

func TestSortedSetBadInput(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name, field string
		run         func(ctx context.Context, z *zboard) error
		says        string
	}{
		{"Add NaN", "top", func(ctx context.Context, z *zboard) error { _, err := z.Top.Add(ctx, "x", nan); return err }, "NaN"},
		{"AddMany NaN", "top", func(ctx context.Context, z *zboard) error {
			_, err := z.Top.AddMany(ctx, zm{"x", 1}, zm{"y", nan})
			return err
		}, "member 1: score is NaN"},
		{"IncrScore NaN", "top", func(ctx context.Context, z *zboard) error { _, err := z.Top.IncrScore(ctx, "x", nan); return err }, "NaN"},
		{"PopMin 0", "top", func(ctx context.Context, z *zboard) error { _, err := z.Top.PopMin(ctx, 0); return err }, "count 0"},
		{"PopMax -1", "top", func(ctx context.Context, z *zboard) error { _, err := z.Top.PopMax(ctx, -1); return err }, "count -1"},
		{"PeekMin 0", "top", func(ctx context.Context, z *zboard) error { _, err := z.Top.PeekMin(ctx, 0); return err }, "count 0"},
		{"PeekMax MinInt", "top", func(ctx context.Context, z *zboard) error { _, err := z.Top.PeekMax(ctx, math.MinInt); return err }, "count"},
		{"RangeByScore NaN min", "top", func(ctx context.Context, z *zboard) error {
			_, err := z.Top.RangeByScore(ctx, types.Incl(nan), types.Inf())
			return err
		}, "NaN"},
		{"RangeByScore NaN max", "top", func(ctx context.Context, z *zboard) error {
			_, err := z.Top.RangeByScore(ctx, types.NegInf(), types.Excl(nan))
			return err
		}, "NaN"},
		{"Limit negative offset", "top", func(ctx context.Context, z *zboard) error {
			_, err := z.Top.RangeByScore(ctx, types.NegInf(), types.Inf(), types.ScoreLimit(-1, 1))
			return err
		}, "offset -1"},
		{"Limit negative count", "top", func(ctx context.Context, z *zboard) error {
			_, err := z.Top.RangeByScore(ctx, types.NegInf(), types.Inf(), types.ScoreLimit(0, -1))
			return err
		}, "count -1"},
		{"member NaN", "vals", func(ctx context.Context, z *zboard) error { _, err := z.Vals.Add(ctx, nan, 1); return err }, ""},
		{"member +Inf in AddMany", "vals", func(ctx context.Context, z *zboard) error {
			_, err := z.Vals.AddMany(ctx, types.Member[float64]{Value: 1, Score: 1}, types.Member[float64]{Value: math.Inf(1), Score: 1})
			return err
		}, "member 1"},
		{"member NaN in IncrScore", "vals", func(ctx context.Context, z *zboard) error { _, err := z.Vals.IncrScore(ctx, nan, 1); return err }, ""},
		{"member NaN in Score", "vals", func(ctx context.Context, z *zboard) error { _, _, err := z.Vals.Score(ctx, nan); return err }, ""},
		{"member NaN in Rank", "vals", func(ctx context.Context, z *zboard) error { _, _, err := z.Vals.Rank(ctx, nan); return err }, ""},
		{"member NaN in RevRank", "vals", func(ctx context.Context, z *zboard) error { _, _, err := z.Vals.RevRank(ctx, nan); return err }, ""},
		{"member NaN in Remove", "vals", func(ctx context.Context, z *zboard) error { _, err := z.Vals.Remove(ctx, 1, nan); return err }, "member 1"},
		{"Save of a NaN score", "top", func(ctx context.Context, z *zboard) error {
			z.Top.SetLocal(zm{"x", nan})
			return z.Top.Save(ctx)
		}, "NaN"},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		z := zsaved(t, b, func(z *zboard) { z.Top.SetLocal(zm{"a", 1}) })
		v := zversion(t, b, z)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var err error
				noTrip(t, b, func() { err = c.run(ctx, z) })
				wantFieldErr(t, err, rapyer.ErrInvalid, c.field)
				if !strings.Contains(err.Error(), c.says) {
					t.Fatalf("error %q does not say %q", err, c.says)
				}
			})
		}
		if got := zversion(t, b, z); got != v {
			t.Fatalf("bad input changed the version %s -> %s", v, got)
		}
		z.Top.SetLocal(zm{"a", 1})
		wantZSynced(t, b, z)
	})
}

func TestSortedSetStoredGarbage(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		reads := map[string]func(z *zboard) error{
			"ReadAll":        func(z *zboard) error { _, err := z.Jobs.ReadAll(ctx); return err },
			"Load":           func(z *zboard) error { return z.Jobs.Load(ctx) },
			"PeekMin":        func(z *zboard) error { _, err := z.Jobs.PeekMin(ctx, 5); return err },
			"PeekMax":        func(z *zboard) error { _, err := z.Jobs.PeekMax(ctx, 5); return err },
			"RangeByRank":    func(z *zboard) error { _, err := z.Jobs.RangeByRank(ctx, 0, 5); return err },
			"RevRangeByRank": func(z *zboard) error { _, err := z.Jobs.RevRangeByRank(ctx, 0, 5); return err },
			"RangeByScore":   func(z *zboard) error { _, err := z.Jobs.RangeByScore(ctx, types.NegInf(), types.Inf()); return err },
			"PopMin":         func(z *zboard) error { _, err := z.Jobs.PopMin(ctx, 5); return err },
			"PopMax":         func(z *zboard) error { _, err := z.Jobs.PopMax(ctx, 5); return err },
		}
		// A member that is not a decimal int64.
		for name, read := range reads {
			t.Run("member/"+name, func(t *testing.T) {
				z := zsaved(t, b, func(z *zboard) { z.Jobs.SetLocal(jm{1, 1}) })
				_, err := b.Do(t, "ZADD", z.Jobs.Key(), 2, "x7")
				noErr(t, err)
				oneTrip(t, b, func() { err = read(z) })
				wantFieldErr(t, err, rapyer.ErrDecode, "jobs")
				wantMembers(t, "local", z.Jobs.Local(), []jm{{1, 1}})
			})
		}
		// A score that is not a number. Redis refuses to make one (ZINCRBY
		// of +inf by -inf is an error); the embedded server stores NaN, which
		// every read must then report as ErrDecode.
		z := zsaved(t, b, func(z *zboard) { z.Jobs.SetLocal(jm{1, 1}) })
		_, err := b.Do(t, "ZADD", z.Jobs.Key(), "+inf", 2)
		noErr(t, err)
		if _, err := b.Do(t, "ZINCRBY", z.Jobs.Key(), "-inf", 2); err != nil {
			if !strings.Contains(err.Error(), "NaN") {
				t.Fatalf("ZINCRBY +inf -inf: %v", err)
			}
			return
		}
		for name, read := range reads {
			switch name {
			case "PopMin", "PopMax":
				continue // they would pop the NaN member
			case "RangeByScore":
				continue // NaN lies in no score range
			}
			t.Run("nan/"+name, func(t *testing.T) {
				var err error
				oneTrip(t, b, func() { err = read(z) })
				wantFieldErr(t, err, rapyer.ErrDecode, "jobs")
			})
		}
		var err2 error
		oneTrip(t, b, func() { _, _, err2 = z.Jobs.Score(ctx, 2) })
		wantFieldErr(t, err2, rapyer.ErrDecode, "jobs")
		wantMembers(t, "local", z.Jobs.Local(), []jm{{1, 1}})
	})
}

// A sorted set's members are identities: a member type without a native
// encoding is refused at Define.
func TestSortedSetDefineRefusesStructMembers(t *testing.T) {
	type point struct{ X, Y int }
	type bad struct {
		rapyer.Model
		Pts types.SortedSet[point]
	}
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if r == nil || !strings.Contains(msg, `"pts"`) || !strings.Contains(msg, "native") {
			t.Fatalf("Define did not panic naming the field: %v", r)
		}
	}()
	rapyer.Define("zsetbad", func(x *bad) rapyer.Fields { return rapyer.Fields{x.Pts.Named("pts")} })
}

// A named type with a native codec is accepted.
func TestSortedSetNamedTypeWithCodec(t *testing.T) {
	type player string
	type named struct {
		rapyer.Model
		Ps types.SortedSet[player]
	}
	s := rapyer.Define("zsetnamed", func(x *named) rapyer.Fields {
		return rapyer.Fields{x.Ps.Named("ps").Codec(serialize.StringOf[player]())}
	})
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		x := s.New(b.Store)
		x.Ps.SetLocal(types.Member[player]{Value: "ada", Score: 3}, types.Member[player]{Value: "bob", Score: 1}, types.Member[player]{Value: "ada", Score: 2})
		noErr(t, x.Save(ctx))
		got := zone(t, b, func() ([]types.Member[player], error) { return x.Ps.RevRangeByRank(ctx, 0, 1) })
		wantMembers(t, "top", got, []types.Member[player]{{Value: "ada", Score: 2}})
		if s := zone(t, b, func() (float64, error) { return x.Ps.IncrScore(ctx, "bob", 1.5) }); s != 2.5 {
			t.Fatalf("IncrScore = %v", s)
		}
		wantMembers(t, "local", x.Ps.Local(), []types.Member[player]{{Value: "ada", Score: 2}, {Value: "bob", Score: 2.5}})
	})
}
