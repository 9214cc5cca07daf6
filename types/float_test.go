package types_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// floatOps are the arithmetic operations of types.Float by their script names.
var floatOps = map[string]func(*types.Float, context.Context, float64) (float64, error){
	"add":      (*types.Float).Incr,
	"mul":      (*types.Float).Mul,
	"div":      (*types.Float).Div,
	"floordiv": (*types.Float).FloorDiv,
	"mod":      (*types.Float).Mod,
	"pow":      (*types.Float).Pow,
}

// pyDivmod is CPython's float_divmod: x // y and x % y, floored, with the
// signs of zero Python gives.
func pyDivmod(x, y float64) (div, mod float64) {
	mod = math.Mod(x, y)
	div = (x - mod) / y
	if mod != 0 {
		if (y < 0) != (mod < 0) {
			mod += y
			div--
		}
	} else {
		mod = math.Copysign(0, y)
	}
	if div != 0 {
		fd := math.Floor(div)
		if div-fd > 0.5 {
			fd++
		}
		return fd, mod
	}
	return math.Copysign(0, x/y), mod
}

// goFloatOp computes a op x in Go float64 (Python's floored // and %), and
// returns the result or the sentinel the handle must return.
func goFloatOp(op string, a, x float64) (float64, error) {
	var r float64
	switch op {
	case "add":
		r = a + x
	case "mul":
		r = a * x
	case "div", "floordiv", "mod":
		if x == 0 {
			return 0, rapyer.ErrDivideByZero
		}
		q, m := pyDivmod(a, x)
		switch op {
		case "div":
			r = a / x
		case "floordiv":
			r = q
		default:
			r = m
		}
	case "pow":
		if a == 0 && x < 0 {
			return 0, rapyer.ErrDivideByZero
		}
		r = math.Pow(a, x)
	default:
		panic("unknown op " + op)
	}
	switch {
	case math.IsNaN(r):
		return 0, rapyer.ErrInvalid
	case math.IsInf(r, 0):
		return 0, rapyer.ErrOverflow
	}
	return r, nil
}

// sameBits compares floats bit for bit (so -0 differs from 0).
func sameBits(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }

// parseStored decodes stored text with Go's parser: whatever text the server
// wrote must read back as the exact bits.
func parseStored(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("stored text %q does not parse: %v", s, err)
	}
	return f
}

func f64p(v float64) *float64 { return &v }

func TestFloatOps(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name    string
		start   *float64 // nil: field absent
		op      string
		x       float64
		want    float64 // compared bit for bit
		wantErr error
	}{
		{"0.1 + 0.2", f64p(0.1), "add", 0.2, 0.30000000000000004, nil},
		{"incr absent starts at 0", nil, "add", 1.5, 1.5, nil},
		{"-0 + 0 is +0", f64p(negZero), "add", 0, 0, nil},
		{"-0 + -0 is -0", f64p(negZero), "add", negZero, negZero, nil},
		{"-0 + 0 is +0 (absent counts as +0)", nil, "add", negZero, 0, nil},
		{"1 + -1 is +0", f64p(1), "add", -1, 0, nil},
		{"3 * 0.1", f64p(3), "mul", 0.1, 0.30000000000000004, nil},
		{"-0 * 5 is -0", f64p(negZero), "mul", 5, negZero, nil},
		{"0 * -5 is -0", f64p(0), "mul", -5, negZero, nil},
		{"-0 * -5 is +0", f64p(negZero), "mul", -5, 0, nil},
		{"-1e-300 * 1e-300 underflows to -0", f64p(-1e-300), "mul", 1e-300, negZero, nil},
		{"0 / -5 is -0", f64p(0), "div", -5, negZero, nil},
		{"1 / 3", f64p(1), "div", 3, 0.3333333333333333, nil},
		{"-5e-324 / 2 underflows to -0", f64p(-5e-324), "div", 2, negZero, nil},
		{"-7.5 // 2", f64p(-7.5), "floordiv", 2, -4, nil},
		{"7.5 // -2", f64p(7.5), "floordiv", -2, -4, nil},
		{"-7.5 // -2", f64p(-7.5), "floordiv", -2, 3, nil},
		{"1 // 0.1", f64p(1), "floordiv", 0.1, 9, nil},
		{"0 // -3 is -0", f64p(0), "floordiv", -3, negZero, nil},
		{"-7.5 % 2", f64p(-7.5), "mod", 2, 0.5, nil},
		{"7.5 % -2", f64p(7.5), "mod", -2, -0.5, nil},
		{"-7 % 3", f64p(-7), "mod", 3, 2, nil},
		{"1 % 0.1", f64p(1), "mod", 0.1, 0.09999999999999995, nil},
		{"6 % -3 is -0", f64p(6), "mod", -3, negZero, nil},
		{"-0 % 5 is +0", f64p(negZero), "mod", 5, 0, nil},
		{"-1e-300 % 1e300", f64p(-1e-300), "mod", 1e300, 1e300, nil},
		{"2 ** 10", f64p(2), "pow", 10, 1024, nil},
		{"2 ** -1", f64p(2), "pow", -1, 0.5, nil},
		{"9 ** 0.5", f64p(9), "pow", 0.5, 3, nil},
		{"0 ** 0", f64p(0), "pow", 0, 1, nil},
		{"-0 ** 3 is -0", f64p(negZero), "pow", 3, negZero, nil},
		{"-0 ** 2 is +0", f64p(negZero), "pow", 2, 0, nil},
		{"-1e-200 ** 3 underflows to -0", f64p(-1e-200), "pow", 3, negZero, nil},
		{"-1e-200 ** 2 underflows to +0", f64p(-1e-200), "pow", 2, 0, nil},
		{"-1 // -3 is +0", f64p(-1), "floordiv", -3, 0, nil},
		{"-0 // 3 is -0", f64p(negZero), "floordiv", 3, negZero, nil},
		{"1e-320 // -1e300 is -1", f64p(1e-320), "floordiv", -1e300, -1, nil},
		{"-2 ** 3", f64p(-2), "pow", 3, -8, nil},
		{"1e308 * 10 overflows", f64p(1e308), "mul", 10, 0, rapyer.ErrOverflow},
		{"max + max overflows", f64p(math.MaxFloat64), "add", math.MaxFloat64, 0, rapyer.ErrOverflow},
		{"-max - max overflows", f64p(-math.MaxFloat64), "add", -math.MaxFloat64, 0, rapyer.ErrOverflow},
		{"1e300 / 1e-300 overflows", f64p(1e300), "div", 1e-300, 0, rapyer.ErrOverflow},
		{"10 ** 400 overflows", f64p(10), "pow", 400, 0, rapyer.ErrOverflow},
		{"div by zero", f64p(1), "div", 0, 0, rapyer.ErrDivideByZero},
		{"div by -0", f64p(1), "div", negZero, 0, rapyer.ErrDivideByZero},
		{"floordiv by zero", f64p(1), "floordiv", 0, 0, rapyer.ErrDivideByZero},
		{"mod by zero", f64p(1), "mod", 0, 0, rapyer.ErrDivideByZero},
		{"absent div by zero", nil, "div", 0, 0, rapyer.ErrDivideByZero},
		{"0 ** -1", f64p(0), "pow", -1, 0, rapyer.ErrDivideByZero},
		{"-8 ** (1/3) is not a real", f64p(-8), "pow", 1.0 / 3, 0, rapyer.ErrInvalid},
	}
	for _, tt := range tests {
		// The expectations above are Python's answers; the Go model of the
		// arithmetic must agree with them, or the sweeps check nothing.
		start := 0.0
		if tt.start != nil {
			start = *tt.start
		}
		got, err := goFloatOp(tt.op, start, tt.x)
		if !errors.Is(err, tt.wantErr) || (err == nil && !sameBits(got, tt.want)) {
			t.Fatalf("%s: Go model gives %v, %v; the table says %v, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.F.Set(*tt.start)
					}
				})
				before, had := stored(t, b, a.Key(), "f")
				got, err := floatOps[tt.op](&a.F, ctx, tt.x)
				if tt.wantErr != nil {
					wantFieldErr(t, err, tt.wantErr, "f")
					after, has := stored(t, b, a.Key(), "f")
					if after != before || has != had {
						t.Fatalf("stored %q (present %v) after a failed op, want it unchanged at %q (present %v)", after, has, before, had)
					}
					if v, ok := a.F.Lookup(); ok != (tt.start != nil) || (ok && !sameBits(v, *tt.start)) {
						t.Fatalf("local value %v (present %v) changed by a failed op", v, ok)
					}
					return
				}
				noErr(t, err)
				if !sameBits(got, tt.want) {
					t.Fatalf("got %v (%#x), want %v (%#x)", got, math.Float64bits(got), tt.want, math.Float64bits(tt.want))
				}
				raw, ok := stored(t, b, a.Key(), "f")
				if !ok || !sameBits(parseStored(t, raw), tt.want) {
					t.Fatalf("stored %q (present %v), want %v", raw, ok, tt.want)
				}
				if v, ok := a.F.Lookup(); !ok || !sameBits(v, tt.want) {
					t.Fatalf("local value %v (present %v), want %v", v, ok, tt.want)
				}
			})
		}
	})
}

// TestFloatRandom compares a seeded sample of operations with Go's float64
// arithmetic, bit for bit, wideN checks per object.
func TestFloatRandom(t *testing.T) {
	t.Parallel() // long: overlaps the other long tests
	type floatCase struct {
		op   string
		a, x float64
	}
	rng := rand.New(rand.NewPCG(1, 2718))
	val := func() float64 {
		switch rng.IntN(4) {
		case 0: // any finite bit pattern, subnormals included
			for {
				if f := math.Float64frombits(rng.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
					return f
				}
			}
		case 1:
			return float64(rng.IntN(41) - 20)
		case 2:
			return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(41)-20))
		default:
			return rng.Float64() * 10
		}
	}
	var cases []floatCase
	for range 60 {
		a, x := val(), val()
		for _, op := range []string{"add", "mul", "div", "floordiv", "mod"} {
			cases = append(cases, floatCase{op, a, x})
		}
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for start := 0; start < len(cases); start += wideN {
			chunk := cases[start:min(start+wideN, len(cases))]
			w := wides.New(b.Store)
			for i, c := range chunk {
				w.F[i].Set(c.a)
			}
			noErr(t, w.Save(ctx))
			want := make([]float64, len(chunk))
			for i, c := range chunk {
				exp, expErr := goFloatOp(c.op, c.a, c.x)
				got, err := floatOps[c.op](&w.F[i], ctx, c.x)
				switch {
				case expErr != nil && !errors.Is(err, expErr):
					t.Errorf("%v %s %v: error %v, want %v", c.a, c.op, c.x, err, expErr)
				case expErr == nil && err != nil:
					t.Errorf("%v %s %v: error %v, want %v", c.a, c.op, c.x, err, exp)
				case expErr == nil && !sameBits(got, exp):
					t.Errorf("%v %s %v = %v, want %v", c.a, c.op, c.x, got, exp)
				}
				want[i] = c.a
				if expErr == nil {
					want[i] = exp
				}
			}
			all, err := redis.StringMap(b.Do(t, "HGETALL", w.Key()))
			noErr(t, err)
			for i, c := range chunk {
				if got := parseStored(t, all[w.F[i].Name()]); !sameBits(got, want[i]) {
					t.Errorf("%v %s %v: stored %q, want %v", c.a, c.op, c.x, all[w.F[i].Name()], want[i])
				}
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

func TestFloatNonFiniteOperand(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.F.Set(2) })
		for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			for name, op := range floatOps {
				var err error
				noTrip(t, b, func() { _, err = op(&a.F, ctx, x) })
				if !errors.Is(err, rapyer.ErrInvalid) {
					t.Fatalf("%s(%v): error %v, want ErrInvalid", name, x, err)
				}
			}
		}
		wantStored(t, b, a.Key(), "f", "2")
		// A local NaN does not encode: Save sends nothing.
		a.F.Set(math.NaN())
		var err error
		noTrip(t, b, func() { err = a.Save(ctx) })
		wantFieldErr(t, err, rapyer.ErrInvalid, "f")
		wantStored(t, b, a.Key(), "f", "2")
	})
}

func TestFloatBitExactRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    float64
	}{
		{"smallest subnormal", math.SmallestNonzeroFloat64},
		{"negative smallest subnormal", -math.SmallestNonzeroFloat64},
		{"largest subnormal", math.Float64frombits(0x000fffffffffffff)},
		{"smallest normal", 0x1p-1022},
		{"max", math.MaxFloat64},
		{"-max", -math.MaxFloat64},
		{"negative zero", math.Copysign(0, -1)},
		{"zero", 0},
		{"0.1", 0.1},
		{"1/3", 1.0 / 3},
		{"next after 1", math.Nextafter(1, 2)},
		{"2^53+2", 1<<53 + 2},
		{"pi", math.Pi},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) { a.F.Set(tt.v) })
				if got := reload(t, b, a).F.Get(); !sameBits(got, tt.v) {
					t.Fatalf("Get: %v (%#x), want %v (%#x)", got, math.Float64bits(got), tt.v, math.Float64bits(tt.v))
				}
				a.F.Set(12345)
				got, err := a.F.Load(ctx)
				noErr(t, err)
				if !sameBits(got, tt.v) || !sameBits(a.F.Get(), tt.v) {
					t.Fatalf("Load: %v (local %v), want %v", got, a.F.Get(), tt.v)
				}
				// Through the server-side arithmetic too: v*1 is v, bit for bit.
				got, err = a.F.Mul(ctx, 1)
				noErr(t, err)
				if !sameBits(got, tt.v) {
					t.Fatalf("Mul(1): %v (%#x), want %v (%#x)", got, math.Float64bits(got), tt.v, math.Float64bits(tt.v))
				}
				if got := reload(t, b, a).F.Get(); !sameBits(got, tt.v) {
					t.Fatalf("Get after Mul(1): %v, want %v", got, tt.v)
				}
			})
		}
	})
}

func TestFloatContract(t *testing.T) {
	seed := func(a *acct) { a.F.Set(1.5) }
	same := func(x, y *acct) bool {
		xv, xok := x.F.Lookup()
		yv, yok := y.F.Lookup()
		return xok == yok && sameBits(xv, yv)
	}
	var ops []remoteOp
	for _, name := range []string{"add", "mul", "div", "floordiv", "mod", "pow"} {
		ops = append(ops, remoteOp{
			name: "Float." + name, field: "f", seed: seed, same: same, corrupt: "abc",
			run: func(ctx context.Context, a *acct) error { _, err := floatOps[name](&a.F, ctx, 1); return err },
		})
	}
	ops = append(ops,
		remoteOp{name: "Float.Load", field: "f", seed: seed, same: same, corrupt: "1.5.5",
			run: func(ctx context.Context, a *acct) error { _, err := a.F.Load(ctx); return err }},
		remoteOp{name: "Float.Save", field: "f", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { return a.F.Save(ctx) }},
	)
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestFloatCorruptForms(t *testing.T) {
	// Text the float64 codec refuses must be refused by the server-side
	// arithmetic too, never read some other way, and left alone.
	forms := []string{"", "abc", "inf", "-inf", "nan", "1e400", "0x10", " 1", "1 ", "1,5", "1e", "e5", ".", "--1"}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, raw := range forms {
			t.Run(strconv.Quote(raw), func(t *testing.T) {
				a := saved(t, b, func(a *acct) { a.F.Set(3) })
				corrupt(t, b, a.Key(), "f", raw)
				_, err := a.F.Incr(ctx, 1)
				wantFieldErr(t, err, rapyer.ErrDecode, "f")
				wantStored(t, b, a.Key(), "f", raw)
				if a.F.Get() != 3 {
					t.Fatalf("local value %v, want it unchanged at 3", a.F.Get())
				}
				_, err = a.F.Load(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "f")
			})
		}
	})
}

func TestFloatStoredForms(t *testing.T) {
	// Decimal text written by others (HINCRBYFLOAT, redis-cli) is read as
	// the codec reads it; "010" is ten, not octal.
	tests := []struct {
		raw  string
		want float64
	}{
		{"010", 10},
		{"+5", 5},
		{".5", 0.5},
		{"5.", 5},
		{"1E3", 1000},
		{"-2.5e-3", -0.0025},
		{"9007199254740993", 9007199254740992},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.raw, func(t *testing.T) {
				a := saved(t, b, nil)
				corrupt(t, b, a.Key(), "f", tt.raw)
				loaded, err := a.F.Load(ctx)
				noErr(t, err)
				got, err := a.F.Incr(ctx, 0)
				noErr(t, err)
				if !sameBits(loaded, tt.want) || !sameBits(got, tt.want) {
					t.Fatalf("Load = %v, Incr(0) = %v, want %v", loaded, got, tt.want)
				}
			})
		}
	})
}

func TestFloatAbsentVsZero(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.F.Set(0) })
		wantStored(t, b, a.Key(), "f", "0")
		wantLocal(t, &reload(t, b, a).F, 0)
		a.F.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "f")
		if reload(t, b, a).F.Present() {
			t.Fatal("cleared field loads as present")
		}
	})
}
