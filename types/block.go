package types

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// The blocking pops, for job queues: each first tries the non-blocking
// operation (one script: ErrNotFound when the object does not exist, the
// TTL refreshed, the version bumped), and when there is nothing to take,
// waits for an element with the blocking command on a connection of its
// own (see ops.Block): up to timeout (0: until ctx ends), bounded by ctx
// (when ctx ends first, its error is returned). A pop after a wait
// refreshes the object's TTL and bumps its version as the non-blocking
// form does, one more round trip. Nothing is popped when the wait ends
// empty: ok is false and the error nil. Not queueable in a Batch or Tx
// (rapyer.ErrInvalid, as for a negative timeout; nothing sent).
//
// An object deleted (or expired) while a caller waits does not wake it:
// the wait runs until its timeout, since a container of a missing object
// gets no elements.

// BPopFront removes and returns the first element, waiting up to timeout
// for one (PopFront, then BLPOP). Round trips: one when the list has an
// element; otherwise the wait, then one (the version and TTL). Errors:
// rapyer.ErrNotFound (the object does not exist), rapyer.ErrDecode,
// rapyer.ErrInvalid, ctx's. Locally: the first element is removed.
func (l *List[T]) BPopFront(ctx context.Context, timeout time.Duration) (v T, ok bool, err error) {
	return l.bpop(ctx, "List.BPopFront", "popfront", "BLPOP", timeout)
}

// BPop removes and returns the last element, waiting up to timeout for one
// (Pop, then BRPOP); as BPopFront otherwise. Locally: the last element is
// removed.
func (l *List[T]) BPop(ctx context.Context, timeout time.Duration) (v T, ok bool, err error) {
	return l.bpop(ctx, "List.BPop", "pop", "BRPOP", timeout)
}

func (l *List[T]) bpop(ctx context.Context, op, script, command string, timeout time.Duration) (T, bool, error) {
	return ops.Block(ctx, op, l, timeout, func(ctx context.Context) (T, bool, error) {
		return l.pop(ctx, op, script)
	}, command, nil, func(r any, err error) (T, error) {
		var zero T
		vs, err := redis.Values(r, err) // {key, element}
		if err == nil && len(vs) != 2 {
			err = redis.ErrNil
		}
		var b []byte
		if err == nil {
			b, err = redis.Bytes(vs[1], nil)
		}
		if err != nil {
			return zero, decodeErr(l, op, err)
		}
		l.dropEnd(script == "popfront")
		v, err := l.elems.of(ops.Fallback(l)).Decode(b)
		if err != nil {
			return zero, decodeErr(l, op, err)
		}
		return v, nil
	})
}

// dropEnd removes the local copy's first (front) or last element.
func (l *List[T]) dropEnd(front bool) {
	n := len(l.items)
	switch {
	case n == 0:
	case front:
		l.items = slices.Delete(l.items, 0, 1)
	default:
		l.items = l.items[:n-1]
	}
}

// BMove moves the first element of l to the end of dst, a list of the same
// object (dst may be l), and returns it, waiting up to timeout for one
// (BLMOVE l dst LEFT RIGHT): the reliable-queue step, where a worker moves
// a job to its "processing" list atomically, so a job is never lost
// between the pop and the work. Round trips: an existence check (MULTI
// EXISTS LLEN EXEC, with the TTL refresh), the move (at once when l has an
// element), then the version and TTL. Errors as BPopFront, and
// rapyer.ErrInvalid for a dst of another object (nothing sent). Locally:
// the element leaves l's copy and joins dst's.
func (l *List[T]) BMove(ctx context.Context, dst *List[T], timeout time.Duration) (v T, ok bool, err error) {
	const op = "List.BMove"
	if dst == nil {
		return v, false, invalid(l, op, fmt.Errorf("nil destination list"))
	}
	if l.Key() != "" && !ops.SameObject(l, dst) {
		return v, false, invalid(l, op, fmt.Errorf("list %q is not a field of the same object as %q (BLMOVE moves between the keys of one object)", dst.Name(), l.Name()))
	}
	return ops.Block(ctx, op, l, timeout, func(ctx context.Context) (T, bool, error) {
		var zero T
		_, err := ops.Read(ctx, op, l, "LLEN", redis.Int)
		return zero, false, err
	}, "BLMOVE", []any{dst, "LEFT", "RIGHT"}, func(r any, err error) (T, error) {
		var zero T
		b, err := redis.Bytes(r, err)
		if err != nil {
			return zero, decodeErr(l, op, err)
		}
		v, err := l.elems.of(ops.Fallback(l)).Decode(b)
		if err != nil {
			return zero, decodeErr(l, op, err)
		}
		l.dropEnd(true)
		dst.items = append(dst.items, v)
		return v, nil
	})
}

// BPopMin removes and returns the member with the lowest score, waiting up
// to timeout for one (PopMin(1), then BZPOPMIN); as List.BPopFront
// otherwise. Locally: the member leaves the copy.
func (z *SortedSet[T]) BPopMin(ctx context.Context, timeout time.Duration) (m Member[T], ok bool, err error) {
	return z.bpop(ctx, "SortedSet.BPopMin", "popmin", "BZPOPMIN", timeout)
}

// BPopMax removes and returns the member with the highest score, waiting
// up to timeout for one (PopMax(1), then BZPOPMAX); as BPopMin otherwise.
func (z *SortedSet[T]) BPopMax(ctx context.Context, timeout time.Duration) (m Member[T], ok bool, err error) {
	return z.bpop(ctx, "SortedSet.BPopMax", "popmax", "BZPOPMAX", timeout)
}

func (z *SortedSet[T]) bpop(ctx context.Context, op, verb, command string, timeout time.Duration) (Member[T], bool, error) {
	return ops.Block(ctx, op, z, timeout, func(ctx context.Context) (Member[T], bool, error) {
		ms, err := z.pop(ctx, op, verb, 1)
		if len(ms) == 0 {
			return Member[T]{}, false, err
		}
		return ms[0], true, err // popped (err: not known to be replicated)
	}, command, nil, func(r any, err error) (Member[T], error) {
		vs, err := redis.Values(r, err) // {key, member, score}
		if err == nil && len(vs) != 3 {
			err = redis.ErrNil
		}
		var ms []Member[T]
		if err == nil {
			ms, err = z.pairs(vs[1:], nil)
		}
		if err != nil || len(ms) != 1 {
			return Member[T]{}, decodeErr(z, op, err)
		}
		z.drop(ms)
		return ms[0], nil
	})
}
