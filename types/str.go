package types

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/ops"
)

// Str is a string field, stored raw in the object's hash. Operations: one
// round trip each, TTL re-armed inside it when refresh is on,
// rapyer.ErrNotFound (nothing written) when the object does not exist, and
// the local value set to the server's answer. An absent field counts as "".
type Str struct{ rapyer.Scalar[string] }

// Append appends s to the stored value and returns the new value
// (lua/scalar.lua). A result over 512 MB returns rapyer.ErrInvalid.
func (h *Str) Append(ctx context.Context, s string) (string, error) {
	return scalarOp(ctx, "Str.Append", &h.Scalar, "append", s)
}

// Repeat replaces the stored value by n copies of itself (Python's s * n)
// and returns it (lua/scalar.lua). n < 0 returns rapyer.ErrInvalid; n == 0
// stores "".
func (h *Str) Repeat(ctx context.Context, n int) (string, error) {
	if n < 0 {
		return "", &rapyer.Error{Op: "Str.Repeat", Field: h.Name(), Err: fmt.Errorf("%w: negative count %d", rapyer.ErrInvalid, n)}
	}
	return scalarOp(ctx, "Str.Repeat", &h.Scalar, "repeat", n)
}

// Len returns the stored value's length in bytes (HSTRLEN inside MULTI/EXEC
// with the existence check: one round trip). It does not change the local
// value.
func (h *Str) Len(ctx context.Context) (int, error) {
	return ops.Read(ctx, "Str.Len", h, "HSTRLEN", redis.Int)
}

// SetIfAbsent stores s only if the field is absent. It returns whether it
// stored s and the value the field now holds.
func (h *Str) SetIfAbsent(ctx context.Context, s string) (bool, string, error) {
	return setIfAbsent(ctx, "Str.SetIfAbsent", &h.Scalar, s)
}

// CompareAndSwap stores new only if the field holds old, and reports whether
// it swapped; the local value becomes what the field holds.
func (h *Str) CompareAndSwap(ctx context.Context, old, new string) (bool, error) {
	return compareAndSwap(ctx, "Str.CompareAndSwap", &h.Scalar, old, new)
}
