package ops

import (
	"context"
	"time"
)

// Block runs a blocking command (BLPOP, BRPOP, BLMOVE, BZPOPMIN,
// BZPOPMAX) on the container of h, for a handle's blocking pops:
//
//  1. try runs first (a non-blocking form of the operation, such as a pop
//     by Script, which checks that the object exists, refreshes its TTL
//     and bumps its version); when it reports a result or fails, Block
//     returns that. try reports a result only when it popped one: a
//     result with an error (rapyer.ErrNotReplicated: popped, its write
//     not known to be on enough replicas) is returned with ok true.
//  2. Otherwise "command <container key> args... <seconds>" is sent on a
//     connection taken from the pool for this call alone (a blocked
//     connection serves no one else), again and again in slices no longer
//     than the Store's read timeout allows, until it replies with
//     something, timeout has passed (0: no timeout of its own), or ctx
//     ends (its error is returned). An argument that is a Handle of the
//     same object's container stands for that container's key (BLMOVE's
//     destination).
//  3. A non-nil reply is followed, on the same connection, by
//     lua/touch.lua: the object's version is bumped and its TTL applied as
//     every container write does, when it still exists. decode then turns
//     the reply into R (updating the local copy).
//
// It returns R, whether something was popped, and the error; decode's
// errors are returned as they are, so they should name the field. A nil reply
// (the timeout passed) is R's zero value and false. A popped value whose
// version bump was not acknowledged by enough replicas (WithWait) is
// returned, with ok true, along with that error. Not queueable:
// rapyer.ErrInvalid with a queue context or a negative timeout, before
// anything is sent.
func Block[R any](ctx context.Context, op string, h Handle, timeout time.Duration, try func(context.Context) (R, bool, error), command string, args []any, decode func(any, error) (R, error)) (R, bool, error) {
	var zero R
	rt := runtimeOf(h)
	if rt == nil {
		return zero, false, unbound(op)
	}
	var out R
	var got bool
	r, err := rt.Block(ctx, h, op, timeout, func(ctx context.Context) (bool, error) {
		var err error
		out, got, err = try(ctx)
		return got, err
	}, command, args)
	if got || r == nil {
		// Popped by try: ok, even with an error (its write not known to be
		// replicated: try reports a value only when it popped one).
		return out, got, err
	}
	// A reply with an error: popped, but the write after it is not known
	// to be replicated (rapyer's ErrNotReplicated); the value comes with it.
	v, derr := decode(r, nil) // its errors name the field (as Script's decode)
	if derr != nil {
		return v, false, derr
	}
	return v, true, err
}
