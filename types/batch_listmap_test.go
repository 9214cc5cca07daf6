package types_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// lmCase is one remote List, Map or Counter call checked queued: run alone
// on one object, and inside a Tx on two identical objects (plainly, and
// through Later or Later2 when the call returns values).
type lmCase[O, R any] struct {
	name string
	// mk returns a new saved object; every call gives an identical one, in
	// near's shard when near is not nil (NewBeside: a Tx holds both on a
	// cluster too).
	mk func(t *testing.T, b *testkit.Backend, near O) O
	// state shows the handle's local copy and the stored data.
	state func(t *testing.T, b *testkit.Backend, o O) string
	// call makes the call, its return values packed as R (rapyer.Pair for
	// two values, struct{} for none).
	call func(ctx context.Context, o O) (R, error)
	// later queues the call through rapyer.Later or Later2; nil for calls
	// that return only an error.
	later func(q context.Context, o O) *rapyer.Result[R]
	// norm, when set, normalises a result before comparing (Keys and
	// Values come in no particular order).
	norm func(R) R
}

// lmCheck checks c: queued, the call returns zero values and nil, sends
// nothing and changes nothing (local copy included) while the Tx function
// runs, and the whole Tx is one round trip;
// afterwards the local copies and the stored data equal the direct call's,
// and Later's result is the direct call's return values.
func lmCheck[O, R any](t *testing.T, b *testkit.Backend, c lmCase[O, R]) {
	t.Helper()
	t.Run(c.name, func(t *testing.T) {
		ctx := testkit.Ctx(t)
		norm := func(r R) R {
			if c.norm != nil {
				return c.norm(r)
			}
			return r
		}
		var none O
		alone := c.mk(t, b, none)
		want, err := c.call(ctx, alone)
		noErr(t, err)
		want = norm(want)
		wantState := c.state(t, b, alone)

		plain := c.mk(t, b, none)
		viaLater := c.mk(t, b, plain)
		before := c.state(t, b, plain)
		var (
			got    R
			gotErr error
			res    *rapyer.Result[R]
			inner  int
			icmds  []string
		)
		rts, cmds := b.Count(func() {
			err = b.Store.Tx(ctx, func(q context.Context) error {
				inner, icmds = b.Count(func() {
					got, gotErr = c.call(q, plain)
					if c.later != nil {
						res = c.later(q, viaLater)
					}
				})
				// Nothing happens before the queue runs: not to the
				// stored data, not to the local copies.
				for _, o := range []O{plain, viaLater} {
					if s := c.state(t, b, o); s != before {
						t.Errorf("queued, before the Tx ran: state\n%s\nwant it unchanged\n%s", s, before)
					}
				}
				return nil
			})
		})
		noErr(t, err)
		if inner != 0 || len(icmds) != 0 {
			t.Fatalf("queued call sent %d round trips (%v), want none", inner, icmds)
		}
		if rts != 1 {
			t.Fatalf("Tx: %d round trips (%v), want 1", rts, cmds)
		}
		if gotErr != nil || !reflect.ValueOf(&got).Elem().IsZero() {
			t.Fatalf("queued call returned %#v, %v; want zero values and nil", got, gotErr)
		}
		if s := c.state(t, b, plain); s != wantState {
			t.Fatalf("queued: state\n%s\nwant (the call alone)\n%s", s, wantState)
		}
		if c.later == nil {
			return
		}
		if s := c.state(t, b, viaLater); s != wantState {
			t.Fatalf("via Later: state\n%s\nwant (the call alone)\n%s", s, wantState)
		}
		v, err := res.Get()
		noErr(t, err)
		if v = norm(v); !reflect.DeepEqual(v, want) {
			t.Fatalf("Later: %#v, want %#v (the call alone)", v, want)
		}
	})
}

// lmListState shows a lst's S: local copy, stored list, object version.
func lmListState(t *testing.T, b *testkit.Backend, o *lst) string {
	t.Helper()
	v, _ := b.HGet(t, o.Key(), "_v")
	return fmt.Sprintf("local %q\nstored %q\n_v %s", o.S.Local(), storedList(t, b, o.S.Key()), v)
}

// lmList returns a maker of saved lst objects whose S holds s.
func lmList(s string) func(t *testing.T, b *testkit.Backend, near *lst) *lst {
	return func(t *testing.T, b *testkit.Backend, near *lst) *lst {
		o := lstNear(b, near)
		o.S.SetLocal(listOf(s)...)
		noErr(t, o.Save(testkit.Ctx(t)))
		return o
	}
}

// lstNear is a new lst, in near's shard when near is not nil.
func lstNear(b *testkit.Backend, near *lst) *lst {
	if near == nil {
		return lsts.New(b.Store)
	}
	return lsts.NewBeside(near)
}

func TestBatchList(t *testing.T) {
	abc := lmList("a b c a d")
	none := lmList("")
	st := lmListState
	type (
		L  = *lst
		Q  = context.Context
		PS = rapyer.Pair[string, bool]
		PI = rapyer.Pair[int, bool]
		E  = struct{}
	)
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		lmCheck(t, b, lmCase[L, int]{name: "Append", mk: abc, state: st,
			call: func(ctx Q, o L) (int, error) { return o.S.Append(ctx, "x", "y") },
			later: func(q Q, o L) *rapyer.Result[int] {
				return rapyer.Later(q, func(q Q) (int, error) { return o.S.Append(q, "x", "y") })
			}})
		lmCheck(t, b, lmCase[L, int]{name: "Append none (Len)", mk: abc, state: st,
			call: func(ctx Q, o L) (int, error) { return o.S.Append(ctx) },
			later: func(q Q, o L) *rapyer.Result[int] {
				return rapyer.Later(q, func(q Q) (int, error) { return o.S.Append(q) })
			}})
		lmCheck(t, b, lmCase[L, int]{name: "Prepend", mk: abc, state: st,
			call: func(ctx Q, o L) (int, error) { return o.S.Prepend(ctx, "x", "y") },
			later: func(q Q, o L) *rapyer.Result[int] {
				return rapyer.Later(q, func(q Q) (int, error) { return o.S.Prepend(q, "x", "y") })
			}})
		lmCheck(t, b, lmCase[L, int]{name: "Prepend empty list", mk: none, state: st,
			call: func(ctx Q, o L) (int, error) { return o.S.Prepend(ctx, "x", "y") },
			later: func(q Q, o L) *rapyer.Result[int] {
				return rapyer.Later(q, func(q Q) (int, error) { return o.S.Prepend(q, "x", "y") })
			}})
		for _, i := range []int{0, 2, 4, -1, 99} {
			lmCheck(t, b, lmCase[L, E]{name: fmt.Sprintf("Insert %d", i), mk: abc, state: st,
				call: func(ctx Q, o L) (E, error) { return E{}, o.S.Insert(ctx, i, "x") }})
		}
		lmCheck(t, b, lmCase[L, PS]{name: "Pop", mk: abc, state: st,
			call: func(ctx Q, o L) (PS, error) { v, ok, err := o.S.Pop(ctx); return PS{A: v, B: ok}, err },
			later: func(q Q, o L) *rapyer.Result[PS] {
				return rapyer.Later2(q, func(q Q) (string, bool, error) { return o.S.Pop(q) })
			}})
		lmCheck(t, b, lmCase[L, PS]{name: "Pop empty", mk: none, state: st,
			call: func(ctx Q, o L) (PS, error) { v, ok, err := o.S.Pop(ctx); return PS{A: v, B: ok}, err },
			later: func(q Q, o L) *rapyer.Result[PS] {
				return rapyer.Later2(q, func(q Q) (string, bool, error) { return o.S.Pop(q) })
			}})
		lmCheck(t, b, lmCase[L, PS]{name: "PopFront", mk: abc, state: st,
			call: func(ctx Q, o L) (PS, error) { v, ok, err := o.S.PopFront(ctx); return PS{A: v, B: ok}, err },
			later: func(q Q, o L) *rapyer.Result[PS] {
				return rapyer.Later2(q, func(q Q) (string, bool, error) { return o.S.PopFront(q) })
			}})
		for _, i := range []int{0, 1, 3, -2} {
			lmCheck(t, b, lmCase[L, PS]{name: fmt.Sprintf("PopAt %d", i), mk: abc, state: st,
				call: func(ctx Q, o L) (PS, error) { v, ok, err := o.S.PopAt(ctx, i); return PS{A: v, B: ok}, err },
				later: func(q Q, o L) *rapyer.Result[PS] {
					return rapyer.Later2(q, func(q Q) (string, bool, error) { return o.S.PopAt(q, i) })
				}})
		}
		for _, i := range []int{1, -1, 7} {
			lmCheck(t, b, lmCase[L, PS]{name: fmt.Sprintf("Get %d", i), mk: abc, state: st,
				call: func(ctx Q, o L) (PS, error) { v, ok, err := o.S.Get(ctx, i); return PS{A: v, B: ok}, err },
				later: func(q Q, o L) *rapyer.Result[PS] {
					return rapyer.Later2(q, func(q Q) (string, bool, error) { return o.S.Get(q, i) })
				}})
		}
		lmCheck(t, b, lmCase[L, E]{name: "SetAt", mk: abc, state: st,
			call: func(ctx Q, o L) (E, error) { return E{}, o.S.SetAt(ctx, -2, "x") }})
		for _, n := range []int{0, 1, -1} {
			lmCheck(t, b, lmCase[L, int]{name: fmt.Sprintf("Remove count %d", n), mk: abc, state: st,
				call: func(ctx Q, o L) (int, error) { return o.S.Remove(ctx, "a", n) },
				later: func(q Q, o L) *rapyer.Result[int] {
					return rapyer.Later(q, func(q Q) (int, error) { return o.S.Remove(q, "a", n) })
				}})
		}
		for _, r := range [][2]int{{1, 3}, {0, 2}, {-2, 99}, {3, 1}} {
			lmCheck(t, b, lmCase[L, int]{name: fmt.Sprintf("RemoveRange %v", r), mk: abc, state: st,
				call: func(ctx Q, o L) (int, error) { return o.S.RemoveRange(ctx, r[0], r[1]) },
				later: func(q Q, o L) *rapyer.Result[int] {
					return rapyer.Later(q, func(q Q) (int, error) { return o.S.RemoveRange(q, r[0], r[1]) })
				}})
			lmCheck(t, b, lmCase[L, int]{name: fmt.Sprintf("Trim %v", r), mk: abc, state: st,
				call: func(ctx Q, o L) (int, error) { return o.S.Trim(ctx, r[0], r[1]) },
				later: func(q Q, o L) *rapyer.Result[int] {
					return rapyer.Later(q, func(q Q) (int, error) { return o.S.Trim(q, r[0], r[1]) })
				}})
			lmCheck(t, b, lmCase[L, []string]{name: fmt.Sprintf("Range %v", r), mk: abc, state: st,
				call: func(ctx Q, o L) ([]string, error) { return o.S.Range(ctx, r[0], r[1]) },
				later: func(q Q, o L) *rapyer.Result[[]string] {
					return rapyer.Later(q, func(q Q) ([]string, error) { return o.S.Range(q, r[0], r[1]) })
				}})
		}
		// All makes the stored list the local copy: start from a stale one.
		stale := func(t *testing.T, b *testkit.Backend, near *lst) *lst {
			o := abc(t, b, near)
			o.S.SetLocal("stale")
			return o
		}
		lmCheck(t, b, lmCase[L, []string]{name: "ReadAll", mk: stale, state: st,
			call: func(ctx Q, o L) ([]string, error) { return o.S.ReadAll(ctx) },
			later: func(q Q, o L) *rapyer.Result[[]string] {
				return rapyer.Later(q, func(q Q) ([]string, error) { return o.S.ReadAll(q) })
			}})
		for _, v := range []string{"a", "d", "zz"} {
			lmCheck(t, b, lmCase[L, PI]{name: "Index " + v, mk: abc, state: st,
				call: func(ctx Q, o L) (PI, error) { i, ok, err := o.S.Index(ctx, v); return PI{A: i, B: ok}, err },
				later: func(q Q, o L) *rapyer.Result[PI] {
					return rapyer.Later2(q, func(q Q) (int, bool, error) { return o.S.Index(q, v) })
				}})
			lmCheck(t, b, lmCase[L, bool]{name: "Contains " + v, mk: abc, state: st,
				call: func(ctx Q, o L) (bool, error) { return o.S.Contains(ctx, v) },
				later: func(q Q, o L) *rapyer.Result[bool] {
					return rapyer.Later(q, func(q Q) (bool, error) { return o.S.Contains(q, v) })
				}})
		}
		// Elements through msgpack (the fallback codec).
		structs := func(t *testing.T, b *testkit.Backend, near *lst) *lst {
			o := lstNear(b, near)
			o.P.SetLocal(spot{Name: "p", X: 1, Tags: []string{"t"}}, spot{Name: "q", Y: 2.5})
			noErr(t, o.Save(testkit.Ctx(t)))
			return o
		}
		pst := func(t *testing.T, b *testkit.Backend, o *lst) string {
			return fmt.Sprintf("local %v\nstored len %d", o.P.Local(), len(storedList(t, b, o.P.Key())))
		}
		type PP = rapyer.Pair[spot, bool]
		lmCheck(t, b, lmCase[L, PP]{name: "Pop struct", mk: structs, state: pst,
			call: func(ctx Q, o L) (PP, error) { v, ok, err := o.P.PopFront(ctx); return PP{A: v, B: ok}, err },
			later: func(q Q, o L) *rapyer.Result[PP] {
				return rapyer.Later2(q, func(q Q) (spot, bool, error) { return o.P.PopFront(q) })
			}})
	})
}

// lmMapState shows a mapt's M and C: local copies, stored hashes, version.
func lmMapState(t *testing.T, b *testkit.Backend, m *mapt) string {
	t.Helper()
	v, _ := b.HGet(t, m.Key(), "_v")
	return fmt.Sprintf("M local %q\nM stored %q\nC local %v\nC stored %q\n_v %s",
		m.M.Local(), mapHashOf(t, b, m.M.Key()), m.C.Local(), mapHashOf(t, b, m.C.Key()), v)
}

// lmMap makes saved mapt objects with M {a:1 b:2 c:3} and C {x:5 y:-2}, the
// local copies then changed by stale (when not nil).
func lmMap(stale func(m *mapt)) func(t *testing.T, b *testkit.Backend, near *mapt) *mapt {
	return func(t *testing.T, b *testkit.Backend, near *mapt) *mapt {
		m := mapts.New(b.Store)
		if near != nil {
			m = mapts.NewBeside(near)
		}
		m.M.SetLocal(map[string]string{"a": "1", "b": "2", "c": "3"})
		m.C.SetLocal(map[string]int64{"x": 5, "y": -2})
		noErr(t, m.Save(testkit.Ctx(t)))
		if stale != nil {
			stale(m)
		}
		return m
	}
}

func TestBatchMap(t *testing.T) {
	mk := lmMap(nil)
	// A local copy that differs from the server's: Get, Pop and All must
	// bring the same changes to it queued as alone.
	stale := lmMap(func(m *mapt) {
		m.M.SetLocal(map[string]string{"a": "old", "gone": "x"})
		m.C.SetLocal(map[string]int64{"x": 99})
	})
	st := lmMapState
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	type (
		M   = *mapt
		Q   = context.Context
		PSB = rapyer.Pair[string, bool]
		PKV = rapyer.Triple[string, string, bool]
		E   = struct{}
	)
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		lmCheck(t, b, lmCase[M, E]{name: "Set", mk: mk, state: st,
			call: func(ctx Q, m M) (E, error) { return E{}, m.M.Set(ctx, "b", "two") }})
		lmCheck(t, b, lmCase[M, E]{name: "SetMany", mk: mk, state: st,
			call: func(ctx Q, m M) (E, error) { return E{}, m.M.SetMany(ctx, map[string]string{"a": "x", "z": "y"}) }})
		lmCheck(t, b, lmCase[M, E]{name: "Update", mk: mk, state: st,
			call: func(ctx Q, m M) (E, error) { return E{}, m.M.Update(ctx, map[string]string{"q": "r"}) }})
		lmCheck(t, b, lmCase[M, E]{name: "SetMany empty", mk: mk, state: st,
			call: func(ctx Q, m M) (E, error) { return E{}, m.M.SetMany(ctx, nil) }})
		for _, k := range []string{"a", "gone", "nope"} {
			lmCheck(t, b, lmCase[M, PSB]{name: "Get " + k, mk: stale, state: st,
				call: func(ctx Q, m M) (PSB, error) { v, ok, err := m.M.Get(ctx, k); return PSB{A: v, B: ok}, err },
				later: func(q Q, m M) *rapyer.Result[PSB] {
					return rapyer.Later2(q, func(q Q) (string, bool, error) { return m.M.Get(q, k) })
				}})
			lmCheck(t, b, lmCase[M, bool]{name: "Has " + k, mk: stale, state: st,
				call: func(ctx Q, m M) (bool, error) { return m.M.Has(ctx, k) },
				later: func(q Q, m M) *rapyer.Result[bool] {
					return rapyer.Later(q, func(q Q) (bool, error) { return m.M.Has(q, k) })
				}})
			lmCheck(t, b, lmCase[M, PSB]{name: "Pop " + k, mk: stale, state: st,
				call: func(ctx Q, m M) (PSB, error) { v, ok, err := m.M.Pop(ctx, k); return PSB{A: v, B: ok}, err },
				later: func(q Q, m M) *rapyer.Result[PSB] {
					return rapyer.Later2(q, func(q Q) (string, bool, error) { return m.M.Pop(q, k) })
				}})
			lmCheck(t, b, lmCase[M, string]{name: "SetDefault " + k, mk: stale, state: st,
				call: func(ctx Q, m M) (string, error) { return m.M.SetDefault(ctx, k, "dflt") },
				later: func(q Q, m M) *rapyer.Result[string] {
					return rapyer.Later(q, func(q Q) (string, error) { return m.M.SetDefault(q, k, "dflt") })
				}})
		}
		lmCheck(t, b, lmCase[M, int]{name: "Delete", mk: stale, state: st,
			call: func(ctx Q, m M) (int, error) { return m.M.Delete(ctx, "a", "gone", "c") },
			later: func(q Q, m M) *rapyer.Result[int] {
				return rapyer.Later(q, func(q Q) (int, error) { return m.M.Delete(q, "a", "gone", "c") })
			}})
		lmCheck(t, b, lmCase[M, PKV]{name: "PopItem", mk: stale, state: st,
			call:  func(ctx Q, m M) (PKV, error) { k, v, ok, err := m.M.PopItem(ctx); return PKV{A: k, B: v, C: ok}, err },
			later: func(q Q, m M) *rapyer.Result[PKV] { return rapyer.Later3(q, m.M.PopItem) }})
		lmCheck(t, b, lmCase[M, []string]{name: "Keys", mk: stale, state: st, norm: sorted,
			call: func(ctx Q, m M) ([]string, error) { return m.M.Keys(ctx) },
			later: func(q Q, m M) *rapyer.Result[[]string] {
				return rapyer.Later(q, func(q Q) ([]string, error) { return m.M.Keys(q) })
			}})
		lmCheck(t, b, lmCase[M, []string]{name: "Values", mk: stale, state: st, norm: sorted,
			call: func(ctx Q, m M) ([]string, error) { return m.M.Values(ctx) },
			later: func(q Q, m M) *rapyer.Result[[]string] {
				return rapyer.Later(q, func(q Q) ([]string, error) { return m.M.Values(q) })
			}})
		lmCheck(t, b, lmCase[M, map[string]string]{name: "ReadAll", mk: stale, state: st,
			call: func(ctx Q, m M) (map[string]string, error) { return m.M.ReadAll(ctx) },
			later: func(q Q, m M) *rapyer.Result[map[string]string] {
				return rapyer.Later(q, func(q Q) (map[string]string, error) { return m.M.ReadAll(q) })
			}})

		// Counter: its own operations, and the Map ones it inherits.
		for _, c := range []struct {
			name string
			f    func(ctx Q, m M) (int64, error)
		}{
			{"Incr", func(ctx Q, m M) (int64, error) { return m.C.Incr(ctx, "x", 7) }},
			{"Incr new key", func(ctx Q, m M) (int64, error) { return m.C.Incr(ctx, "new", math.MaxInt64) }},
			{"Decr", func(ctx Q, m M) (int64, error) { return m.C.Decr(ctx, "y", math.MinInt64+10) }},
			{"Incr by one", func(ctx Q, m M) (int64, error) { return m.C.Incr(ctx, "y", 1) }},
			{"Decr by one", func(ctx Q, m M) (int64, error) { return m.C.Decr(ctx, "x", 1) }},
		} {
			lmCheck(t, b, lmCase[M, int64]{name: "Counter." + c.name, mk: stale, state: st,
				call: c.f,
				later: func(q Q, m M) *rapyer.Result[int64] {
					return rapyer.Later(q, func(q Q) (int64, error) { return c.f(q, m) })
				}})
		}
		type PCB = rapyer.Pair[int64, bool]
		lmCheck(t, b, lmCase[M, PCB]{name: "Counter.Get", mk: stale, state: st,
			call: func(ctx Q, m M) (PCB, error) { v, ok, err := m.C.Get(ctx, "y"); return PCB{A: v, B: ok}, err },
			later: func(q Q, m M) *rapyer.Result[PCB] {
				return rapyer.Later2(q, func(q Q) (int64, bool, error) { return m.C.Get(q, "y") })
			}})
		lmCheck(t, b, lmCase[M, map[string]int64]{name: "Counter.ReadAll", mk: stale, state: st,
			call: func(ctx Q, m M) (map[string]int64, error) { return m.C.ReadAll(ctx) },
			later: func(q Q, m M) *rapyer.Result[map[string]int64] {
				return rapyer.Later(q, func(q Q) (map[string]int64, error) { return m.C.ReadAll(q) })
			}})
	})
}

// TestBatchListMapSequence: several calls on the same handles in one Tx
// complete in order: the local copies, the stored data and every Later
// result are those of the same calls made one by one.
func TestBatchListMapSequence(t *testing.T) {
	type results struct {
		n1, n2  int
		pop     rapyer.Pair[string, bool]
		get     rapyer.Pair[string, bool]
		rng     []string
		removed int
		count   int64
		mget    rapyer.Pair[string, bool]
		item    rapyer.Triple[string, string, bool]
		all     map[string]string
	}
	type obj struct {
		l *lst
		m *mapt
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		mk := func() obj { return obj{lmList("a b c")(t, b, nil), lmMap(nil)(t, b, nil)} }
		state := func(o obj) string { return lmListState(t, b, o.l) + "\n" + lmMapState(t, b, o.m) }

		alone, queued := mk(), mk()
		var want results
		var err error
		want.n1, err = alone.l.S.Append(ctx, "d", "e")
		noErr(t, err)
		want.pop.A, want.pop.B, err = alone.l.S.PopAt(ctx, 1)
		noErr(t, err)
		noErr(t, alone.l.S.Insert(ctx, 0, "z"))
		want.get.A, want.get.B, err = alone.l.S.Get(ctx, -1)
		noErr(t, err)
		want.n2, err = alone.l.S.Prepend(ctx, "y")
		noErr(t, err)
		want.removed, err = alone.l.S.RemoveRange(ctx, 2, 4)
		noErr(t, err)
		want.rng, err = alone.l.S.Range(ctx, 0, -1)
		noErr(t, err)
		want.count, err = alone.m.C.Incr(ctx, "x", 10)
		noErr(t, err)
		noErr(t, alone.m.M.Set(ctx, "a", "new"))
		want.mget.A, want.mget.B, err = alone.m.M.Get(ctx, "a")
		noErr(t, err)
		want.item.A, want.item.B, want.item.C, err = alone.m.M.PopItem(ctx)
		noErr(t, err)
		want.all, err = alone.m.M.ReadAll(ctx)
		noErr(t, err)
		want.all = copyOf(want.all)
		wantState := state(alone)

		type Q = context.Context
		var rs struct {
			n1, n2, removed *rapyer.Result[int]
			pop, get, mget  *rapyer.Result[rapyer.Pair[string, bool]]
			rng             *rapyer.Result[[]string]
			count           *rapyer.Result[int64]
			item            *rapyer.Result[rapyer.Triple[string, string, bool]]
			all             *rapyer.Result[map[string]string]
		}
		o := queued
		// A list and a map: two models, a Tx in one slot on one server;
		// on a cluster refused, then run as a Batch (TxAcross).
		rts, cmds, err := b.TxAcross(t, ctx, func(q Q) error {
			rs.n1 = rapyer.Later(q, func(q Q) (int, error) { return o.l.S.Append(q, "d", "e") })
			rs.pop = rapyer.Later2(q, func(q Q) (string, bool, error) { return o.l.S.PopAt(q, 1) })
			if err := o.l.S.Insert(q, 0, "z"); err != nil {
				return err
			}
			rs.get = rapyer.Later2(q, func(q Q) (string, bool, error) { return o.l.S.Get(q, -1) })
			rs.n2 = rapyer.Later(q, func(q Q) (int, error) { return o.l.S.Prepend(q, "y") })
			rs.removed = rapyer.Later(q, func(q Q) (int, error) { return o.l.S.RemoveRange(q, 2, 4) })
			rs.rng = rapyer.Later(q, func(q Q) ([]string, error) { return o.l.S.Range(q, 0, -1) })
			rs.count = rapyer.Later(q, func(q Q) (int64, error) { return o.m.C.Incr(q, "x", 10) })
			if err := o.m.M.Set(q, "a", "new"); err != nil {
				return err
			}
			rs.mget = rapyer.Later2(q, func(q Q) (string, bool, error) { return o.m.M.Get(q, "a") })
			rs.item = rapyer.Later3(q, o.m.M.PopItem)
			rs.all = rapyer.Later(q, func(q Q) (map[string]string, error) { return o.m.M.ReadAll(q) })
			return nil
		}, func() string { return state(o) }, o.l.Key(), o.m.Key())
		noErr(t, err)
		if rts != 1 {
			t.Fatalf("Tx: %d round trips (%v), want 1", rts, cmds)
		}
		if s := state(o); s != wantState {
			t.Fatalf("state\n%s\nwant\n%s", s, wantState)
		}
		var got results
		for _, f := range []func() error{
			func() (err error) { got.n1, err = rs.n1.Get(); return },
			func() (err error) { got.n2, err = rs.n2.Get(); return },
			func() (err error) { got.removed, err = rs.removed.Get(); return },
			func() (err error) { got.pop, err = rs.pop.Get(); return },
			func() (err error) { got.get, err = rs.get.Get(); return },
			func() (err error) { got.mget, err = rs.mget.Get(); return },
			func() (err error) { got.rng, err = rs.rng.Get(); return },
			func() (err error) { got.count, err = rs.count.Get(); return },
			func() (err error) { got.item, err = rs.item.Get(); return },
			func() (err error) { got.all, err = rs.all.Get(); got.all = copyOf(got.all); return },
		} {
			noErr(t, f())
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Later results %+v, want %+v", got, want)
		}
	})
}

func copyOf[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestBatchListMapErrors: a call failing on the server inside a Tx comes
// back in a *rapyer.BatchError (with its sentinel, through Later too, the
// other operations run); bad input fails at queue time with nothing queued.
func TestBatchListMapErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)

		t.Run("deleted object", func(t *testing.T) {
			gone := newListObj(t, b, listOf("a b"))
			_, err := gone.Delete(ctx)
			noErr(t, err)
			gm := goneMapt(t, b)
			live := newListObj(t, b, listOf("a"))
			var pop *rapyer.Result[rapyer.Pair[string, bool]]
			var incr *rapyer.Result[int64]
			// A list and a map: on a cluster the Tx is refused, then run
			// as a Batch (TxAcross).
			_, _, err = b.TxAcross(t, ctx, func(q context.Context) error {
				pop = rapyer.Later2(q, func(q context.Context) (string, bool, error) { return gone.S.Pop(q) })
				if _, err := live.S.Append(q, "b"); err != nil {
					return err
				}
				incr = rapyer.Later(q, func(q context.Context) (int64, error) { return gm.C.Incr(q, "a", 1) })
				return nil
			}, nil, gone.Key(), live.Key(), gm.Key())
			var be *rapyer.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("Tx error %T %v, want a *rapyer.BatchError", err, err)
			}
			wantErr(t, err, rapyer.ErrNotFound)
			if be.Tx != (b.Name != "cluster") || be.Total != 3 || len(be.Failed) != 2 || be.Failed[0].Index != 0 || be.Failed[0].Op != "List.Pop" ||
				be.Failed[1].Index != 2 || be.Failed[1].Op != "Counter.Incr" {
				t.Fatalf("BatchError %+v", be)
			}
			wantFieldErr(t, be.Failed[0].Err, rapyer.ErrNotFound, "s")
			wantFieldErr(t, be.Failed[1].Err, rapyer.ErrNotFound, "c")
			if _, err := pop.Get(); !errors.Is(err, rapyer.ErrNotFound) {
				t.Fatalf("Later2 Pop: %v, want ErrNotFound", err)
			}
			if _, err := incr.Get(); !errors.Is(err, rapyer.ErrNotFound) {
				t.Fatalf("Later Incr: %v, want ErrNotFound", err)
			}
			wantListItems(t, "gone local", gone.S.Local(), listOf("a b"))
			wantNoKey(t, b, gone.S.Key())
			wantNoKey(t, b, gm.C.Key())
			wantListItems(t, "live stored", storedList(t, b, live.S.Key()), listOf("a b"))
			wantListItems(t, "live local", live.S.Local(), listOf("a b"))
		})

		t.Run("stored data that does not decode", func(t *testing.T) {
			m := newMapt(t, b, func(m *mapt) { m.P.SetLocal(map[string]payload{"k": {Name: "n"}}) })
			_, err := b.Do(t, "HSET", m.P.Key(), "k", "\xc1garbage")
			noErr(t, err)
			var got *rapyer.Result[rapyer.Pair[payload, bool]]
			err = b.Store.Batch(ctx, func(q context.Context) error {
				got = rapyer.Later2(q, func(q context.Context) (payload, bool, error) { return m.P.Get(q, "k") })
				return nil
			})
			var be *rapyer.BatchError
			if !errors.As(err, &be) || be.Tx || len(be.Failed) != 1 || be.Failed[0].Op != "Map.Get" {
				t.Fatalf("Batch error %v, want a *rapyer.BatchError for Map.Get", err)
			}
			wantFieldErr(t, be.Failed[0].Err, rapyer.ErrDecode, "p")
			if _, err := got.Get(); !errors.Is(err, rapyer.ErrDecode) {
				t.Fatalf("Later2: %v, want ErrDecode", err)
			}
			if v := m.P.Local()["k"]; v.Name != "n" {
				t.Fatalf("local %v changed", m.P.Local())
			}
		})

		t.Run("bad input at queue time", func(t *testing.T) {
			o := lsts.New(b.Store)
			o.F.SetLocal(1.5)
			noErr(t, o.Save(ctx))
			m := newMapt(t, b, func(m *mapt) { m.F.SetLocal(map[string]float64{"x": 1}) })
			nan := math.NaN()
			for name, run := range map[string]func(q context.Context) error{
				"List.Append": func(q context.Context) error { _, err := o.F.Append(q, 2, nan); return err },
				"List.Index":  func(q context.Context) error { _, _, err := o.F.Index(q, nan); return err },
				"Map.Set":     func(q context.Context) error { return m.F.Set(q, "y", nan) },
				"Map.SetDefault": func(q context.Context) error {
					_, err := m.F.SetDefault(q, "y", nan)
					return err
				},
			} {
				t.Run(name, func(t *testing.T) {
					var queueErr, later error
					var txErr error
					rts, cmds := b.Count(func() {
						txErr = b.Store.Tx(ctx, func(q context.Context) error {
							queueErr = run(q)
							_, later = rapyer.Later(q, func(q context.Context) (struct{}, error) { return struct{}{}, run(q) }).Get()
							return nil
						})
					})
					noErr(t, txErr)
					if rts != 0 {
						t.Fatalf("Tx sent %d round trips (%v): something was queued", rts, cmds)
					}
					field := "f"
					wantFieldErr(t, queueErr, rapyer.ErrInvalid, field)
					wantFieldErr(t, later, rapyer.ErrInvalid, field)
				})
			}
			wantListItems(t, "stored", storedList(t, b, o.F.Key()), listOf("1.5"))
			wantMapHash(t, b, m.F.Key(), map[string]string{"x": "1"})
		})
	})
}
