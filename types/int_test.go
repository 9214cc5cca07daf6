package types_test

import (
	"context"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// intOps are the arithmetic operations of types.Int by their script names.
var intOps = map[string]func(*types.Int, context.Context, int64) (int64, error){
	"add":      (*types.Int).Incr,
	"sub":      (*types.Int).Decr,
	"mul":      (*types.Int).Mul,
	"floordiv": (*types.Int).FloorDiv,
	"mod":      (*types.Int).Mod,
	"pow":      (*types.Int).Pow,
	"max":      (*types.Int).Max,
	"min":      (*types.Int).Min,
}

var (
	minI64 = big.NewInt(math.MinInt64)
	maxI64 = big.NewInt(math.MaxInt64)
)

// bigIntOp computes a op x exactly with math/big, with Python's floored //
// and %, and returns the result or the sentinel the handle must return.
func bigIntOp(op string, a, x int64) (int64, error) {
	ba, bx := big.NewInt(a), big.NewInt(x)
	r := new(big.Int)
	switch op {
	case "add":
		r.Add(ba, bx)
	case "sub":
		r.Sub(ba, bx)
	case "mul":
		r.Mul(ba, bx)
	case "floordiv", "mod":
		if x == 0 {
			return 0, rapyer.ErrDivideByZero
		}
		q, m := new(big.Int).QuoRem(ba, bx, new(big.Int))
		if m.Sign() != 0 && (m.Sign() < 0) != (bx.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
			m.Add(m, bx)
		}
		if op == "floordiv" {
			r = q
		} else {
			r = m
		}
	case "pow":
		if x < 0 {
			return 0, rapyer.ErrInvalid
		}
		if ba.CmpAbs(big.NewInt(1)) > 0 && x > 64 {
			return 0, rapyer.ErrOverflow // |a| >= 2: at least 2^65
		}
		r.Exp(ba, bx, nil)
	case "max":
		return max(a, x), nil
	case "min":
		return min(a, x), nil
	default:
		panic("unknown op " + op)
	}
	if r.Cmp(minI64) < 0 || r.Cmp(maxI64) > 0 {
		return 0, rapyer.ErrOverflow
	}
	return r.Int64(), nil
}

// intCase is one check of a sweep: start value a, operation, operand x.
type intCase struct {
	op   string
	a, x int64
}

// sweepInts checks every case against math/big: wideN cases per object, one
// Save to store the starting values, one call per case, one HGETALL to
// check what was stored. A result that fits int64 is returned, stored and
// made the local value; any other is the expected error, with the stored and
// local values unchanged.
func sweepInts(t *testing.T, b *testkit.Backend, cases []intCase) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for start := 0; start < len(cases); start += wideN {
		chunk := cases[start:min(start+wideN, len(cases))]
		w := wides.New(b.Store)
		for i, c := range chunk {
			w.I[i].Set(c.a)
		}
		noErr(t, w.Save(ctx))
		want := make([]int64, len(chunk))
		for i, c := range chunk {
			exp, expErr := bigIntOp(c.op, c.a, c.x)
			got, err := intOps[c.op](&w.I[i], ctx, c.x)
			switch {
			case expErr != nil && !errors.Is(err, expErr):
				t.Errorf("%d %s %d: error %v, want %v", c.a, c.op, c.x, err, expErr)
			case expErr == nil && err != nil:
				t.Errorf("%d %s %d: error %v, want %d", c.a, c.op, c.x, err, exp)
			case expErr == nil && got != exp:
				t.Errorf("%d %s %d = %d, want %d", c.a, c.op, c.x, got, exp)
			}
			want[i] = c.a
			if expErr == nil {
				want[i] = exp
			}
			if v, ok := w.I[i].Lookup(); !ok || v != want[i] {
				t.Errorf("%d %s %d: local value %d (present %v), want %d", c.a, c.op, c.x, v, ok, want[i])
			}
		}
		all, err := redis.StringMap(b.Do(t, "HGETALL", w.Key()))
		noErr(t, err)
		for i, c := range chunk {
			if got, ws := all[w.I[i].Name()], strconv.FormatInt(want[i], 10); got != ws {
				t.Errorf("%d %s %d: stored %q, want %q", c.a, c.op, c.x, got, ws)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// intEdges are the int64 values where exact arithmetic breaks first; every
// pair of them (mixed signs included) goes through every operation.
var intEdges = []int64{
	0, 1, -1,
	1<<53 - 1, 1<<53 + 1, -(1<<53 - 1), -(1<<53 + 1),
	math.MaxInt64, math.MinInt64,
}

func TestIntExactEdges(t *testing.T) {
	t.Parallel() // long: overlaps the other long tests
	var cases []intCase
	for _, op := range []string{"add", "sub", "mul", "floordiv", "mod"} {
		for _, a := range intEdges {
			for _, x := range intEdges {
				cases = append(cases, intCase{op, a, x})
			}
		}
	}
	// Divisors around 2^49, where the script switches division methods.
	for _, op := range []string{"floordiv", "mod"} {
		for _, a := range intEdges {
			for _, x := range []int64{1<<49 - 1, 1 << 49, 1<<49 + 1, -(1 << 49), 1<<63 - 1<<49} {
				cases = append(cases, intCase{op, a, x})
			}
		}
	}
	for _, a := range intEdges {
		for _, e := range []int64{0, 1, 2, 63, math.MaxInt64, -1} {
			cases = append(cases, intCase{"pow", a, e})
		}
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { sweepInts(t, b, cases) })
}

func TestIntExactRandom(t *testing.T) {
	t.Parallel() // long: overlaps the other long tests
	rng := rand.New(rand.NewPCG(20240601, 7))
	// Values drawn from regions where mistakes hide: anywhere, near the
	// bounds, near 2^53, near sqrt(MaxInt64), and small.
	val := func() int64 {
		switch rng.IntN(5) {
		case 0:
			return int64(rng.Uint64())
		case 1:
			if rng.IntN(2) == 0 {
				return math.MaxInt64 - rng.Int64N(1000)
			}
			return math.MinInt64 + rng.Int64N(1000)
		case 2: // k * 2^53, or around 2^49
			if rng.IntN(2) == 0 {
				return (1 << 53) * (1 - 2*rng.Int64N(2)) * (1 + rng.Int64N(512))
			}
			return (1<<49 + rng.Int64N(2001) - 1000) * (1 - 2*rng.Int64N(2))
		case 3:
			return (3037000000 + rng.Int64N(1000)) * (1 - 2*rng.Int64N(2))
		default:
			return rng.Int64N(2001) - 1000
		}
	}
	var cases []intCase
	for range 200 {
		a, x := val(), val()
		for _, op := range []string{"add", "sub", "mul", "floordiv", "mod"} {
			cases = append(cases, intCase{op, a, x})
		}
		// Exponents mostly where results still fit (or just stop fitting).
		base := a
		if rng.IntN(2) == 0 {
			base = rng.Int64N(41) - 20
		}
		cases = append(cases, intCase{"pow", base, rng.Int64N(66) - 1})
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { sweepInts(t, b, cases) })
}

// i64p returns a pointer to v, for table rows whose start may be absent.
func i64p(v int64) *int64 { return &v }

func TestIntOps(t *testing.T) {
	tests := []struct {
		name    string
		start   *int64 // nil: field absent
		op      string
		x       int64
		want    int64
		wantErr error
	}{
		{"incr", i64p(5), "add", 3, 8, nil},
		{"incr absent starts at 0", nil, "add", 3, 3, nil},
		{"incr negative", i64p(5), "add", -8, -3, nil},
		{"incr past max", i64p(math.MaxInt64), "add", 1, 0, rapyer.ErrOverflow},
		{"incr min by -1", i64p(math.MinInt64), "add", -1, 0, rapyer.ErrOverflow},
		{"incr 2^53 by 1 exact", i64p(1 << 53), "add", 1, 1<<53 + 1, nil},
		{"incr to 16 digits", i64p(999999999999999), "add", 1, 1000000000000000, nil},
		{"decr to 16 digits", i64p(-999999999999999), "sub", 1, -1000000000000000, nil},
		{"incr 16 digits by 15", i64p(1000000000000000), "add", 999999999999999, 1999999999999999, nil},
		{"incr by 15 digits on absent", nil, "add", -999999999999999, -999999999999999, nil},
		{"decr", i64p(5), "sub", 7, -2, nil},
		{"decr MinInt64 from negative", i64p(-1), "sub", math.MinInt64, math.MaxInt64, nil},
		{"decr MinInt64 from -5", i64p(-5), "sub", math.MinInt64, math.MaxInt64 - 4, nil},
		{"decr MinInt64 from zero", i64p(0), "sub", math.MinInt64, 0, rapyer.ErrOverflow},
		{"decr MinInt64 from positive", i64p(1), "sub", math.MinInt64, 0, rapyer.ErrOverflow},
		{"decr MinInt64 from absent", nil, "sub", math.MinInt64, 0, rapyer.ErrOverflow},
		{"mul", i64p(-6), "mul", 7, -42, nil},
		{"mul overflow", i64p(3037000500), "mul", 3037000500, 0, rapyer.ErrOverflow},
		{"mul to MinInt64", i64p(math.MinInt64 / 2), "mul", 2, math.MinInt64, nil},
		{"mul MinInt64 by -1", i64p(math.MinInt64), "mul", -1, 0, rapyer.ErrOverflow},
		{"floordiv -7 // 2", i64p(-7), "floordiv", 2, -4, nil},
		{"floordiv 7 // -2", i64p(7), "floordiv", -2, -4, nil},
		{"floordiv -7 // -2", i64p(-7), "floordiv", -2, 3, nil},
		{"floordiv 7 // 2", i64p(7), "floordiv", 2, 3, nil},
		{"floordiv -8 // 2 exact", i64p(-8), "floordiv", 2, -4, nil},
		{"floordiv MinInt64 // -1", i64p(math.MinInt64), "floordiv", -1, 0, rapyer.ErrOverflow},
		{"floordiv MinInt64 // 1", i64p(math.MinInt64), "floordiv", 1, math.MinInt64, nil},
		{"floordiv by zero", i64p(7), "floordiv", 0, 0, rapyer.ErrDivideByZero},
		{"mod -7 % 2", i64p(-7), "mod", 2, 1, nil},
		{"mod 7 % -2", i64p(7), "mod", -2, -1, nil},
		{"mod -7 % -2", i64p(-7), "mod", -2, -1, nil},
		{"mod 7 % 2", i64p(7), "mod", 2, 1, nil},
		{"mod MinInt64 % -1", i64p(math.MinInt64), "mod", -1, 0, nil},
		{"mod MinInt64 % MaxInt64", i64p(math.MinInt64), "mod", math.MaxInt64, math.MaxInt64 - 1, nil},
		{"mod by zero", i64p(7), "mod", 0, 0, rapyer.ErrDivideByZero},
		{"mod absent by zero", nil, "mod", 0, 0, rapyer.ErrDivideByZero},
		{"pow", i64p(3), "pow", 4, 81, nil},
		{"pow 0^0", i64p(0), "pow", 0, 1, nil},
		{"pow -2^63", i64p(-2), "pow", 63, math.MinInt64, nil},
		{"pow 2^63 overflows", i64p(2), "pow", 63, 0, rapyer.ErrOverflow},
		{"pow -1^MaxInt64", i64p(-1), "pow", math.MaxInt64, -1, nil},
		{"pow negative exponent", i64p(2), "pow", -1, 0, rapyer.ErrInvalid},
		{"pow 1^-1 still invalid", i64p(1), "pow", -1, 0, rapyer.ErrInvalid},
		{"max keeps larger", i64p(9), "max", 4, 9, nil},
		{"max takes larger", i64p(-9), "max", 4, 4, nil},
		{"max absent stores operand", nil, "max", -4, -4, nil},
		{"min keeps smaller", i64p(-9), "min", 4, -9, nil},
		{"min takes smaller", i64p(9), "min", 4, 4, nil},
		{"min absent stores operand", nil, "min", 4, 4, nil},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.N.Set(*tt.start)
					}
				})
				got, err := intOps[tt.op](&a.N, ctx, tt.x)
				if tt.wantErr != nil {
					wantFieldErr(t, err, tt.wantErr, "n")
					if tt.start == nil {
						wantAbsent(t, b, a.Key(), "n")
						if a.N.Present() {
							t.Fatalf("local value %d present after a failed op on an absent field", a.N.Get())
						}
					} else {
						wantStored(t, b, a.Key(), "n", strconv.FormatInt(*tt.start, 10))
						if a.N.Get() != *tt.start {
							t.Fatalf("local value %d, want it unchanged at %d", a.N.Get(), *tt.start)
						}
					}
					return
				}
				noErr(t, err)
				if got != tt.want {
					t.Fatalf("got %d, want %d", got, tt.want)
				}
				wantStored(t, b, a.Key(), "n", strconv.FormatInt(tt.want, 10))
				wantLocal(t, &a.N, tt.want)
			})
		}
	})
}

func TestIntSetIfAbsent(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		t.Run("absent", func(t *testing.T) {
			a := saved(t, b, nil)
			ok, v, err := a.N.SetIfAbsent(ctx, 42)
			noErr(t, err)
			if !ok || v != 42 || a.N.Get() != 42 {
				t.Fatalf("SetIfAbsent = %v, %d (local %d), want true, 42", ok, v, a.N.Get())
			}
			wantStored(t, b, a.Key(), "n", "42")
		})
		t.Run("present zero", func(t *testing.T) {
			a := saved(t, b, func(a *acct) { a.N.Set(0) })
			ok, v, err := a.N.SetIfAbsent(ctx, 42)
			noErr(t, err)
			if ok || v != 0 {
				t.Fatalf("SetIfAbsent = %v, %d, want false, 0", ok, v)
			}
			wantStored(t, b, a.Key(), "n", "0")
		})
		t.Run("present, stale local copy", func(t *testing.T) {
			a := saved(t, b, func(a *acct) { a.N.Set(5) })
			other := reload(t, b, a)
			_, err := other.N.Incr(ctx, 10)
			noErr(t, err)
			a.N.Set(-1) // not saved
			ok, v, err := a.N.SetIfAbsent(ctx, 42)
			noErr(t, err)
			if ok || v != 15 || a.N.Get() != 15 {
				t.Fatalf("SetIfAbsent = %v, %d (local %d), want false, 15, local 15", ok, v, a.N.Get())
			}
		})
	})
}

func TestIntCompareAndSwap(t *testing.T) {
	tests := []struct {
		name        string
		start       *int64
		old, new    int64
		wantSwapped bool
		wantStored  *int64 // nil: absent
	}{
		{"match", i64p(5), 5, 9, true, i64p(9)},
		{"mismatch", i64p(5), 4, 9, false, i64p(5)},
		{"match MinInt64", i64p(math.MinInt64), math.MinInt64, math.MaxInt64, true, i64p(math.MaxInt64)},
		{"absent is not zero", nil, 0, 9, false, nil},
		{"same value", i64p(5), 5, 5, true, i64p(5)},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.N.Set(*tt.start)
					}
				})
				a.N.Set(12345) // a stale local value: the server's answer replaces it
				swapped, err := a.N.CompareAndSwap(ctx, tt.old, tt.new)
				noErr(t, err)
				if swapped != tt.wantSwapped {
					t.Fatalf("swapped = %v, want %v", swapped, tt.wantSwapped)
				}
				v, ok := a.N.Lookup()
				if tt.wantStored == nil {
					wantAbsent(t, b, a.Key(), "n")
					if ok {
						t.Fatalf("local value %d present, want absent", v)
					}
					return
				}
				wantStored(t, b, a.Key(), "n", strconv.FormatInt(*tt.wantStored, 10))
				if !ok || v != *tt.wantStored {
					t.Fatalf("local value %d (present %v), want %d", v, ok, *tt.wantStored)
				}
			})
		}
	})
}

func TestIntContract(t *testing.T) {
	seed := func(a *acct) { a.N.Set(6) }
	same := func(x, y *acct) bool { return sameScalar[int64](&x.N, &y.N) }
	var ops []remoteOp
	for _, name := range []string{"add", "sub", "mul", "floordiv", "mod", "pow", "max", "min"} {
		x := int64(1) // keeps every op in range however often it runs
		ops = append(ops, remoteOp{
			name: "Int." + name, field: "n", seed: seed, same: same, corrupt: "abc",
			run: func(ctx context.Context, a *acct) error { _, err := intOps[name](&a.N, ctx, x); return err },
		})
	}
	ops = append(ops,
		remoteOp{name: "Int.SetIfAbsent", field: "n", seed: seed, same: same, corrupt: "12x",
			run: func(ctx context.Context, a *acct) error { _, _, err := a.N.SetIfAbsent(ctx, 1); return err }},
		remoteOp{name: "Int.CompareAndSwap", field: "n", seed: seed, same: same, corrupt: "9223372036854775808",
			run: func(ctx context.Context, a *acct) error { _, err := a.N.CompareAndSwap(ctx, 6, 7); return err }},
		remoteOp{name: "Int.Load", field: "n", seed: seed, same: same, corrupt: "1.5",
			run: func(ctx context.Context, a *acct) error { _, err := a.N.Load(ctx); return err }},
		remoteOp{name: "Int.Save", field: "n", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { return a.N.Save(ctx) }},
		remoteOp{name: "nested Int.Incr", field: "home.n", same: func(x, y *acct) bool { return sameScalar[int64](&x.Home.N, &y.Home.N) },
			corrupt: " 1", run: func(ctx context.Context, a *acct) error { _, err := a.Home.N.Incr(ctx, 1); return err }},
	)
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestIntCorruptForms(t *testing.T) {
	// Text the int64 codec refuses must be refused by the server-side
	// arithmetic too, with the stored text left alone.
	for _, raw := range []string{"", "abc", "1.0", "1e3", " 1", "1 ", "--1", "9223372036854775808", "-9223372036854775809", "0x10"} {
		t.Run(strconv.Quote(raw), func(t *testing.T) {
			testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
				ctx := testkit.Ctx(t)
				a := saved(t, b, func(a *acct) { a.N.Set(3) })
				corrupt(t, b, a.Key(), "n", raw)
				_, err := a.N.Incr(ctx, 1)
				wantFieldErr(t, err, rapyer.ErrDecode, "n")
				wantStored(t, b, a.Key(), "n", raw)
				if a.N.Get() != 3 {
					t.Fatalf("local value %d, want it unchanged at 3", a.N.Get())
				}
				_, err = a.N.Load(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "n")
				_, err = accts.Get(ctx, b.Store, a.ID())
				wantFieldErr(t, err, rapyer.ErrDecode, "n")
			})
		})
	}
}

func TestIntAbsentVsZero(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.N.Set(5) })
		a.N.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "n")
		if got := reload(t, b, a); got.N.Present() {
			t.Fatalf("cleared field loads as present (%d)", got.N.Get())
		}
		v, err := a.N.Load(ctx)
		noErr(t, err)
		if v != 0 || a.N.Present() {
			t.Fatalf("Load of a cleared field = %d, present %v; want 0, absent", v, a.N.Present())
		}

		a.N.Set(0)
		noErr(t, a.Save(ctx))
		wantStored(t, b, a.Key(), "n", "0")
		got := reload(t, b, a)
		wantLocal(t, &got.N, 0)

		// The field alone, through the handle's Save.
		a.N.Clear()
		noErr(t, a.N.Save(ctx))
		wantAbsent(t, b, a.Key(), "n")
	})
}

func TestIntNested(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.N.Set(100); a.Home.N.Set(1) })
		got, err := a.Home.N.Incr(ctx, 41)
		noErr(t, err)
		if got != 42 {
			t.Fatalf("Home.N.Incr = %d, want 42", got)
		}
		wantStored(t, b, a.Key(), "home.n", "42")
		wantStored(t, b, a.Key(), "n", "100") // the top-level n is another field
		if a.Home.N.Name() != "home.n" {
			t.Fatalf("Name() = %q, want home.n", a.Home.N.Name())
		}
		if fresh := reload(t, b, a); fresh.Home.N.Get() != 42 || fresh.N.Get() != 100 {
			t.Fatalf("reloaded home.n=%d n=%d, want 42 and 100", fresh.Home.N.Get(), fresh.N.Get())
		}
	})
}

type withDefault struct {
	rapyer.Model
	N types.Int
	M types.Int
}

var withDefaults = rapyer.Define("withdefault", func(w *withDefault) rapyer.Fields {
	return rapyer.Fields{w.N.Named("n").Default(7), w.M.Named("m")}
})

func TestIntDefault(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		w := withDefaults.New(b.Store)
		wantLocal(t, &w.N, 7)
		if w.M.Present() {
			t.Fatal("New: m present without a default")
		}
		noErr(t, w.Save(ctx))
		wantStored(t, b, w.Key(), "n", "7")

		w.N.Clear()
		noErr(t, w.Save(ctx))
		got, err := withDefaults.Get(ctx, b.Store, w.ID())
		noErr(t, err)
		if got.N.Present() {
			t.Fatalf("Get applied the default to an absent field: n = %d", got.N.Get())
		}
		if _, err := w.N.Load(ctx); err != nil || w.N.Present() {
			t.Fatalf("Load applied the default to an absent field: n = %d, err %v", w.N.Get(), err)
		}
		n, err := got.N.Incr(ctx, 1)
		noErr(t, err)
		if n != 1 {
			t.Fatalf("Incr on an absent field with a default = %d, want 1 (absent counts as 0)", n)
		}
	})
}

func TestConcurrentIncr(t *testing.T) {
	t.Parallel() // long: overlaps the other long tests
	const workers, each = 8, 500
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, nil)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each goroutine uses its own object value (handles are not
				// safe for concurrent use), all on the same stored object.
				mine, err := accts.Get(ctx, b.Store, a.ID())
				if err != nil {
					errs <- err
					return
				}
				for range each {
					if _, err := mine.N.Incr(ctx, 1); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		wantStored(t, b, a.Key(), "n", strconv.Itoa(workers*each))
		if got := reload(t, b, a); got.N.Get() != workers*each {
			t.Fatalf("n = %d, want %d", got.N.Get(), workers*each)
		}
	})
}
