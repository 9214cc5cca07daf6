package types

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
)

// Float is a float64 field, stored as the shortest decimal text that
// round-trips bit-exactly (HINCRBYFLOAT can read it).
//
// Arithmetic runs in one Lua script (lua/float.lua) on IEEE-754 doubles, the
// same arithmetic as Go's float64; FloorDiv and Mod are floored, as Python's
// // and %. NaN and ±Inf are rejected: as an operand with rapyer.ErrInvalid
// before anything is sent, as a result with rapyer.ErrOverflow (±Inf) or
// rapyer.ErrInvalid (NaN), and nothing is written. Division by zero returns
// rapyer.ErrDivideByZero. All operations: one round trip, TTL re-armed inside
// it when refresh is on, rapyer.ErrNotFound when the object does not exist,
// and the local value set to the result.
type Float struct{ rapyer.Scalar[float64] }

func (h *Float) op(ctx context.Context, name, op string, x float64) (float64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, &rapyer.Error{Op: name, Field: h.Name(), Err: fmt.Errorf("%w: operand %v is not finite", rapyer.ErrInvalid, x)}
	}
	return scriptValue(ctx, name, &h.Scalar, lua.Float, op, strconv.FormatFloat(x, 'g', -1, 64))
}

// Incr adds d and returns the new value.
func (h *Float) Incr(ctx context.Context, d float64) (float64, error) {
	return h.op(ctx, "Float.Incr", "add", d)
}

// Mul multiplies by m and returns the new value.
func (h *Float) Mul(ctx context.Context, m float64) (float64, error) {
	return h.op(ctx, "Float.Mul", "mul", m)
}

// Div divides by d and returns the new value.
func (h *Float) Div(ctx context.Context, d float64) (float64, error) {
	return h.op(ctx, "Float.Div", "div", d)
}

// FloorDiv divides by d rounding toward negative infinity (Python's //) and
// returns the new value.
func (h *Float) FloorDiv(ctx context.Context, d float64) (float64, error) {
	return h.op(ctx, "Float.FloorDiv", "floordiv", d)
}

// Mod sets the value to its floored remainder by d (Python's %) and returns it.
func (h *Float) Mod(ctx context.Context, d float64) (float64, error) {
	return h.op(ctx, "Float.Mod", "mod", d)
}

// Pow raises the value to the power e and returns the new value.
//
// Pow is the one Float operation whose result may differ between servers:
// the script computes it with Lua's ^, which is the C library's pow on Redis
// (glibc: within 1 ULP of the exact result, nearly always correctly rounded)
// and Go's math.Pow on the embedded server, which is not correctly rounded
// and whose error grows with the exponent. For integer exponents up to 4 in
// magnitude both are within 1 ULP of the exact result (1e22 ** 3 is 1e+66 on
// Redis, 1.0000000000000001e+66 on the embedded server); for larger ones the
// embedded server may be further off (1.1 ** 200: 16 ULP; 0.9999999 **
// 300000: about 34000 ULP, a relative 4e-12). Do not compare Pow results bit
// for bit across backends. Incr, Mul, Div, FloorDiv and Mod are exact
// IEEE-754 operations and agree bit for bit.
func (h *Float) Pow(ctx context.Context, e float64) (float64, error) {
	return h.op(ctx, "Float.Pow", "pow", e)
}
