package index

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// ivHas reports whether member x falls in one of ivs.
func ivHas(ivs []interval, x string) bool {
	for _, v := range ivs {
		if x >= v.lo && (v.hi == "" || x < v.hi) {
			return true
		}
	}
	return false
}

// The interval arithmetic agrees with set membership on random members.
func TestIntervalAlgebra(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, rng.IntN(3))
		for i := range b {
			b[i] = "\x00\x01ab\xff"[rng.IntN(5)]
		}
		return string(b)
	}
	randIvs := func() []interval {
		out := make([]interval, rng.IntN(4))
		for i := range out {
			out[i] = interval{word(), word()}
		}
		return out
	}
	for range 2000 {
		a, b := randIvs(), randIvs()
		na, nb := normIv(a), normIv(b)
		comp, inter := complementIv(na), intersectIv(na, nb)
		for range 20 {
			x := word()
			in := ivHas(a, x)
			if ivHas(na, x) != in {
				t.Fatalf("normIv(%q) = %q: %q in %v", a, na, x, in)
			}
			if ivHas(comp, x) == in {
				t.Fatalf("complementIv(%q) = %q: %q", na, comp, x)
			}
			if ivHas(inter, x) != (in && ivHas(b, x)) {
				t.Fatalf("intersectIv(%q, %q) = %q: %q", na, nb, inter, x)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	name, other := "user", "user"
	m := &Model{Name: &name, Fields: []Field{{Name: "age", Kind: 'i'}, {Name: "name", Kind: 's'}}}
	age := Target{Model: &name, Field: "age", Kind: 'i', Indexed: true}
	note := Target{Model: &name, Field: "note", Kind: 's'}
	tests := []struct {
		name string
		pred Pred
		q    Query
		want []string // in the message; "" for no error
	}{
		{"ok", Leaf(age, "Gte", []byte("18")), Query{Limit: -1}, nil},
		{"zero", Pred{}, Query{Limit: -1}, []string{"zero Pred"}},
		{"bad text", Leaf(age, "Eq", []byte("x")), Query{Limit: -1}, []string{"Eq", `"age"`, "sort key"}},
		{"no order", Leaf(Target{Model: &name, Field: "blob"}, "Eq", []byte("x")), Query{Limit: -1}, []string{`"blob"`, "no order"}},
		{"invalid", Invalid(age, "Lt", "NaN"), Query{Limit: -1}, []string{"Lt", `"age"`, "NaN"}},
		{"prefix on int", PrefixOf(Leaf(age, "Eq", []byte("5"))), Query{Limit: -1}, []string{"Prefix", `"age"`, "string"}},
		{"prefix keeps why", PrefixOf(Invalid(Target{Model: &name, Field: "name", Kind: 's'}, "Eq", "bad")), Query{Limit: -1}, []string{"Prefix", `"name"`, "bad"}},
		{"prefix of non-eq", PrefixOf(Leaf(age, "Gt", []byte("5"))), Query{Limit: -1}, []string{"Prefix"}},
		{"unnamed", Leaf(Target{Field: "age", Kind: 'i'}, "Eq", []byte("1")), Query{Limit: -1}, []string{"no schema"}},
		{"other model", Leaf(Target{Model: &other, Field: "age", Kind: 'i', Indexed: true}, "Eq", []byte("1")), Query{Limit: -1}, []string{"not of model"}},
		{"undriven", Leaf(note, "Eq", []byte("x")), Query{Limit: -1}, []string{"no index can drive", `"note"`}},
		{"scan", Leaf(note, "Eq", []byte("x")), Query{Limit: -1, Scan: true}, nil},
		{"order", All(), Query{Limit: -1, Order: "note"}, []string{"OrderBy", `"note"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(m, tc.pred, tc.q)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not mention %s", err, w)
				}
			}
		})
	}
}

// Not is pushed to the leaves and constants fold: the plans that match
// nothing send nothing.
func TestCompileFolds(t *testing.T) {
	name := "user"
	m := &Model{Name: &name, Fields: []Field{{Name: "age", Kind: 'i'}}}
	age := Target{Model: &name, Field: "age", Kind: 'i', Indexed: true}
	eq := func(v string) Pred { return Leaf(age, "Eq", []byte(v)) }
	tests := []struct {
		name string
		pred Pred
		none bool
	}{
		{"not all", Not(All()), true},
		{"empty in", Leaf(age, "In"), true},
		{"and of disjoint", And(eq("1"), eq("2")), true},
		{"or of disjoint", Or(eq("1"), eq("2")), false},
		{"not not", Not(Not(eq("1"))), false},
		{"between reversed", Leaf(age, "Between", []byte("5"), []byte("1")), true},
		{"and with not", And(eq("1"), Not(eq("1"))), true},
	}
	for _, tc := range tests {
		p, err := Compile(m, tc.pred, Query{Limit: -1})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.None() != tc.none {
			t.Errorf("%s: None() = %v, want %v", tc.name, p.None(), tc.none)
		}
	}
}

// A Prefix leaf holds exactly the sort keys of the strings with the prefix.
func TestPrefixOf(t *testing.T) {
	name := "user"
	tg := Target{Model: &name, Field: "name", Kind: 's', Indexed: true}
	strs := []string{"", "a", "ab", "a\x00", "a\x01", "a\xff", "b", "\xff", "\xff\xff", "\x00", "\x01\x02"}
	for _, p := range strs {
		n := PrefixOf(Leaf(tg, "Eq", []byte(p))).n
		for _, s := range strs {
			k, _ := SortKey('s', []byte(s))
			if got := ivHas(n.iv, k+"\x00id"); got != strings.HasPrefix(s, p) {
				t.Errorf("Prefix(%q) on %q: %v", p, s, got)
			}
		}
	}
}
