package types_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// spot is a plain Go struct held in a List (msgpack through the fallback).
type spot struct {
	Name string
	X    int64
	Y    float64
	Tags []string
}

// lst has a List of each kind of element: strings (native), plain structs
// (msgpack), floats (NaN does not encode) and integers (for stored garbage).
type lst struct {
	rapyer.Model
	S types.List[string]
	P types.List[spot]
	F types.List[float64]
	I types.List[int64]
}

var lsts = rapyer.Define("listt", func(o *lst) rapyer.Fields {
	return rapyer.Fields{o.S.Named("s"), o.P.Named("p"), o.F.Named("f"), o.I.Named("i")}
})

// listOf splits a space-separated list ("" is the empty list).
func listOf(s string) []string { return append([]string{}, strings.Fields(s)...) }

// newListObj saves a new object whose S holds s.
func newListObj(t *testing.T, b *testkit.Backend, s []string) *lst {
	t.Helper()
	o := lsts.New(b.Store)
	o.S.SetLocal(s...)
	noErr(t, o.Save(testkit.Ctx(t)))
	return o
}

// storedList reads a list key directly.
func storedList(t *testing.T, b *testkit.Backend, key string) []string {
	t.Helper()
	vs, err := redis.Strings(b.Do(t, "LRANGE", key, 0, -1))
	noErr(t, err)
	return append([]string{}, vs...)
}

// listVersion reads the object's listVersion counter.
func listVersion(t *testing.T, b *testkit.Backend, o *lst) int64 {
	t.Helper()
	v, ok := b.HGet(t, o.Key(), "_v")
	if !ok {
		t.Fatal("object has no _v")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	noErr(t, err)
	return n
}

// wantListItems fails unless got equals want.
func wantListItems(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// Python's semantics, the reference for the tables and the sweeps.

func pyListBound(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

func pyListSlice(xs []string, s, e int) []string {
	s, e = pyListBound(s, len(xs)), pyListBound(e, len(xs))
	if s >= e {
		return []string{}
	}
	return append([]string{}, xs[s:e]...)
}

func pyListDel(xs []string, s, e int) []string {
	s, e = pyListBound(s, len(xs)), pyListBound(e, len(xs))
	out := append([]string{}, xs...)
	if s >= e {
		return out
	}
	return append(out[:s], out[e:]...)
}

func pyListInsert(xs []string, i int, v string) []string {
	return slices.Insert(append([]string{}, xs...), pyListBound(i, len(xs)), v)
}

// pyListPop returns xs without element i and the element; ok false when i is
// outside xs.
func pyListPop(xs []string, i int) ([]string, string, bool) {
	if i < 0 {
		i += len(xs)
	}
	if i < 0 || i >= len(xs) {
		return xs, "", false
	}
	out := append([]string{}, xs...)
	return append(out[:i], out[i+1:]...), xs[i], true
}

// listRow is one operation on S: from start, run must return ret (or fail
// with err, naming field s) in one round trip, leave the stored list as
// want, the local copy equal to it, and the listVersion bumped exactly when the
// list changed.
type listRow struct {
	name  string
	start string
	run   func(ctx context.Context, l *types.List[string]) (string, error)
	ret   string
	err   error
	want  string
}

func runListRows(t *testing.T, b *testkit.Backend, rows []listRow) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			ctx := testkit.Ctx(t)
			o := newListObj(t, b, listOf(r.start))
			v0 := listVersion(t, b, o)
			var got string
			var err error
			oneTrip(t, b, func() { got, err = r.run(ctx, &o.S) })
			if r.err != nil {
				wantFieldErr(t, err, r.err, "s")
			} else {
				noErr(t, err)
				if got != r.ret {
					t.Fatalf("returned %s, want %s", got, r.ret)
				}
			}
			want := listOf(r.want)
			stored := storedList(t, b, o.S.Key())
			wantListItems(t, "stored", stored, want)
			wantListItems(t, "local", append([]string{}, o.S.Local()...), want)
			if len(want) == 0 {
				wantNoKey(t, b, o.S.Key())
			}
			changed := int64(0)
			if !slices.Equal(listOf(r.start), want) {
				changed = 1
			}
			if v := listVersion(t, b, o); v != v0+changed {
				t.Fatalf("listVersion %d -> %d, want +%d", v0, v, changed)
			}
		})
	}
}

func listRet1[A any](a A, err error) (string, error)         { return fmt.Sprint(a), err }
func listRet2[A, B any](a A, c B, err error) (string, error) { return fmt.Sprint(a, " ", c), err }
func listRet0(err error) (string, error)                     { return "", err }

const listABCDE = "a b c d e"

func TestListWrites(t *testing.T) {
	type L = types.List[string]
	type C = context.Context
	rows := []listRow{
		{"Append", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Append(ctx, "f", "g")) }, "7", nil, "a b c d e f g"},
		{"Append to empty", "", func(ctx C, l *L) (string, error) { return listRet1(l.Append(ctx, "f")) }, "1", nil, "f"},
		{"Append nothing is Len", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Append(ctx)) }, "5", nil, listABCDE},
		{"Prepend keeps order", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Prepend(ctx, "x", "y")) }, "7", nil, "x y a b c d e"},
		{"Prepend to empty", "", func(ctx C, l *L) (string, error) { return listRet1(l.Prepend(ctx, "x", "y", "z")) }, "3", nil, "x y z"},
		{"Insert 0", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 0, "x")) }, "", nil, "x a b c d e"},
		{"Insert 2", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 2, "x")) }, "", nil, "a b x c d e"},
		{"Insert -1 goes before the last", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, -1, "x")) }, "", nil, "a b c d x e"},
		{"Insert len appends", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 5, "x")) }, "", nil, "a b c d e x"},
		{"Insert past the end clamps", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 99, "x")) }, "", nil, "a b c d e x"},
		{"Insert before the start clamps", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, -99, "x")) }, "", nil, "x a b c d e"},
		{"Insert MaxInt", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, math.MaxInt, "x")) }, "", nil, "a b c d e x"},
		{"Insert MinInt", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, math.MinInt, "x")) }, "", nil, "x a b c d e"},
		{"Insert into empty", "", func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 3, "x")) }, "", nil, "x"},
		{"Insert before a duplicate (head side)", "a b a b", func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 2, "x")) }, "", nil, "a b x a b"},
		{"Insert before a duplicate (tail side)", "a b c a b c", func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 4, "x")) }, "", nil, "a b c a x b c"},
		{"Insert before a unique pivot among duplicates", "a a b", func(ctx C, l *L) (string, error) { return listRet0(l.Insert(ctx, 2, "x")) }, "", nil, "a a x b"},
		{"Pop", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Pop(ctx)) }, "e true", nil, "a b c d"},
		{"Pop empty", "", func(ctx C, l *L) (string, error) { return listRet2(l.Pop(ctx)) }, " false", nil, ""},
		{"Pop last one", "a", func(ctx C, l *L) (string, error) { return listRet2(l.Pop(ctx)) }, "a true", nil, ""},
		{"PopFront", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopFront(ctx)) }, "a true", nil, "b c d e"},
		{"PopFront empty", "", func(ctx C, l *L) (string, error) { return listRet2(l.PopFront(ctx)) }, " false", nil, ""},
		{"PopAt 2", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 2)) }, "c true", nil, "a b d e"},
		{"PopAt 0", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 0)) }, "a true", nil, "b c d e"},
		{"PopAt 4", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 4)) }, "e true", nil, "a b c d"},
		{"PopAt -2", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, -2)) }, "d true", nil, "a b c e"},
		{"PopAt -5", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, -5)) }, "a true", nil, "b c d e"},
		{"PopAt 5 out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 5)) }, "", rapyer.ErrOutOfRange, listABCDE},
		{"PopAt -6 out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, -6)) }, "", rapyer.ErrOutOfRange, listABCDE},
		{"PopAt MinInt out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, math.MinInt)) }, "", rapyer.ErrOutOfRange, listABCDE},
		{"PopAt empty", "", func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 3)) }, " false", nil, ""},
		{"PopAt a duplicate (head side)", "a b a b a", func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 2)) }, "a true", nil, "a b b a"},
		{"PopAt a duplicate (tail side)", "x a b c a y", func(ctx C, l *L) (string, error) { return listRet2(l.PopAt(ctx, 4)) }, "a true", nil, "x a b c y"},
		{"SetAt 1", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.SetAt(ctx, 1, "x")) }, "", nil, "a x c d e"},
		{"SetAt -1", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.SetAt(ctx, -1, "x")) }, "", nil, "a b c d x"},
		{"SetAt 5 out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.SetAt(ctx, 5, "x")) }, "", rapyer.ErrOutOfRange, listABCDE},
		{"SetAt -6 out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.SetAt(ctx, -6, "x")) }, "", rapyer.ErrOutOfRange, listABCDE},
		{"SetAt empty out of range", "", func(ctx C, l *L) (string, error) { return listRet0(l.SetAt(ctx, 0, "x")) }, "", rapyer.ErrOutOfRange, ""},
		{"Remove all", "a b a c a", func(ctx C, l *L) (string, error) { return listRet1(l.Remove(ctx, "a", 0)) }, "3", nil, "b c"},
		{"Remove 2 from the front", "a b a c a", func(ctx C, l *L) (string, error) { return listRet1(l.Remove(ctx, "a", 2)) }, "2", nil, "b c a"},
		{"Remove 2 from the back", "a b a c a", func(ctx C, l *L) (string, error) { return listRet1(l.Remove(ctx, "a", -2)) }, "2", nil, "a b c"},
		{"Remove none found", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Remove(ctx, "z", 0)) }, "0", nil, listABCDE},
		{"Remove from empty", "", func(ctx C, l *L) (string, error) { return listRet1(l.Remove(ctx, "a", 0)) }, "0", nil, ""},
		{"Remove every element", "a a", func(ctx C, l *L) (string, error) { return listRet1(l.Remove(ctx, "a", 0)) }, "2", nil, ""},
		{"Clear", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Clear(ctx)) }, "", nil, ""},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { runListRows(t, b, rows) })
}

// TestListRemoveRange is Python's `del l[start:end]`.
func TestListRemoveRange(t *testing.T) {
	cases := []struct {
		name  string
		start string
		s, e  int
		want  string
		n     int // removed
	}{
		// The required cases (list a,b,c,d,e):
		{"(1,3) -> a,d,e", listABCDE, 1, 3, "a d e", 2},
		{"(1,1) no change", listABCDE, 1, 1, listABCDE, 0},
		{"(0,3) on three listOf -> empty", "a b c", 0, 3, "", 3},
		{"end past length clamps", listABCDE, 3, 99, "a b c", 2},
		{"start >= length no change", listABCDE, 5, 9, listABCDE, 0},
		{"(-2,5) -> a,b,c", listABCDE, -2, 5, "a b c", 2},
		{"(0,-1) -> e", listABCDE, 0, -1, "e", 4},
		{"(-3,-1) -> a,b,e", listABCDE, -3, -1, "a b e", 2},
		// More:
		{"start > end no change", listABCDE, 3, 1, listABCDE, 0},
		{"whole list", listABCDE, 0, 5, "", 5},
		{"start before the beginning clamps", listABCDE, -99, 2, "c d e", 2},
		{"MinInt to MaxInt", listABCDE, math.MinInt, math.MaxInt, "", 5},
		{"middle, head side moved", listABCDE, 1, 2, "a c d e", 1},
		{"middle, tail side moved", listABCDE, 3, 4, "a b c e", 1},
		{"duplicates", "a a b a a", 1, 4, "a a", 3},
		{"empty list", "", 0, 3, "", 0},
	}
	for _, c := range cases {
		want := listOf(c.want)
		if py := pyListDel(listOf(c.start), c.s, c.e); !slices.Equal(py, want) {
			t.Fatalf("%s: table says %q, Python says %q", c.name, want, py)
		}
	}
	var rows []listRow
	for _, c := range cases {
		rows = append(rows, listRow{c.name, c.start, func(ctx context.Context, l *types.List[string]) (string, error) {
			return listRet1(l.RemoveRange(ctx, c.s, c.e))
		}, strconv.Itoa(c.n), nil, c.want})
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { runListRows(t, b, rows) })
}

// listSliceCases are Python slices of a,b,c,d,e: l[s:e] is want.
var listSliceCases = []struct {
	name string
	s, e int
	want string
}{
	{"[1:3]", 1, 3, "b c"},
	{"[1:1] empty", 1, 1, ""},
	{"[0:5] all", 0, 5, listABCDE},
	{"[3:99] end past length clamps", 3, 99, "d e"},
	{"[5:9] start >= length empty", 5, 9, ""},
	{"[-2:5]", -2, 5, "d e"},
	{"[0:-1]", 0, -1, "a b c d"},
	{"[-3:-1]", -3, -1, "c d"},
	{"[0:0] end zero empty", 0, 0, ""},
	{"[-2:0] end zero empty", -2, 0, ""},
	{"[3:1] start > end empty", 3, 1, ""},
	{"[-1:-3] empty", -1, -3, ""},
	{"[-99:2] start clamps", -99, 2, "a b"},
	{"[-99:-98] empty", -99, -98, ""},
	{"[2:-99] empty", 2, -99, ""},
	{"[-5:-4]", -5, -4, "a"},
	{"[4:-1] empty", 4, -1, ""},
	{"[MinInt:MaxInt] all", math.MinInt, math.MaxInt, listABCDE},
	{"[MaxInt:MinInt] empty", math.MaxInt, math.MinInt, ""},
}

func TestListRange(t *testing.T) {
	for _, c := range listSliceCases {
		if py := pyListSlice(listOf(listABCDE), c.s, c.e); !slices.Equal(py, listOf(c.want)) {
			t.Fatalf("%s: table says %q, Python says %q", c.name, c.want, py)
		}
	}
	var rows []listRow
	for _, c := range listSliceCases {
		rows = append(rows, listRow{"Range" + c.name, listABCDE, func(ctx context.Context, l *types.List[string]) (string, error) {
			return listRet1(l.Range(ctx, c.s, c.e))
		}, fmt.Sprint(listOf(c.want)), nil, listABCDE})
	}
	rows = append(rows, listRow{"Range of empty", "", func(ctx context.Context, l *types.List[string]) (string, error) {
		return listRet1(l.Range(ctx, 0, 3))
	}, "[]", nil, ""})
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		runListRows(t, b, rows)
		// Range leaves the local copy alone (even a stale one).
		ctx := testkit.Ctx(t)
		o := newListObj(t, b, listOf(listABCDE))
		o.S.SetLocal("stale")
		got, err := o.S.Range(ctx, 1, 3)
		noErr(t, err)
		wantListItems(t, "Range", got, listOf("b c"))
		wantListItems(t, "local", o.S.Local(), listOf("stale"))
	})
}

// TestListTrim keeps l[start:end].
func TestListTrim(t *testing.T) {
	var rows []listRow
	for _, c := range listSliceCases {
		removed := 5 - len(listOf(c.want))
		rows = append(rows, listRow{"Trim" + c.name, listABCDE, func(ctx context.Context, l *types.List[string]) (string, error) {
			return listRet1(l.Trim(ctx, c.s, c.e))
		}, strconv.Itoa(removed), nil, c.want})
	}
	rows = append(rows, listRow{"Trim of empty", "", func(ctx context.Context, l *types.List[string]) (string, error) {
		return listRet1(l.Trim(ctx, 0, 3))
	}, "0", nil, ""})
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { runListRows(t, b, rows) })
}

func TestListReads(t *testing.T) {
	type L = types.List[string]
	type C = context.Context
	rows := []listRow{
		{"Get 0", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, 0)) }, "a true", nil, listABCDE},
		{"Get -1", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, -1)) }, "e true", nil, listABCDE},
		{"Get -5", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, -5)) }, "a true", nil, listABCDE},
		{"Get 5 out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, 5)) }, " false", nil, listABCDE},
		{"Get -6 out of range", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, -6)) }, " false", nil, listABCDE},
		{"Get MaxInt", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, math.MaxInt)) }, " false", nil, listABCDE},
		{"Get MinInt", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, math.MinInt)) }, " false", nil, listABCDE},
		{"Get of empty", "", func(ctx C, l *L) (string, error) { return listRet2(l.Get(ctx, 0)) }, " false", nil, ""},
		{"Index", "a b c b", func(ctx C, l *L) (string, error) { return listRet2(l.Index(ctx, "b")) }, "1 true", nil, "a b c b"},
		{"Index missing", listABCDE, func(ctx C, l *L) (string, error) { return listRet2(l.Index(ctx, "z")) }, "0 false", nil, listABCDE},
		{"Index of empty", "", func(ctx C, l *L) (string, error) { return listRet2(l.Index(ctx, "a")) }, "0 false", nil, ""},
		{"Contains", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Contains(ctx, "e")) }, "true", nil, listABCDE},
		{"Contains missing", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Contains(ctx, "z")) }, "false", nil, listABCDE},
		{"Contains of empty", "", func(ctx C, l *L) (string, error) { return listRet1(l.Contains(ctx, "a")) }, "false", nil, ""},
		{"Len", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.Len(ctx)) }, "5", nil, listABCDE},
		{"Len of empty", "", func(ctx C, l *L) (string, error) { return listRet1(l.Len(ctx)) }, "0", nil, ""},
		{"ReadAll", listABCDE, func(ctx C, l *L) (string, error) { return listRet1(l.ReadAll(ctx)) }, "[a b c d e]", nil, listABCDE},
		{"ReadAll of empty", "", func(ctx C, l *L) (string, error) { return listRet1(l.ReadAll(ctx)) }, "[]", nil, ""},
		{"Load", listABCDE, func(ctx C, l *L) (string, error) { return listRet0(l.Load(ctx)) }, "", nil, listABCDE},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		runListRows(t, b, rows)
		// The empty string is an element like any other.
		ctx := testkit.Ctx(t)
		o := newListObj(t, b, []string{"", "x"})
		v, ok, err := o.S.Get(ctx, 0)
		if err != nil || !ok || v != "" {
			t.Fatalf("Get of an empty element = %q, %v, %v", v, ok, err)
		}
		i, ok, err := o.S.Index(ctx, "")
		if err != nil || !ok || i != 0 {
			t.Fatalf("Index of an empty element = %d, %v, %v", i, ok, err)
		}
	})
}

// TestListSweep checks Range, RemoveRange, Trim, Insert and PopAt against
// Python's semantics for every bound in [-7, 7], on a list without and one
// with duplicates (LINSERT/LREM address the first occurrence: the scripts
// must not) and on the empty list.
func TestListSweep(t *testing.T) {
	t.Parallel()
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newListObj(t, b, nil)
		reset := func(xs []string) {
			o.S.SetLocal(xs...)
			noErr(t, o.S.Save(ctx))
		}
		check := func(what string, want []string) {
			t.Helper()
			wantListItems(t, what+" stored", storedList(t, b, o.S.Key()), want)
			wantListItems(t, what+" local", o.S.Local(), want)
		}
		for _, start := range []string{listABCDE, "a b a c a b", ""} {
			xs := listOf(start)
			reset(xs)
			for s := -7; s <= 7; s++ {
				for e := -7; e <= 7; e++ {
					got, err := o.S.Range(ctx, s, e)
					noErr(t, err)
					wantListItems(t, fmt.Sprintf("%q[%d:%d]", start, s, e), got, pyListSlice(xs, s, e))
				}
			}
			for s := -7; s <= 7; s++ {
				for e := -7; e <= 7; e++ {
					what := fmt.Sprintf("%q RemoveRange(%d, %d)", start, s, e)
					reset(xs)
					n, err := o.S.RemoveRange(ctx, s, e)
					noErr(t, err)
					want := pyListDel(xs, s, e)
					check(what, want)
					if n != len(xs)-len(want) {
						t.Fatalf("%s removed %d", what, n)
					}
					what = fmt.Sprintf("%q Trim(%d, %d)", start, s, e)
					reset(xs)
					n, err = o.S.Trim(ctx, s, e)
					noErr(t, err)
					want = pyListSlice(xs, s, e)
					check(what, want)
					if n != len(xs)-len(want) {
						t.Fatalf("%s removed %d", what, n)
					}
				}
			}
			for i := -8; i <= 8; i++ {
				what := fmt.Sprintf("%q Insert(%d)", start, i)
				reset(xs)
				noErr(t, o.S.Insert(ctx, i, "x"))
				check(what, pyListInsert(xs, i, "x"))

				what = fmt.Sprintf("%q PopAt(%d)", start, i)
				reset(xs)
				v, ok, err := o.S.PopAt(ctx, i)
				want, wv, wok := pyListPop(xs, i)
				switch {
				case len(xs) == 0:
					if err != nil || ok {
						t.Fatalf("%s on empty: %v, %v", what, ok, err)
					}
				case !wok:
					wantFieldErr(t, err, rapyer.ErrOutOfRange, "s")
				default:
					noErr(t, err)
					if !ok || v != wv {
						t.Fatalf("%s = %q, %v, want %q", what, v, ok, wv)
					}
				}
				check(what, want)
			}
		}
	})
}

// TestListStructs runs every operation on a List of plain Go structs
// (msgpack), comparing the local copy with a fresh load after each.
func TestListStructs(t *testing.T) {
	p := func(name string) spot {
		return spot{Name: name, X: int64(len(name)), Y: 0.5, Tags: []string{name, "t"}}
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := lsts.New(b.Store)
		o.P.SetLocal(p("a"), p("b"))
		noErr(t, o.Save(ctx))
		check := func(what string, want ...spot) {
			t.Helper()
			fresh, err := lsts.Get(ctx, b.Store, o.ID())
			noErr(t, err)
			if !reflect.DeepEqual(fresh.P.Local(), want) && !(len(want) == 0 && len(fresh.P.Local()) == 0) {
				t.Fatalf("%s: stored %v, want %v", what, fresh.P.Local(), want)
			}
			if !reflect.DeepEqual(o.P.Local(), fresh.P.Local()) && !(len(want) == 0 && len(o.P.Local()) == 0) {
				t.Fatalf("%s: local %v, stored %v", what, o.P.Local(), fresh.P.Local())
			}
		}
		step := func(what string, f func() error) {
			t.Helper()
			var err error
			oneTrip(t, b, func() { err = f() })
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		step("Append", func() error { _, err := o.P.Append(ctx, p("c"), p("d")); return err })
		check("Append", p("a"), p("b"), p("c"), p("d"))
		step("Prepend", func() error { _, err := o.P.Prepend(ctx, p("x"), p("y")); return err })
		check("Prepend", p("x"), p("y"), p("a"), p("b"), p("c"), p("d"))
		step("Insert", func() error { return o.P.Insert(ctx, -2, p("i")) })
		check("Insert", p("x"), p("y"), p("a"), p("b"), p("i"), p("c"), p("d"))
		step("Pop", func() error {
			v, ok, err := o.P.Pop(ctx)
			if !ok || !reflect.DeepEqual(v, p("d")) {
				t.Fatalf("Pop = %v, %v", v, ok)
			}
			return err
		})
		step("PopFront", func() error {
			v, ok, err := o.P.PopFront(ctx)
			if !ok || !reflect.DeepEqual(v, p("x")) {
				t.Fatalf("PopFront = %v, %v", v, ok)
			}
			return err
		})
		step("PopAt", func() error {
			v, ok, err := o.P.PopAt(ctx, 1)
			if !ok || !reflect.DeepEqual(v, p("a")) {
				t.Fatalf("PopAt = %v, %v", v, ok)
			}
			return err
		})
		check("pops", p("y"), p("b"), p("i"), p("c"))
		step("Get", func() error {
			v, ok, err := o.P.Get(ctx, -1)
			if !ok || !reflect.DeepEqual(v, p("c")) {
				t.Fatalf("Get = %v, %v", v, ok)
			}
			return err
		})
		step("SetAt", func() error { return o.P.SetAt(ctx, 0, p("s")) })
		check("SetAt", p("s"), p("b"), p("i"), p("c"))
		step("Index", func() error {
			i, ok, err := o.P.Index(ctx, p("i"))
			if !ok || i != 2 {
				t.Fatalf("Index = %d, %v", i, ok)
			}
			return err
		})
		step("Contains", func() error {
			ok, err := o.P.Contains(ctx, p("nope"))
			if ok {
				t.Fatal("Contains found a missing struct")
			}
			return err
		})
		step("Range", func() error {
			vs, err := o.P.Range(ctx, 1, -1)
			if !reflect.DeepEqual(vs, []spot{p("b"), p("i")}) {
				t.Fatalf("Range = %v", vs)
			}
			return err
		})
		step("Append dup", func() error { _, err := o.P.Append(ctx, p("b")); return err })
		step("Remove", func() error {
			n, err := o.P.Remove(ctx, p("b"), -1)
			if n != 1 {
				t.Fatalf("Remove = %d", n)
			}
			return err
		})
		check("Remove", p("s"), p("b"), p("i"), p("c"))
		step("RemoveRange", func() error { _, err := o.P.RemoveRange(ctx, 1, 2); return err })
		check("RemoveRange", p("s"), p("i"), p("c"))
		step("Trim", func() error { _, err := o.P.Trim(ctx, 0, -1); return err })
		check("Trim", p("s"), p("i"))
		step("Len", func() error {
			n, err := o.P.Len(ctx)
			if n != 2 {
				t.Fatalf("Len = %d", n)
			}
			return err
		})
		o.P.SetLocal(p("l"))
		step("Save", func() error { return o.P.Save(ctx) })
		check("Save", p("l"))
		step("Load", func() error { return o.P.Load(ctx) })
		step("ReadAll", func() error { _, err := o.P.ReadAll(ctx); return err })
		check("ReadAll", p("l"))
		step("Clear", func() error { return o.P.Clear(ctx) })
		check("Clear")
	})
}

// listOpsAll is every remote operation of List[string], for the contracts that
// hold for all of them.
var listOpsAll = []struct {
	name string
	run  func(ctx context.Context, l *types.List[string]) error
}{
	{"Append", func(ctx context.Context, l *types.List[string]) error { _, err := l.Append(ctx, "x"); return err }},
	{"Prepend", func(ctx context.Context, l *types.List[string]) error { _, err := l.Prepend(ctx, "x"); return err }},
	{"Insert", func(ctx context.Context, l *types.List[string]) error { return l.Insert(ctx, 1, "x") }},
	{"Pop", func(ctx context.Context, l *types.List[string]) error { _, _, err := l.Pop(ctx); return err }},
	{"PopFront", func(ctx context.Context, l *types.List[string]) error { _, _, err := l.PopFront(ctx); return err }},
	{"PopAt", func(ctx context.Context, l *types.List[string]) error { _, _, err := l.PopAt(ctx, 1); return err }},
	{"Get", func(ctx context.Context, l *types.List[string]) error { _, _, err := l.Get(ctx, 1); return err }},
	{"SetAt", func(ctx context.Context, l *types.List[string]) error { return l.SetAt(ctx, 0, "x") }},
	{"Remove", func(ctx context.Context, l *types.List[string]) error { _, err := l.Remove(ctx, "a", 0); return err }},
	{"RemoveRange", func(ctx context.Context, l *types.List[string]) error { _, err := l.RemoveRange(ctx, 0, 1); return err }},
	{"Trim", func(ctx context.Context, l *types.List[string]) error { _, err := l.Trim(ctx, 0, 1); return err }},
	{"Range", func(ctx context.Context, l *types.List[string]) error { _, err := l.Range(ctx, 0, 2); return err }},
	{"ReadAll", func(ctx context.Context, l *types.List[string]) error { _, err := l.ReadAll(ctx); return err }},
	{"Index", func(ctx context.Context, l *types.List[string]) error { _, _, err := l.Index(ctx, "a"); return err }},
	{"Contains", func(ctx context.Context, l *types.List[string]) error { _, err := l.Contains(ctx, "a"); return err }},
	{"Len", func(ctx context.Context, l *types.List[string]) error { _, err := l.Len(ctx); return err }},
	{"Load", func(ctx context.Context, l *types.List[string]) error { return l.Load(ctx) }},
	{"Save", func(ctx context.Context, l *types.List[string]) error { return l.Save(ctx) }},
	{"Clear", func(ctx context.Context, l *types.List[string]) error { return l.Clear(ctx) }},
}

// TestListNotFound: on a deleted object every operation returns
// ErrNotFound naming the field, in one round trip, and writes nothing.
func TestListNotFound(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		for _, op := range listOpsAll {
			t.Run(op.name, func(t *testing.T) {
				ctx := testkit.Ctx(t)
				o := newListObj(t, b, listOf(listABCDE))
				_, err := o.Delete(ctx)
				noErr(t, err)
				oneTrip(t, b, func() { err = op.run(ctx, &o.S) })
				wantFieldErr(t, err, rapyer.ErrNotFound, "s")
				for _, k := range o.Keys() {
					wantNoKey(t, b, k)
				}
			})
		}
	})
}

// TestListBadInput: an element that does not encode (NaN) is refused with
// ErrInvalid naming the field, before anything is sent.
func TestListBadInput(t *testing.T) {
	nan := math.NaN()
	type F = types.List[float64]
	ops := []struct {
		name string
		run  func(ctx context.Context, l *F) error
	}{
		{"Append", func(ctx context.Context, l *F) error { _, err := l.Append(ctx, 1, nan); return err }},
		{"Prepend", func(ctx context.Context, l *F) error { _, err := l.Prepend(ctx, nan); return err }},
		{"Insert", func(ctx context.Context, l *F) error { return l.Insert(ctx, 0, nan) }},
		{"SetAt", func(ctx context.Context, l *F) error { return l.SetAt(ctx, 0, nan) }},
		{"Remove", func(ctx context.Context, l *F) error { _, err := l.Remove(ctx, nan, 0); return err }},
		{"Index", func(ctx context.Context, l *F) error { _, _, err := l.Index(ctx, nan); return err }},
		{"Contains", func(ctx context.Context, l *F) error { _, err := l.Contains(ctx, nan); return err }},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := lsts.New(b.Store)
		o.F.SetLocal(1.5, 2)
		noErr(t, o.Save(ctx))
		for _, op := range ops {
			t.Run(op.name, func(t *testing.T) {
				var err error
				noTrip(t, b, func() { err = op.run(ctx, &o.F) })
				wantFieldErr(t, err, rapyer.ErrInvalid, "f")
				wantListItems(t, "stored", storedList(t, b, o.F.Key()), listOf("1.5 2"))
				if got := o.F.Local(); !slices.Equal(got, []float64{1.5, 2}) {
					t.Fatalf("local %v", got)
				}
			})
		}
	})
}

// TestListStoredGarbage: stored elements that do not decode give ErrDecode
// naming the field, never a panic, for native and msgpack elements.
func TestListStoredGarbage(t *testing.T) {
	type I = types.List[int64]
	type P = types.List[spot]
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		intOps := []struct {
			name string
			run  func(l *I) error
		}{
			{"Get", func(l *I) error { _, _, err := l.Get(ctx, 1); return err }},
			{"Range", func(l *I) error { _, err := l.Range(ctx, 0, 3); return err }},
			{"ReadAll", func(l *I) error { _, err := l.ReadAll(ctx); return err }},
			{"Load", func(l *I) error { return l.Load(ctx) }},
			{"Pop", func(l *I) error { _, _, err := l.Pop(ctx); return err }},
			{"PopFront", func(l *I) error { _, _, err := l.PopFront(ctx); return err }},
			{"PopAt", func(l *I) error { _, _, err := l.PopAt(ctx, 1); return err }},
		}
		for _, op := range intOps {
			t.Run("int/"+op.name, func(t *testing.T) {
				o := lsts.New(b.Store)
				noErr(t, o.Save(ctx))
				_, err := b.Do(t, "RPUSH", o.I.Key(), "bad", "bad", "bad")
				noErr(t, err)
				wantFieldErr(t, op.run(&o.I), rapyer.ErrDecode, "i")
			})
		}
		structOps := []struct {
			name string
			run  func(l *P) error
		}{
			{"Get", func(l *P) error { _, _, err := l.Get(ctx, 0); return err }},
			{"Range", func(l *P) error { _, err := l.Range(ctx, 0, 3); return err }},
			{"ReadAll", func(l *P) error { _, err := l.ReadAll(ctx); return err }},
			{"Pop", func(l *P) error { _, _, err := l.Pop(ctx); return err }},
			{"PopAt", func(l *P) error { _, _, err := l.PopAt(ctx, 1); return err }},
		}
		for _, op := range structOps {
			t.Run("struct/"+op.name, func(t *testing.T) {
				o := lsts.New(b.Store)
				noErr(t, o.Save(ctx))
				_, err := b.Do(t, "RPUSH", o.P.Key(), "\xc1\xff", "\x92\xa1", "\xde\xff\xff")
				noErr(t, err)
				wantFieldErr(t, op.run(&o.P), rapyer.ErrDecode, "p")
			})
		}
	})
}

// TestListConcurrentAppend: 8 goroutines, each with its own handle loaded
// from the store, append 50 elements each: none is lost, each goroutine's
// elements keep their order.
func TestListConcurrentAppend(t *testing.T) {
	const workers, each = 8, 50
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newListObj(t, b, nil)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := lsts.Get(ctx, b.Store, o.ID())
				if err != nil {
					errs <- err
					return
				}
				for i := range each {
					if _, err := h.S.Append(ctx, fmt.Sprintf("%d-%d", w, i)); err != nil {
						errs <- err
						return
					}
				}
				// Its local copy saw its own appends (and perhaps no others').
				if n := len(h.S.Local()); n < each {
					errs <- fmt.Errorf("worker %d: local copy has %d elements", w, n)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		n, err := o.S.Len(ctx)
		noErr(t, err)
		if n != workers*each {
			t.Fatalf("Len = %d, want %d", n, workers*each)
		}
		all, err := o.S.ReadAll(ctx)
		noErr(t, err)
		next := make([]int, workers)
		for _, v := range all {
			var w, i int
			if _, err := fmt.Sscanf(v, "%d-%d", &w, &i); err != nil {
				t.Fatalf("element %q: %v", v, err)
			}
			if i != next[w] {
				t.Fatalf("worker %d: element %d after %d", w, i, next[w]-1)
			}
			next[w]++
		}
	})
}

// TestListLarge: 10,000 elements in one call (past Lua's unpack limit of
// about 8000) with Append and Prepend, and middle operations that move more
// than 4000 elements (the splice path, taken because of duplicates).
// (miniredis's LPUSH copies the list per element, so the embedded server's
// large prepends onto a non-empty list are quadratic: kept moderate here.)
func TestListLarge(t *testing.T) {
	const n = 10_000
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newListObj(t, b, nil)
		vs := make([]string, n)
		for i := range vs {
			vs[i] = strconv.Itoa(i % 2)
		}
		vs[0], vs[n-1] = "first", "last"
		var got int
		var err error
		oneTrip(t, b, func() { got, err = o.S.Append(ctx, vs...) })
		noErr(t, err)
		if got != n {
			t.Fatalf("Append returned %d", got)
		}
		wantListItems(t, "stored after Append", storedList(t, b, o.S.Key()), vs)
		wantListItems(t, "local after Append", o.S.Local(), vs)
		noErr(t, o.S.Clear(ctx))
		oneTrip(t, b, func() { got, err = o.S.Prepend(ctx, vs...) })
		noErr(t, err)
		if got != n {
			t.Fatalf("Prepend returned %d", got)
		}
		wantListItems(t, "stored after Prepend", storedList(t, b, o.S.Key()), vs)
		wantListItems(t, "local after Prepend", o.S.Local(), vs)
		want := slices.Clone(vs)

		noErr(t, o.S.Insert(ctx, 5500, "mid")) // tail side: 4500 moved
		want = slices.Insert(want, 5500, "mid")
		wantListItems(t, "after Insert", storedList(t, b, o.S.Key()), want)
		v, ok, err := o.S.PopAt(ctx, 5502) // tail side: 4499 moved
		noErr(t, err)
		if !ok || v != want[5502] {
			t.Fatalf("PopAt = %q, %v, want %q", v, ok, want[5502])
		}
		want = slices.Delete(want, 5502, 5503)
		wantListItems(t, "after PopAt", storedList(t, b, o.S.Key()), want)
		removed, err := o.S.RemoveRange(ctx, 4400, 4402) // head side: 4400 moved
		noErr(t, err)
		if removed != 2 {
			t.Fatalf("RemoveRange removed %d", removed)
		}
		want = slices.Delete(want, 4400, 4402)
		wantListItems(t, "after RemoveRange", storedList(t, b, o.S.Key()), want)
		wantListItems(t, "local", o.S.Local(), want)
	})
}

// TestListStaleLocal: the local copy follows only this handle's writes;
// All resynchronises it.
func TestListStaleLocal(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		o := newListObj(t, b, listOf("a b"))
		other, err := lsts.Get(ctx, b.Store, o.ID())
		noErr(t, err)
		_, err = other.S.Append(ctx, "c")
		noErr(t, err)
		_, err = o.S.Append(ctx, "d")
		noErr(t, err)
		wantListItems(t, "stale local", o.S.Local(), listOf("a b d"))
		all, err := o.S.ReadAll(ctx)
		noErr(t, err)
		wantListItems(t, "ReadAll", all, listOf("a b c d"))
		wantListItems(t, "local after All", o.S.Local(), listOf("a b c d"))
		// A pop on a stale, shorter local copy never panics.
		o.S.SetLocal()
		_, _, err = o.S.PopAt(ctx, 2)
		noErr(t, err)
		noErr(t, o.S.Insert(ctx, 2, "x"))
		noErr(t, o.S.SetAt(ctx, 2, "y"))
		_, err = o.S.RemoveRange(ctx, 1, 3)
		noErr(t, err)
		if len(o.S.Local()) > 1 {
			t.Fatalf("local %q", o.S.Local())
		}
	})
}
