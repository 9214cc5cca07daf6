package rapyer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// blockSliceMin is the shortest slice a blocking command waits for, and
// blockMargin how long before the context's deadline the last one ends
// (see blockSlice).
const (
	blockSliceMin = 10 * time.Millisecond
	blockMargin   = 50 * time.Millisecond
)

// Block runs a blocking pop for ops.Block: see there for the contract.
//
// The blocking command goes on a connection of its own, held by
// Store.pinned for the whole call and on no shared path: a blocked
// connection answers nothing else until the command returns, so it must
// never be one that other callers' commands are multiplexed on.
func (r *modelRT) Block(ctx context.Context, h ops.Handle, op string, timeout time.Duration, try func(context.Context) (bool, error), command string, args []any) (any, error) {
	m := (*Model)(r)
	f, err := field(h, op)
	if err != nil {
		return nil, err
	}
	b, m2, err := fieldOf(f, op)
	if err != nil {
		return nil, err
	}
	c, ok := b.(containerHandle)
	switch {
	case m2 != m || !ok:
		return nil, fieldError(f, op, fmt.Errorf("%w: not a container of this object", ErrInvalid))
	case queueOf(ctx) != nil:
		return nil, fieldError(f, op, fmt.Errorf("%w: a blocking operation cannot be queued in a Batch or Tx", ErrInvalid))
	case timeout < 0:
		return nil, fieldError(f, op, fmt.Errorf("%w: timeout %v: want 0 (none) or more", ErrInvalid, timeout))
	}
	full := make([]any, 0, len(args)+2)
	full = append(full, c.container().key)
	for _, a := range args {
		if ah, ok := a.(ops.Handle); ok {
			af, err := field(ah, op)
			if err != nil {
				return nil, err
			}
			ac, ok := af.(containerHandle)
			if !ok || ac.model() != m {
				return nil, fieldError(f, op, fmt.Errorf("%w: %s takes a container of the same object", ErrInvalid, command))
			}
			a = ac.container().key
		}
		full = append(full, a)
	}
	if got, err := try(ctx); err != nil || got {
		return nil, err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var reply any
	var short error // the touch's WAIT counted too few replicas
	err = m.st.pinned(ctx, m.key[0], func(p *pinned) error {
		for {
			wait, last, ok := m.st.blockSlice(ctx, deadline)
			if !ok { // too close to ctx's deadline for another wait
				<-ctx.Done()
				return ctx.Err()
			}
			cmd := ops.Cmd{Name: command, Args: append(full[:len(full):len(full)], strconv.FormatFloat(wait.Seconds(), 'f', 3, 64))}
			res, err := m.st.exec(ctx, request{units: []ops.Unit{{Cmds: []ops.Cmd{cmd}}}, pin: p})
			if err != nil {
				return err
			}
			if res[0].Err != nil {
				return scriptError(res[0].Err)
			}
			if reply = res[0].Replies[0]; reply != nil {
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if last {
				return nil
			}
		}
		// Popped: the version and the TTL, as a container write has them.
		u := ops.ScriptUnit(lua.Touch, m.keys(), []any{m.touchTTL(), len(m.keys())})
		res, err := m.st.exec(ctx, request{units: []ops.Unit{u}, pin: p})
		err, short = shortOf(err)
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			// The elements are popped all the same: they are returned.
			m.st.cfg.logger.Warn("rapyer: version and TTL after a blocking pop", "model", m.sc.name, "id", m.id, "err", err)
			return nil
		}
		if v, ok := res[0].Replies[0].(int64); ok && v == m.version+1 {
			m.version = v
		}
		return nil
	})
	if err != nil {
		return nil, detail(op, m.sc.name, m.id, b.fullName(), err)
	}
	if short != nil {
		return reply, detail(op, m.sc.name, m.id, b.fullName(), short)
	}
	return reply, nil
}

// blockSlice is how long the next blocking command may wait: until
// deadline (zero: none), no longer than the read timeout leaves for its
// reply, and ending blockMargin before ctx's deadline, so that the server
// answers (nil) before the context gives up on the connection: a pop the
// server made just as the context ended would be lost with the reply, and
// the embedded server does not notice a client gone while it waits. last
// reports that the slice reaches deadline; ok false that ctx's deadline is
// too close for another slice.
func (s *Store) blockSlice(ctx context.Context, deadline time.Time) (wait time.Duration, last, ok bool) {
	wait = time.Hour
	if !deadline.IsZero() {
		wait, last = time.Until(deadline), true
	}
	if rt := s.cfg.readTimeout; rt > 0 && rt/2 < wait {
		wait, last = rt/2, false
	}
	if dl, has := ctx.Deadline(); has {
		// The context ends the call; its deadline is not a slice's end.
		left := time.Until(dl) - blockMargin
		if left < blockSliceMin {
			return 0, false, false
		}
		if left < wait {
			wait, last = left, false
		}
	}
	return max(wait, blockSliceMin), last, true
}
