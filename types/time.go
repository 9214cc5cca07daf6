package types

import (
	"context"
	"strconv"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
)

// Time is a time.Time field, stored as Unix nanoseconds in decimal text:
// exact to the nanosecond, so Add and Sub lose nothing (rapyer for Python
// drops sub-seconds). A loaded Time is in UTC: the instant is kept, the zone
// and the monotonic clock reading are not. Times outside the years 1678 to
// 2262 (time.Time{} included) cannot be stored and return rapyer.ErrInvalid.
type Time struct{ rapyer.Scalar[time.Time] }

// Add adds d to the stored instant and returns the new one (exact int64
// nanosecond arithmetic in lua/int.lua, one round trip, TTL re-armed inside
// it when refresh is on). An absent field counts as the Unix epoch. A result
// outside the storable range returns rapyer.ErrOverflow and writes nothing;
// rapyer.ErrNotFound when the object does not exist.
func (h *Time) Add(ctx context.Context, d time.Duration) (time.Time, error) {
	return h.op(ctx, "Time.Add", "add", d)
}

// Sub subtracts d from the stored instant and returns the new one; as Add.
func (h *Time) Sub(ctx context.Context, d time.Duration) (time.Time, error) {
	return h.op(ctx, "Time.Sub", "sub", d)
}

func (h *Time) op(ctx context.Context, name, op string, d time.Duration) (time.Time, error) {
	return scriptValue(ctx, name, &h.Scalar, lua.Int, op, strconv.FormatInt(int64(d), 10))
}
