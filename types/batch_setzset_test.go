package types_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// bszCase is one remote method of Set or SortedSet, run queued in a Tx and
// alone on a twin object (same content, another id).
type bszCase[O any] struct {
	name string
	seed func(o *O) // optional, applied after the default content
	// direct calls the method alone; its values packed (R, or Pair[A, B]).
	direct func(ctx context.Context, o *O) (any, error)
	// queue calls the method with the queue context and fails unless the
	// call returned zero values and a nil error at once.
	queue func(t *testing.T, q context.Context, o *O)
	// later queues the method through Later (Later2) and returns the
	// Result's reading, packed as direct packs.
	later func(t *testing.T, q context.Context, o *O) func() (any, error)
	// random, when set, replaces the comparisons with the twin (the method
	// draws random members): it checks the queued result against the
	// object's content before (seeded) and after the Tx.
	random func(t *testing.T, b *testkit.Backend, before, after bszState, o *O, got any)
	// norm, when set, puts results in a comparable form (the server's
	// order of a draw of every member is random).
	norm func(any) any
}

// bszWantZero fails unless v is its type's zero value and err is nil.
func bszWantZero(t *testing.T, what string, err error, vs ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s queued: error %v, want nil", what, err)
	}
	for _, v := range vs {
		if rv := reflect.ValueOf(v); rv.IsValid() && !rv.IsZero() {
			t.Fatalf("%s queued: returned %#v, want the zero value", what, v)
		}
	}
}

// bsz1 is the case of a method returning (R, error).
func bsz1[O, R any](name string, f func(ctx context.Context, o *O) (R, error)) bszCase[O] {
	return bszCase[O]{
		name:   name,
		direct: func(ctx context.Context, o *O) (any, error) { return f(ctx, o) },
		queue: func(t *testing.T, q context.Context, o *O) {
			t.Helper()
			r, err := f(q, o)
			bszWantZero(t, name, err, r)
		},
		later: func(t *testing.T, q context.Context, o *O) func() (any, error) {
			res := rapyer.Later(q, func(q context.Context) (R, error) { return f(q, o) })
			return func() (any, error) { return res.Get() }
		},
	}
}

// bsz2 is the case of a method returning (A, B, error).
func bsz2[O, A, B any](name string, f func(ctx context.Context, o *O) (A, B, error)) bszCase[O] {
	return bszCase[O]{
		name: name,
		direct: func(ctx context.Context, o *O) (any, error) {
			a, b, err := f(ctx, o)
			return rapyer.Pair[A, B]{A: a, B: b}, err
		},
		queue: func(t *testing.T, q context.Context, o *O) {
			t.Helper()
			a, b, err := f(q, o)
			bszWantZero(t, name, err, a, b)
		},
		later: func(t *testing.T, q context.Context, o *O) func() (any, error) {
			res := rapyer.Later2(q, func(q context.Context) (A, B, error) { return f(q, o) })
			return func() (any, error) { return res.Get() }
		},
	}
}

// bszRandom marks c as drawing random members.
func bszRandom[O any](c bszCase[O], check func(t *testing.T, b *testkit.Backend, before, after bszState, o *O, got any)) bszCase[O] {
	c.random = check
	return c
}

// bszAnyOrder marks c's result, a []R, as being in no particular order.
func bszAnyOrder[O any, R cmp.Ordered](c bszCase[O]) bszCase[O] {
	c.norm = func(v any) any { return slices.Sorted(slices.Values(v.([]R))) }
	return c
}

// bszState is an object's content: each field's local copy and stored
// content (without keys or ids, so that twins compare equal), and its
// version.
type bszState struct {
	local, stored map[string][]string
	version       string
}

func (s bszState) String() string {
	return fmt.Sprintf("local %v, stored %v, version %s", s.local, s.stored, s.version)
}

func bszEqual(x, y bszState) bool {
	return reflect.DeepEqual(x.local, y.local) && reflect.DeepEqual(x.stored, y.stored) && x.version == y.version
}

// bszRun runs every case on objects made by mk (saved, seeded) and read by
// state.
func bszRun[O any](t *testing.T, cases []bszCase[O], mk func(t *testing.T, b *testkit.Backend, seed func(o *O)) *O, state func(t *testing.T, b *testkit.Backend, o *O) bszState) {
	t.Helper()
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ctx := testkit.Ctx(t)
				twin := mk(t, b, c.seed)
				queued := mk(t, b, c.seed)
				viaLater := mk(t, b, c.seed)
				before := state(t, b, queued)

				// Alone, on the twin.
				want, wantErr := c.direct(ctx, twin)
				if wantErr != nil {
					t.Fatalf("direct call: %v", wantErr)
				}
				wantState := state(t, b, twin)

				// Queued: the call returns zero values at once, nothing is
				// sent while fn runs, the Tx is one round trip.
				var inside int
				var txErr error
				total, cmds := b.Count(func() {
					txErr = b.Store.Tx(ctx, func(q context.Context) error {
						inside, _ = b.Count(func() { c.queue(t, q, queued) })
						return nil
					})
				})
				noErr(t, txErr)
				if inside != 0 {
					t.Fatalf("%d round trips while queueing, want 0", inside)
				}
				if total != 1 {
					t.Fatalf("Tx: %d round trips (%v), want 1", total, cmds)
				}
				gotState := state(t, b, queued)

				// Through Later: the call's own return values.
				var get func() (any, error)
				total, cmds = b.Count(func() {
					txErr = b.Store.Tx(ctx, func(q context.Context) error {
						get = c.later(t, q, viaLater)
						if _, err := get(); !errors.Is(err, rapyer.ErrNotRun) {
							t.Fatalf("Later before the Tx ran: %v, want ErrNotRun", err)
						}
						return nil
					})
				})
				noErr(t, txErr)
				if total != 1 {
					t.Fatalf("Tx with Later: %d round trips (%v), want 1", total, cmds)
				}
				got, err := get()
				noErr(t, err)
				laterState := state(t, b, viaLater)

				if c.random != nil {
					c.random(t, b, before, gotState, queued, nil)
					c.random(t, b, before, laterState, viaLater, got)
					c.random(t, b, before, wantState, twin, want)
					return
				}
				if !bszEqual(gotState, wantState) {
					t.Fatalf("after the Tx: %v\nalone: %v", gotState, wantState)
				}
				if !bszEqual(laterState, wantState) {
					t.Fatalf("after the Tx with Later: %v\nalone: %v", laterState, wantState)
				}
				if c.norm != nil {
					got, want = c.norm(got), c.norm(want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Later = %#v, alone %#v", got, want)
				}
			})
		}
	})
}

// --- Set ---

func bszSetMk(t *testing.T, b *testkit.Backend, seed func(o *setObj)) *setObj {
	t.Helper()
	return savedSet(t, b, seed)
}

func bszSorted[T comparable](m map[T]struct{}) []string {
	out := make([]string, 0, len(m))
	for v := range m {
		out = append(out, fmt.Sprint(v))
	}
	sort.Strings(out)
	return out
}

func bszSetState(t *testing.T, b *testkit.Backend, o *setObj) bszState {
	t.Helper()
	s := bszState{
		local: map[string][]string{
			"a": bszSorted(o.A.Local()), "b": bszSorted(o.B.Local()),
			"n": bszSorted(o.N.Local()), "home.s": bszSorted(o.Home.S.Local()),
		},
		stored: map[string][]string{
			"a": smembers(t, b, o.A.Key()), "b": smembers(t, b, o.B.Key()),
			"n": smembers(t, b, o.N.Key()), "home.s": smembers(t, b, o.Home.S.Key()),
		},
		version: setVersion(t, b, o),
	}
	return s
}

// bszSetPopped checks a random removal of members of A: got (packed as
// the method returns them) were members before, are gone from the stored
// set and the local copy, and the rest is as before.
func bszSetPopped(want int) func(t *testing.T, b *testkit.Backend, before, after bszState, o *setObj, got any) {
	return func(t *testing.T, b *testkit.Backend, before, after bszState, o *setObj, got any) {
		t.Helper()
		rest := after.stored["a"]
		if len(rest) != len(before.stored["a"])-want {
			t.Fatalf("stored a = %v after removing %d of %v", rest, want, before.stored["a"])
		}
		if !slices.Equal(after.local["a"], rest) {
			t.Fatalf("local a = %v, stored %v", after.local["a"], rest)
		}
		for _, f := range []string{"b", "n", "home.s"} {
			if !slices.Equal(after.stored[f], before.stored[f]) || !slices.Equal(after.local[f], before.local[f]) {
				t.Fatalf("field %s changed: %v", f, after)
			}
		}
		if got == nil { // the plain queued call: no value to check
			return
		}
		var vs []string
		switch g := got.(type) {
		case rapyer.Pair[string, bool]:
			if !g.B {
				t.Fatalf("Pop = %#v: want a member", g)
			}
			vs = []string{g.A}
		case []string:
			vs = g
		default:
			t.Fatalf("result %#v: unexpected type", got)
		}
		if len(vs) != want {
			t.Fatalf("popped %v, want %d members", vs, want)
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(rest), vs...)))
		if !slices.Equal(all, before.stored["a"]) {
			t.Fatalf("popped %v and kept %v: not a split of %v", vs, rest, before.stored["a"])
		}
	}
}

// bszSetRandom checks Random(2) on A: two distinct members, nothing changed.
func bszSetRandom(t *testing.T, b *testkit.Backend, before, after bszState, o *setObj, got any) {
	t.Helper()
	if !bszEqual(before, after) {
		t.Fatalf("Random changed the object: %v, before %v", after, before)
	}
	if got == nil {
		return
	}
	vs := slices.Sorted(slices.Values(got.([]string)))
	if len(vs) != 2 || vs[0] == vs[1] {
		t.Fatalf("Random(2) = %v, want two distinct members", vs)
	}
	for _, v := range vs {
		if !slices.Contains(before.stored["a"], v) {
			t.Fatalf("Random(2) = %v: %q is not a member of %v", vs, v, before.stored["a"])
		}
	}
}

func TestBatchSetEveryMethod(t *testing.T) {
	type O = setObj
	type C = context.Context
	one := func(o *O) { o.A.SetLocal("only") }
	empty := func(o *O) { o.A.SetLocal() }
	cases := []bszCase[O]{
		bsz1("Add", func(ctx C, o *O) (int, error) { return o.A.Add(ctx, "c", "z", "y", "z") }),
		bsz1("Add nothing", func(ctx C, o *O) (int, error) { return o.A.Add(ctx) }),
		bsz1("Add int", func(ctx C, o *O) (int, error) { return o.N.Add(ctx, 3, 10) }),
		bsz1("Remove", func(ctx C, o *O) (int, error) { return o.A.Remove(ctx, "a", "q") }),
		bsz1("Remove last", func(ctx C, o *O) (int, error) { return o.Home.S.Remove(ctx, "c", "x") }),
		bsz1("Has", func(ctx C, o *O) (bool, error) { return o.A.Has(ctx, "b") }),
		bsz1("Has not", func(ctx C, o *O) (bool, error) { return o.A.Has(ctx, "q") }),
		bsz1("Members", func(ctx C, o *O) ([]string, error) {
			o.A.SetLocal("stale") // Members replaces the local copy
			return o.A.Members(ctx)
		}),
		bsz1("Members int", func(ctx C, o *O) ([]int64, error) { return o.N.Members(ctx) }),
		bsz2("Pop of one", func(ctx C, o *O) (string, bool, error) { return o.A.Pop(ctx) }),
		bsz2("Pop of none", func(ctx C, o *O) (string, bool, error) { return o.A.Pop(ctx) }),
		bszRandom(bsz2("Pop", func(ctx C, o *O) (string, bool, error) { return o.A.Pop(ctx) }), bszSetPopped(1)),
		bszAnyOrder[O, int64](bsz1("PopN all", func(ctx C, o *O) ([]int64, error) { return o.N.PopN(ctx, 5) })),
		bsz1("PopN 0", func(ctx C, o *O) ([]string, error) { return o.A.PopN(ctx, 0) }),
		bszRandom(bsz1("PopN", func(ctx C, o *O) ([]string, error) { return o.A.PopN(ctx, 2) }), bszSetPopped(2)),
		bszAnyOrder[O, string](bsz1("Random all", func(ctx C, o *O) ([]string, error) { return o.A.Random(ctx, 10) })),
		bszRandom(bsz1("Random", func(ctx C, o *O) ([]string, error) { return o.A.Random(ctx, 2) }), bszSetRandom),
		bsz1("Union", func(ctx C, o *O) ([]string, error) { return o.A.Union(ctx, &o.B, &o.Home.S) }),
		bsz1("Intersect", func(ctx C, o *O) ([]string, error) { return o.A.Intersect(ctx, &o.B) }),
		bsz1("Diff", func(ctx C, o *O) ([]string, error) { return o.A.Diff(ctx, &o.B) }),
		bsz1("UnionStore", func(ctx C, o *O) ([]string, error) { return o.A.UnionStore(ctx, &o.B, &o.Home.S) }),
		bsz1("IntersectStore", func(ctx C, o *O) ([]string, error) { return o.A.IntersectStore(ctx, &o.Home.S) }),
		bsz1("DiffStore", func(ctx C, o *O) ([]string, error) { return o.A.DiffStore(ctx, &o.B) }),
		bsz1("UnionValues", func(ctx C, o *O) ([]string, error) { return o.A.UnionValues(ctx, "z", "a", "z") }),
		bsz1("IntersectValues", func(ctx C, o *O) ([]string, error) { return o.A.IntersectValues(ctx, "c", "z", "a", "c") }),
		bsz1("IntersectValues nothing", func(ctx C, o *O) ([]string, error) { return o.A.IntersectValues(ctx) }),
		bsz1("DiffValues", func(ctx C, o *O) ([]string, error) { return o.A.DiffValues(ctx, "b", "z") }),
		bsz1("Len", func(ctx C, o *O) (int, error) { return o.A.Len(ctx) }),
	}
	for i := range cases {
		switch cases[i].name {
		case "Pop of one":
			cases[i].seed = one
		case "Pop of none", "PopN 0":
			cases[i].seed = empty
		}
	}
	bszRun(t, cases, bszSetMk, bszSetState)
}

// --- SortedSet ---

func bszZMk(t *testing.T, b *testkit.Backend, seed func(z *zboard)) *zboard {
	t.Helper()
	return zsaved(t, b, func(z *zboard) {
		z.Top.SetLocal(zm{"a", 1}, zm{"b", 2}, zm{"c", 3}, zm{"d", 2}, zm{"e", math.Inf(1)})
		z.Jobs.SetLocal(types.Member[int64]{Value: 9, Score: 1}, types.Member[int64]{Value: 10, Score: 1})
		if seed != nil {
			seed(z)
		}
	})
}

func bszZLocal[T comparable](ms []types.Member[T]) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%v:%v", m.Value, m.Score)
	}
	return out
}

func bszZStored(t *testing.T, b *testkit.Backend, key string) []string {
	t.Helper()
	flat, err := redis.Strings(b.Do(t, "ZRANGE", key, 0, -1, "WITHSCORES"))
	noErr(t, err)
	out := make([]string, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		s := flat[i+1]
		if s == "inf" {
			s = "+Inf"
		}
		out = append(out, flat[i]+":"+s)
	}
	return out
}

func bszZState(t *testing.T, b *testkit.Backend, z *zboard) bszState {
	t.Helper()
	return bszState{
		local: map[string][]string{
			"top": bszZLocal(z.Top.Local()), "jobs": bszZLocal(z.Jobs.Local()), "vals": bszZLocal(z.Vals.Local()),
		},
		stored: map[string][]string{
			"top": bszZStored(t, b, z.Top.Key()), "jobs": bszZStored(t, b, z.Jobs.Key()), "vals": bszZStored(t, b, z.Vals.Key()),
		},
		version: zversion(t, b, z),
	}
}

func TestBatchSortedSetEveryMethod(t *testing.T) {
	type O = zboard
	type C = context.Context
	type jm = types.Member[int64]
	cases := []bszCase[O]{
		bsz1("Add new", func(ctx C, o *O) (bool, error) { return o.Top.Add(ctx, "f", 0.5) }),
		bsz1("Add existing", func(ctx C, o *O) (bool, error) { return o.Top.Add(ctx, "a", 7) }),
		bsz1("AddMany", func(ctx C, o *O) (int, error) {
			ms := []zm{{"a", 4}, {"x", -1}, {"y", 2}, {"x", 5}}
			n, err := o.Top.AddMany(ctx, ms...)
			ms[1].Value = "changed after the call" // must not reach the local copy
			return n, err
		}),
		bsz1("AddMany nothing", func(ctx C, o *O) (int, error) { return o.Top.AddMany(ctx) }),
		bsz1("IncrScore", func(ctx C, o *O) (float64, error) { return o.Top.IncrScore(ctx, "b", 2.5) }),
		bsz1("IncrScore new", func(ctx C, o *O) (float64, error) { return o.Jobs.IncrScore(ctx, 11, -3) }),
		bsz2("Score", func(ctx C, o *O) (float64, bool, error) { return o.Top.Score(ctx, "c") }),
		bsz2("Score inf", func(ctx C, o *O) (float64, bool, error) { return o.Top.Score(ctx, "e") }),
		bsz2("Score none", func(ctx C, o *O) (float64, bool, error) { return o.Top.Score(ctx, "q") }),
		bsz2("Rank", func(ctx C, o *O) (int, bool, error) { return o.Top.Rank(ctx, "d") }),
		bsz2("Rank none", func(ctx C, o *O) (int, bool, error) { return o.Top.Rank(ctx, "q") }),
		bsz2("RevRank", func(ctx C, o *O) (int, bool, error) { return o.Top.RevRank(ctx, "a") }),
		bsz2("RevRank none", func(ctx C, o *O) (int, bool, error) { return o.Top.RevRank(ctx, "q") }),
		bsz1("PopMin", func(ctx C, o *O) ([]zm, error) { return o.Top.PopMin(ctx, 2) }),
		bsz1("PopMax", func(ctx C, o *O) ([]zm, error) { return o.Top.PopMax(ctx, 2) }),
		bsz1("PopMin all", func(ctx C, o *O) ([]jm, error) { return o.Jobs.PopMin(ctx, 5) }),
		bsz1("PopMax of empty", func(ctx C, o *O) ([]types.Member[float64], error) { return o.Vals.PopMax(ctx, 1) }),
		bsz1("PeekMin", func(ctx C, o *O) ([]zm, error) { return o.Top.PeekMin(ctx, 3) }),
		bsz1("PeekMax", func(ctx C, o *O) ([]zm, error) { return o.Top.PeekMax(ctx, 3) }),
		bsz1("RangeByRank", func(ctx C, o *O) ([]zm, error) { return o.Top.RangeByRank(ctx, 1, -1) }),
		bsz1("RevRangeByRank", func(ctx C, o *O) ([]zm, error) { return o.Top.RevRangeByRank(ctx, 0, 2) }),
		bsz1("RangeByScore", func(ctx C, o *O) ([]zm, error) {
			return o.Top.RangeByScore(ctx, types.Excl(1), types.Inf(), types.ScoreDesc(), types.ScoreLimit(1, 2))
		}),
		bsz1("RangeByScore empty bound", func(ctx C, o *O) ([]zm, error) {
			return o.Top.RangeByScore(ctx, types.Excl(math.Inf(1)), types.Inf())
		}),
		bsz1("Remove", func(ctx C, o *O) (int, error) { return o.Top.Remove(ctx, "a", "q", "e") }),
		bsz1("Remove nothing", func(ctx C, o *O) (int, error) { return o.Top.Remove(ctx) }),
		bsz1("ReadAll", func(ctx C, o *O) ([]zm, error) {
			o.Top.SetLocal(zm{"stale", 1}) // All replaces the local copy
			return o.Top.ReadAll(ctx)
		}),
		bsz1("ReadAll int", func(ctx C, o *O) ([]jm, error) { return o.Jobs.ReadAll(ctx) }),
		bsz1("Len", func(ctx C, o *O) (int, error) { return o.Top.Len(ctx) }),
	}
	bszRun(t, cases, bszZMk, bszZState)
}

// TestBatchSetZSetSequence queues several calls on the same handles in one
// Tx: each completes in order, as it would have alone, and Later sees the
// effect of the calls queued before it.
func TestBatchSetZSetSequence(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := savedSet(t, b, nil)
		z := bszZMk(t, b, nil)
		var added *rapyer.Result[int]
		var members *rapyer.Result[[]string]
		var score *rapyer.Result[rapyer.Pair[float64, bool]]
		var popped *rapyer.Result[[]zm]
		var rank *rapyer.Result[rapyer.Pair[int, bool]]
		// A set and a sorted set: two models; on a cluster the Tx is
		// refused, then run as a Batch (TxAcross).
		rts, cmds, err := b.TxAcross(t, ctx, func(q context.Context) error {
			added = rapyer.Later(q, func(q context.Context) (int, error) { return o.A.Add(q, "z", "a") })
			if _, err := o.A.Remove(q, "b"); err != nil {
				return err
			}
			members = rapyer.Later(q, func(q context.Context) ([]string, error) { return o.A.Members(q) })
			if _, err := z.Top.IncrScore(q, "a", 10); err != nil {
				return err
			}
			score = rapyer.Later2(q, func(q context.Context) (float64, bool, error) { return z.Top.Score(q, "a") })
			popped = rapyer.Later(q, func(q context.Context) ([]zm, error) { return z.Top.PopMin(q, 1) })
			rank = rapyer.Later2(q, func(q context.Context) (int, bool, error) { return z.Top.RevRank(q, "a") })
			return nil
		}, nil, o.Key(), z.Key())
		noErr(t, err)
		if rts != 1 {
			t.Fatalf("round trips = %d (%v), want 1", rts, cmds)
		}
		if n, err := added.Get(); err != nil || n != 1 {
			t.Fatalf("Add = %d, %v; want 1", n, err)
		}
		ms, err := members.Get()
		noErr(t, err)
		wantSlice(t, "Members", ms, []string{"a", "c", "z"})
		wantLocalSet(t, &o.A, "a", "c", "z")
		if s, err := score.Get(); err != nil || !s.B || s.A != 11 {
			t.Fatalf("Score = %v, %v; want 11", s, err)
		}
		p, err := popped.Get()
		noErr(t, err)
		wantMembers(t, "PopMin", p, []zm{{"b", 2}})
		if r, err := rank.Get(); err != nil || !r.B || r.A != 1 {
			t.Fatalf("RevRank = %v, %v; want 1 (after e at +Inf)", r, err)
		}
		wantMembers(t, "local", z.Top.Local(), []zm{{"d", 2}, {"c", 3}, {"a", 11}, {"e", math.Inf(1)}})
		wantZSynced(t, b, z)
	})
}

// TestBatchSetZSetErrors: a failing call inside a Tx comes back in a
// *rapyer.BatchError (and in its Later Result) with the right sentinel,
// naming the field; a bad argument fails at queue time with nothing queued.
func TestBatchSetZSetErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)

		t.Run("deleted object", func(t *testing.T) {
			o := savedSet(t, b, nil)
			z := bszZMk(t, b, nil)
			_, err := o.Delete(ctx)
			noErr(t, err)
			_, err = z.Delete(ctx)
			noErr(t, err)
			var pop *rapyer.Result[rapyer.Pair[string, bool]]
			var score *rapyer.Result[rapyer.Pair[float64, bool]]
			var added *rapyer.Result[bool]
			// A set and a sorted set: on a cluster the Tx is refused, then
			// run as a Batch (TxAcross).
			_, _, err = b.TxAcross(t, ctx, func(q context.Context) error {
				pop = rapyer.Later2(q, func(q context.Context) (string, bool, error) { return o.A.Pop(q) })
				score = rapyer.Later2(q, func(q context.Context) (float64, bool, error) { return z.Top.Score(q, "a") })
				added = rapyer.Later(q, func(q context.Context) (bool, error) { return z.Top.Add(q, "a", 1) })
				return nil
			}, nil, o.Key(), z.Key())
			var be *rapyer.BatchError
			if !errors.As(err, &be) || be.Tx != (b.Name != "cluster") || be.Total != 3 || len(be.Failed) != 3 {
				t.Fatalf("Tx error %#v (%v), want a *BatchError of 3 failed of 3", err, err)
			}
			wantErr(t, err, rapyer.ErrNotFound)
			for i, f := range be.Failed {
				if f.Index != i {
					t.Fatalf("failed op %d has index %d", i, f.Index)
				}
			}
			if be.Failed[0].Op != "Set.Pop" || be.Failed[1].Op != "SortedSet.Score" || be.Failed[2].Op != "SortedSet.Add" {
				t.Fatalf("failed ops %+v", be.Failed)
			}
			if p, err := pop.Get(); p.B {
				t.Fatalf("Pop = %v, want none", p)
			} else {
				wantFieldErr(t, err, rapyer.ErrNotFound, "a")
			}
			if s, err := score.Get(); s.B {
				t.Fatalf("Score = %v, want none", s)
			} else {
				wantFieldErr(t, err, rapyer.ErrNotFound, "top")
			}
			if ok, err := added.Get(); ok {
				t.Fatal("Add reported added")
			} else {
				wantFieldErr(t, err, rapyer.ErrNotFound, "top")
			}
			if len(o.A.Local()) != 3 || len(z.Top.Local()) != 5 {
				t.Fatalf("local copies changed: %v, %v", o.A.Local(), z.Top.Local())
			}
			wantNoKey(t, b, o.A.Key())
			wantNoKey(t, b, z.Top.Key())
		})

		t.Run("stored member does not decode", func(t *testing.T) {
			o := savedSet(t, b, nil)
			_, err := b.Do(t, "SADD", o.N.Key(), "not a number")
			noErr(t, err)
			var ms *rapyer.Result[[]int64]
			err = b.Store.Batch(ctx, func(q context.Context) error {
				ms = rapyer.Later(q, func(q context.Context) ([]int64, error) { return o.N.Members(q) })
				_, err := o.A.Add(q, "z")
				return err
			})
			wantErr(t, err, rapyer.ErrDecode)
			var be *rapyer.BatchError
			if !errors.As(err, &be) || be.Tx || len(be.Failed) != 1 || be.Failed[0].Index != 0 {
				t.Fatalf("Batch error %v, want one failed operation, the first", err)
			}
			_, err = ms.Get()
			wantFieldErr(t, err, rapyer.ErrDecode, "n")
			wantLocalSet(t, &o.N, 1, 2, 3) // unchanged
			wantLocalSet(t, &o.A, "a", "b", "c", "z")
		})

		t.Run("bad input", func(t *testing.T) {
			o := savedSet(t, b, nil)
			z := bszZMk(t, b, nil)
			noTrip(t, b, func() {
				noErr(t, b.Store.Tx(ctx, func(q context.Context) error {
					_, err := o.A.PopN(q, -1)
					wantFieldErr(t, err, rapyer.ErrInvalid, "a")
					_, err = o.A.Random(q, -1)
					wantFieldErr(t, err, rapyer.ErrInvalid, "a")
					_, err = z.Top.Add(q, "a", math.NaN())
					wantFieldErr(t, err, rapyer.ErrInvalid, "top")
					_, _, err = z.Vals.Score(q, math.NaN())
					wantFieldErr(t, err, rapyer.ErrInvalid, "vals")
					_, err = z.Top.PopMin(q, 0)
					wantFieldErr(t, err, rapyer.ErrInvalid, "top")
					r := rapyer.Later(q, func(q context.Context) (float64, error) { return z.Top.IncrScore(q, "a", math.NaN()) })
					_, err = r.Get()
					wantFieldErr(t, err, rapyer.ErrInvalid, "top")
					return nil // nothing was queued: nothing is sent
				}))
			})
			if len(o.A.Local()) != 3 || len(z.Top.Local()) != 5 {
				t.Fatalf("local copies changed: %v, %v", o.A.Local(), z.Top.Local())
			}
		})
	})
}
