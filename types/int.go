package types

import (
	"context"
	"strconv"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
)

// Int is an int64 field, stored as decimal text in the object's hash.
//
// Every arithmetic operation is exact over the whole int64 range: it runs in
// one Lua script (lua/int.lua) that computes on decimal strings, never on Lua
// doubles; Incr and Decr of a field without an index run lua/intadd.lua,
// whose fast path on Redis adds with native HINCRBY inside the script. A result outside int64 returns rapyer.ErrOverflow and a division
// by zero rapyer.ErrDivideByZero; in both cases nothing is written. Stored
// text that is not an int64 gives rapyer.ErrDecode. All operations: one round
// trip, TTL re-armed inside it when refresh is on, rapyer.ErrNotFound (nothing
// written) when the object does not exist, and the local value set to the
// result.
type Int struct{ rapyer.Scalar[int64] }

func (h *Int) op(ctx context.Context, name, op string, x int64) (int64, error) {
	return scriptValue(ctx, name, &h.Scalar, lua.Int, op, strconv.FormatInt(x, 10))
}

// Incr adds d and returns the new value.
func (h *Int) Incr(ctx context.Context, d int64) (int64, error) {
	return h.op(ctx, "Int.Incr", "add", d)
}

// Decr subtracts d and returns the new value.
func (h *Int) Decr(ctx context.Context, d int64) (int64, error) {
	return h.op(ctx, "Int.Decr", "sub", d)
}

// Mul multiplies by m and returns the new value.
func (h *Int) Mul(ctx context.Context, m int64) (int64, error) { return h.op(ctx, "Int.Mul", "mul", m) }

// FloorDiv divides by d rounding toward negative infinity (Python's //) and
// returns the new value.
func (h *Int) FloorDiv(ctx context.Context, d int64) (int64, error) {
	return h.op(ctx, "Int.FloorDiv", "floordiv", d)
}

// Mod sets the value to its floored remainder by d (Python's %: the result
// has the sign of d) and returns it.
func (h *Int) Mod(ctx context.Context, d int64) (int64, error) { return h.op(ctx, "Int.Mod", "mod", d) }

// Pow raises the value to the power e (e >= 0; a negative e returns
// rapyer.ErrInvalid) and returns the new value. 0^0 is 1.
func (h *Int) Pow(ctx context.Context, e int64) (int64, error) { return h.op(ctx, "Int.Pow", "pow", e) }

// Max sets the value to the larger of the stored value and v and returns it;
// an absent field becomes v.
func (h *Int) Max(ctx context.Context, v int64) (int64, error) { return h.op(ctx, "Int.Max", "max", v) }

// Min sets the value to the smaller of the stored value and v and returns it;
// an absent field becomes v.
func (h *Int) Min(ctx context.Context, v int64) (int64, error) { return h.op(ctx, "Int.Min", "min", v) }

// SetIfAbsent stores v only if the field is absent. It returns whether it
// stored v and the value the field now holds (lua/scalar.lua, one round trip).
func (h *Int) SetIfAbsent(ctx context.Context, v int64) (bool, int64, error) {
	return setIfAbsent(ctx, "Int.SetIfAbsent", &h.Scalar, v)
}

// CompareAndSwap stores new only if the field holds old (an absent field
// holds nothing, not 0) and reports whether it swapped; the local value
// becomes what the field now holds, absent when the field is absent
// (lua/scalar.lua, one round trip).
func (h *Int) CompareAndSwap(ctx context.Context, old, new int64) (swapped bool, err error) {
	return compareAndSwap(ctx, "Int.CompareAndSwap", &h.Scalar, old, new)
}
