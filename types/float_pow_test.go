package types_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/rapyer-go/rapyer/internal/testkit"
)

// exactPow is a**n (n an integer) rounded once to float64: squaring in
// big.Float at 4096 bits (relative error far below 2^-53 for any n here),
// so it is the correctly rounded result.
func exactPow(a float64, n int) float64 {
	const prec = 4096
	r := new(big.Float).SetPrec(prec).SetFloat64(1)
	x := new(big.Float).SetPrec(prec).SetFloat64(a)
	for k := abs(n); k > 0; k >>= 1 {
		if k&1 == 1 {
			r.Mul(r, x)
		}
		x.Mul(x, x)
	}
	if n < 0 {
		r.Quo(new(big.Float).SetPrec(prec).SetFloat64(1), r)
	}
	f, _ := r.Float64()
	return f
}

func abs(n int) int { return max(n, -n) }

// ulpDiff is the distance in units in the last place between two finite
// float64 of the same sign.
func ulpDiff(x, y float64) uint64 {
	a, b := math.Float64bits(x), math.Float64bits(y)
	return max(a, b) - min(a, b)
}

// TestFloatPowAccuracy pins down how far Float.Pow may stray, with the same
// assertions on both backends (issue 10, item 12). Pow is the one float
// operation whose result is not correctly rounded on both: Redis's Lua
// computes it with the C library's pow (glibc: within 1 ULP), the embedded
// server's with Go's math.Pow, whose error grows with the exponent. Every
// other operation (add, mul, div, floordiv, mod, parsing and printing) is
// exact IEEE-754 arithmetic on both, bit for bit (TestFloatRandom).
func TestFloatPowAccuracy(t *testing.T) {
	small := []struct {
		a float64
		n int
	}{
		{1e22, 3}, // 1e+66 on Redis, 1.0000000000000001e+66 on the embedded server
		{1e22, 2}, {1e-22, 3}, {0.1, 2}, {0.1, 3}, {0.1, -2}, {3.3, 3}, {-7.7, 3},
		{1.0000001, 4}, {123456.789, 4}, {2.5, -3}, {1e100, 3}, {1e-100, -3}, {math.Pi, 2}, {math.E, 3},
	}
	large := []struct {
		a float64
		n int
	}{
		{1.1, 200}, {7.1, 100}, {2.5, 300}, {10, 300}, {1.001, 50000}, {1.0000001, 100000}, {0.9999999, 300000},
	}
	exact := []struct{ a, x, want float64 }{ // non-integer exponents with an exact result
		{4, 0.5, 2}, {1024, 1.5, 32768}, {0.25, -1.5, 8}, {1 << 20, 0.75, 1 << 15}, {2, 0.5, math.Sqrt2},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		pow := func(a, x float64) float64 {
			t.Helper()
			o := saved(t, b, func(o *acct) { o.F.Set(a) })
			got, err := o.F.Pow(ctx, x)
			noErr(t, err)
			return got
		}
		// Integer exponents up to 4: within 1 ULP of the correctly rounded
		// result on each backend.
		for _, c := range small {
			got, want := pow(c.a, float64(c.n)), exactPow(c.a, c.n)
			if d := ulpDiff(got, want); d > 1 {
				t.Errorf("%v ** %d = %v, exact %v: %d ULP apart, want at most 1", c.a, c.n, got, want, d)
			}
		}
		// Larger exponents: the embedded server's error grows with the
		// exponent (16 ULP for 1.1**200, about 34000 for 0.9999999**300000);
		// both stay within a relative 1e-11.
		for _, c := range large {
			got, want := pow(c.a, float64(c.n)), exactPow(c.a, c.n)
			if rel := math.Abs(got-want) / want; rel > 1e-11 {
				t.Errorf("%v ** %d = %v, exact %v: relative error %g, want at most 1e-11", c.a, c.n, got, want, rel)
			}
		}
		// Non-integer exponents whose result is exact: within 1 ULP.
		for _, c := range exact {
			if got := pow(c.a, c.x); ulpDiff(got, c.want) > 1 {
				t.Errorf("%v ** %v = %v, want %v within 1 ULP", c.a, c.x, got, c.want)
			}
		}
	})
}
