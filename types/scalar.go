package types

import (
	"context"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// The helpers below, and every remote method of the scalar handles, do all
// their work after the round trip inside the decode function they pass to
// ops.Script or ops.Read, and return its result as is: with
// a queue context (Store.Batch, Store.Tx) the call is only queued, and the
// decode function runs when the queue has run.

// setIfAbsent runs lua/scalar.lua's setnx for any scalar handle.
func setIfAbsent[T any](ctx context.Context, op string, s *rapyer.Scalar[T], v T) (bool, T, error) {
	var zero T
	b, err := ops.Encode(s, v)
	if err != nil {
		return false, zero, err
	}
	p, err := ops.Script(ctx, op, s, lua.Scalar, func(r any, err error) (rapyer.Pair[bool, T], error) {
		f, err := flagReply(r, err)
		if err != nil {
			return rapyer.Pair[bool, T]{}, err
		}
		got, err := decodeReply(s, f.val)
		return rapyer.Pair[bool, T]{A: f.ok, B: got}, err
	}, "setnx", b)
	return p.A, p.B, err
}

// compareAndSwap runs lua/scalar.lua's cas for any scalar handle: the stored
// text is compared with old's encoding.
func compareAndSwap[T any](ctx context.Context, op string, s *rapyer.Scalar[T], old, new T) (bool, error) {
	ob, err := ops.Encode(s, old)
	if err != nil {
		return false, err
	}
	nb, err := ops.Encode(s, new)
	if err != nil {
		return false, err
	}
	return ops.Script(ctx, op, s, lua.Scalar, func(r any, err error) (bool, error) {
		f, err := flagReply(r, err)
		if err != nil {
			return false, err
		}
		if f.val == nil {
			s.Clear()
			return f.ok, nil
		}
		_, err = decodeReply(s, f.val)
		return f.ok, err
	}, "cas", ob, nb)
}

// scalarOp runs a lua/scalar.lua op that returns the new stored value.
func scalarOp[T any](ctx context.Context, op string, s *rapyer.Scalar[T], name string, args ...any) (T, error) {
	return scriptValue(ctx, op, s, lua.Scalar, append([]any{name}, args...)...)
}

// scriptValue runs a field script whose reply is the field's new stored
// value, and decodes it into the local value.
func scriptValue[T any](ctx context.Context, op string, s *rapyer.Scalar[T], sc *lua.Script, args ...any) (T, error) {
	return ops.Script(ctx, op, s, sc, func(r any, err error) (T, error) {
		raw, err := bytesReply(r, err)
		if err != nil {
			var zero T
			return zero, err
		}
		return decodeReply(s, raw)
	}, args...)
}

// decodeReply decodes a stored value a field script returned into s's
// local value and returns it.
func decodeReply[T any](s *rapyer.Scalar[T], b []byte) (T, error) {
	if err := ops.DecodeReply(s, b); err != nil {
		var zero T
		return zero, err
	}
	return s.Get(), nil
}
