package types

import (
	"context"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/ops"
)

// Bytes is a []byte field, stored raw; any bytes round-trip. Operations: one
// round trip each, TTL re-armed inside it when refresh is on,
// rapyer.ErrNotFound (nothing written) when the object does not exist. An
// absent field counts as empty.
type Bytes struct{ rapyer.Scalar[[]byte] }

// Append appends b to the stored value and returns the new value
// (lua/scalar.lua). A result over 512 MB returns rapyer.ErrInvalid.
func (h *Bytes) Append(ctx context.Context, b []byte) ([]byte, error) {
	if b == nil {
		b = []byte{}
	}
	return scalarOp(ctx, "Bytes.Append", &h.Scalar, "append", b)
}

// Len returns the stored value's length (HSTRLEN inside MULTI/EXEC with the
// existence check: one round trip). It does not change the local value.
func (h *Bytes) Len(ctx context.Context) (int, error) {
	return ops.Read(ctx, "Bytes.Len", h, "HSTRLEN", redis.Int)
}
