package types

import (
	"context"

	"github.com/rapyer-go/rapyer"
)

// Bool is a bool field, stored as "1" or "0".
type Bool struct{ rapyer.Scalar[bool] }

// Toggle flips the stored value (an absent field counts as false, so it
// becomes true) and returns the new value: lua/scalar.lua, one round trip,
// TTL re-armed inside it when refresh is on. Errors: rapyer.ErrNotFound
// (nothing written), rapyer.ErrDecode when the stored text is not a boolean.
func (h *Bool) Toggle(ctx context.Context) (bool, error) {
	return scalarOp(ctx, "Bool.Toggle", &h.Scalar, "toggle")
}
