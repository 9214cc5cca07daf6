package types

import (
	"context"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
)

// setIfAbsent runs lua/scalar.lua's setnx for any scalar handle.
func setIfAbsent[T any](ctx context.Context, op string, s *rapyer.Scalar[T], v T) (bool, T, error) {
	var zero T
	b, err := s.Encode(v)
	if err != nil {
		return false, zero, err
	}
	r, err := rapyer.FieldScript(ctx, op, s, lua.Scalar, flagReply, "setnx", b)
	if err != nil {
		return false, zero, err
	}
	got, err := s.DecodeReply(r.val)
	return r.ok, got, err
}

// compareAndSwap runs lua/scalar.lua's cas for any scalar handle: the stored
// text is compared with old's encoding.
func compareAndSwap[T any](ctx context.Context, op string, s *rapyer.Scalar[T], old, new T) (bool, error) {
	ob, err := s.Encode(old)
	if err != nil {
		return false, err
	}
	nb, err := s.Encode(new)
	if err != nil {
		return false, err
	}
	r, err := rapyer.FieldScript(ctx, op, s, lua.Scalar, flagReply, "cas", ob, nb)
	if err != nil {
		return false, err
	}
	if r.val == nil {
		s.Clear()
		return r.ok, nil
	}
	_, err = s.DecodeReply(r.val)
	return r.ok, err
}

// scalarOp runs a lua/scalar.lua op that returns the new stored value.
func scalarOp[T any](ctx context.Context, op string, s *rapyer.Scalar[T], name string, args ...any) (T, error) {
	var zero T
	raw, err := rapyer.FieldScript(ctx, op, s, lua.Scalar, bytesReply, append([]any{name}, args...)...)
	if err != nil {
		return zero, err
	}
	return s.DecodeReply(raw)
}
