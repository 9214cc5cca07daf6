package rapyer

import (
	"context"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// The executor's entry points for one unit (exec.go has the executor):
// run1, eval and one, the hot path of every single operation, without
// exec's request and result slices when the unit is one command and does
// not wait for replicas; pipe for a few plain commands.

// oneExec is one through exec (a cluster, or a unit that waits): its reply,
// and the request's error; a WAIT short of its count (ErrNotReplicated)
// comes with the reply, unless the unit failed (then nothing was written).
func (s *Store) oneExec(ctx context.Context, u *ops.Unit) (any, error) {
	res, err := s.exec(ctx, request{units: []ops.Unit{*u}})
	hard, short := shortOf(err)
	if hard != nil {
		return nil, hard
	}
	if len(res[0].Replies) == 0 {
		return nil, res[0].Err
	}
	r := res[0].Replies[0]
	if _, failed := r.(redis.Error); failed || res[0].Err != nil {
		return r, nil
	}
	return r, short
}

// run1 sends one unit and returns its replies and its error (the request's
// or the unit's own: the unit's first, then a WAIT short of its count).
func (s *Store) run1(ctx context.Context, u ops.Unit) ([]any, error) {
	if u.Script != nil || (!u.Multi && len(u.Cmds) == 1) {
		r, err := s.one(ctx, &u)
		if hard, _ := shortOf(err); hard != nil {
			return nil, err
		}
		rs := []any{r}
		if ferr := ops.FirstError(rs); ferr != nil {
			return rs, ferr
		}
		return rs, err
	}
	res, err := s.exec(ctx, request{units: []ops.Unit{u}})
	hard, short := shortOf(err)
	if hard != nil {
		return nil, hard
	}
	if res[0].Err != nil {
		return res[0].Replies, res[0].Err
	}
	return res[0].Replies, short
}

// eval runs one script call: EVALSHA, then EVAL of the whole script when
// the server lost it. (exec's path for one unit of one command, without
// its request and result slices: the hot path of every field operation.)
func (s *Store) eval(ctx context.Context, sc *lua.Script, keys []string, args ...any) (any, error) {
	u := ops.ScriptUnit(sc, keys, args)
	r, err := s.one(ctx, &u)
	if e, ok := r.(redis.Error); ok {
		return nil, e
	}
	if hard, _ := shortOf(err); hard != nil {
		return nil, err
	}
	return r, err // the reply, with a WAIT short of its count (ErrNotReplicated)
}

// one sends u, a unit of one command, on a connection of its own: exec's
// path for it, without the request and result slices (the hot path of
// every field operation). Its reply may be an error reply (a redis.Error
// value); err is for the round trip.
func (s *Store) one(ctx context.Context, u *ops.Unit) (any, error) {
	if s.mayWait() && s.waitOf(ctx, []ops.Unit{*u}).on() {
		return s.oneExec(ctx, u)
	}
	s.noteUnit(ctx, u)
	if s.cl != nil {
		return s.oneCluster(ctx, u)
	}
	c, err := s.link(ctx, nil, unitBytes(u) <= muxMaxBytes)
	if err != nil {
		return nil, err
	}
	defer c.release()
	r, err, _ := s.execOne(ctx, c, u)
	return r, err
}

// pipe sends cmds in one round trip (inside MULTI/EXEC with multi) and
// returns their replies, and the first error reply among them.
func (s *Store) pipe(ctx context.Context, multi bool, cmds []ops.Cmd) ([]any, error) {
	return s.run1(ctx, ops.Unit{Multi: multi, Cmds: cmds})
}
