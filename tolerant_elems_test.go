package rapyer_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

type xtol struct {
	rapyer.Model
	Name  types.Str
	Nums  types.List[int64]
	Marks types.Map[string, int64]
	Ids   types.Set[int64]
	Board types.SortedSet[int64]
}

var xtols = rapyer.Define("xtol", func(x *xtol) rapyer.Fields {
	return rapyer.Fields{x.Name.Named("name"), x.Nums.Named("nums"), x.Marks.Named("marks"), x.Ids.Named("ids"), x.Board.Named("board")}
})

// TestTolerantElements: with Tolerant, an element of a List, Map, Set or
// SortedSet that does not decode drops only that element, listed in
// LoadErrors with its field and position or key; without it the load
// fails naming the field.
func TestTolerantElements(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		x := xtols.New(st)
		x.Name.Set("x")
		x.Nums.SetLocal(1, 2, 3)
		x.Marks.SetLocal(map[string]int64{"a": 1, "b": 2})
		x.Ids.SetLocal(7, 8)
		x.Board.SetLocal(types.Member[int64]{Value: 5, Score: 1}, types.Member[int64]{Value: 6, Score: 3})
		must(t, x.Save(ctx))
		k := x.Keys() // hash, nums, marks, ids, board
		_, err := b.Do(t, "LINSERT", k[1], "BEFORE", "2", "two")
		must(t, err)
		_, err = b.Do(t, "HSET", k[2], "c", "three")
		must(t, err)
		_, err = b.Do(t, "SADD", k[3], "nine")
		must(t, err)
		_, err = b.Do(t, "ZADD", k[4], 2, "ten")
		must(t, err)

		_, err = xtols.Get(ctx, st, x.ID())
		wantErr(t, err, rapyer.ErrDecode, "nums")

		var g *xtol
		trips, _ := b.Count(func() { g, err = xtols.Get(ctx, st, x.ID(), rapyer.Tolerant()) })
		must(t, err)
		if trips != 1 {
			t.Fatalf("tolerant Get: %d round trips", trips)
		}
		ids := slices.Sorted(maps.Keys(g.Ids.Local()))
		if !slices.Equal(g.Nums.Local(), []int64{1, 2, 3}) || !maps.Equal(g.Marks.Local(), map[string]int64{"a": 1, "b": 2}) ||
			!slices.Equal(ids, []int64{7, 8}) || len(g.Board.Local()) != 2 || g.Name.Get() != "x" {
			t.Fatalf("tolerant Get kept: nums %v marks %v ids %v board %v", g.Nums.Local(), g.Marks.Local(), ids, g.Board.Local())
		}
		want := map[string]string{"nums": "element 1", "marks": `key "c"`, "ids": `member "nine"`, "board": `member 1 ("ten")`}
		if len(g.LoadErrors()) != len(want) {
			t.Fatalf("LoadErrors: %v", g.LoadErrors())
		}
		for _, e := range g.LoadErrors() {
			var re *rapyer.Error
			if !errors.As(e, &re) || !errors.Is(e, rapyer.ErrDecode) || !strings.Contains(e.Error(), want[re.Field]) {
				t.Fatalf("load error %v: want field and %q", e, want[re.Field])
			}
		}

		// Reload and the loads of many objects behave the same.
		x.Nums.SetLocal(9)
		must(t, x.Reload(ctx, rapyer.Tolerant()))
		if !slices.Equal(x.Nums.Local(), []int64{1, 2, 3}) || len(x.LoadErrors()) != 4 {
			t.Fatalf("tolerant Reload: %v, %v", x.Nums.Local(), x.LoadErrors())
		}
		objs, err := rapyer.FindKeys(ctx, st, []string{x.Key()}, rapyer.Tolerant())
		must(t, err)
		if f := objs[0].(*xtol); len(f.Marks.Local()) != 2 || len(f.LoadErrors()) != 4 {
			t.Fatalf("tolerant FindKeys: %v, %v", f.Marks.Local(), f.LoadErrors())
		}
		many, err := xtols.GetMany(ctx, st, []string{x.ID()}, rapyer.Tolerant())
		must(t, err)
		if len(many[0].Board.Local()) != 2 || len(many[0].LoadErrors()) != 4 {
			t.Fatalf("tolerant GetMany: %v", many[0].LoadErrors())
		}
	})
}
