package rapyer

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// The executor: the one code that takes a connection and writes to it.
// Every path (single operations, Batch, Tx, bulk calls, queries and their
// loads, Sweep, Reindex, locks, Modify, Ping) builds ops.Units and sends
// them through Store.exec. It owns the NOSCRIPT recovery (a unit whose
// script the server lost is sent again whole by EVAL, never a part of it)
// and the MULTI/EXEC framing of a Tx.

// request is what the executor sends in one go.
type request struct {
	units []ops.Unit
	// tx sends every unit inside one MULTI/EXEC, after SCRIPT LOAD of the
	// scripts they use (in the same round trip), so that EXEC never meets
	// NOSCRIPT. A nil EXEC (a WATCH of a pinned connection fired) is
	// ErrConflict.
	tx bool
	// sent, when set, runs after the commands are flushed and before the
	// replies are read: work that overlaps with the server's.
	sent func()
	// pin sends on a connection the caller holds (see Store.pinned), for
	// sequences that need one connection (WATCH, then MULTI/EXEC).
	pin *pinned
}

// pinned is a connection held across several requests.
type pinned struct {
	c       redis.Conn
	timeout time.Duration
}

// pinned runs fn with one connection from the pool, held until fn returns;
// requests with pin set go on it. (The pool sends UNWATCH when the
// connection goes back with a WATCH still open.)
func (s *Store) pinned(ctx context.Context, fn func(p *pinned) error) error {
	c, timeout, err := s.conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(&pinned{c: c, timeout: timeout})
}

// exec sends r's units in one round trip (two when a script was lost) and
// returns one result per unit. Its error is for the request as a whole: the
// Store closed, the context, the network, a Tx that did not run; a unit's
// own error reply is in its result.
func (s *Store) exec(ctx context.Context, r request) ([]ops.Result, error) {
	if len(r.units) == 0 {
		return nil, nil
	}
	c, timeout := redis.Conn(nil), time.Duration(0)
	if r.pin != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, timeout = r.pin.c, r.pin.timeout
	} else {
		var err error
		if c, timeout, err = s.conn(ctx); err != nil {
			return nil, err
		}
		defer c.Close()
	}
	if r.tx {
		return s.execTx(ctx, c, timeout, r)
	}
	if len(r.units) == 1 && r.sent == nil {
		if rs, err, ok := s.execOne(ctx, c, timeout, &r.units[0]); ok {
			return rs, err
		}
	}
	n := 0
	for i := range r.units {
		u := &r.units[i]
		if err := writeUnit(c, u, false); err != nil {
			return nil, netErr(ctx, err)
		}
		n += u.Size()
	}
	if r.sent != nil {
		if err := c.Flush(); err != nil {
			return nil, netErr(ctx, err)
		}
		r.sent()
	}
	replies, err := receive(ctx, c, timeout, n)
	if err != nil {
		return nil, err
	}
	out := make([]ops.Result, len(r.units))
	var retry []int
	pos := 0
	for i := range r.units {
		u := &r.units[i]
		rs, err := unitReplies(u, replies, &pos)
		if u.Script != nil && ops.IsNoScript(err) {
			retry = append(retry, i)
			continue
		}
		out[i] = ops.Result{Replies: rs, Err: err}
	}
	if len(retry) == 0 {
		return out, nil
	}
	s.cfg.logger.Debug("rapyer: scripts not cached, sending them", "units", len(retry))
	for _, i := range retry {
		if err := writeUnit(c, &r.units[i], true); err != nil {
			return nil, netErr(ctx, err)
		}
	}
	again, err := receive(ctx, c, timeout, len(retry))
	if err != nil {
		return nil, err
	}
	for j, i := range retry {
		out[i] = ops.Result{Replies: again[j : j+1], Err: ops.FirstError(again[j : j+1])}
	}
	return out, nil
}

// execOne sends a unit of one command (a script call, or one plain
// command) with a single Do: no reply slice to gather. ok is false for
// other units.
func (s *Store) execOne(ctx context.Context, c redis.Conn, timeout time.Duration, u *ops.Unit) (out []ops.Result, err error, ok bool) {
	var r any
	switch {
	case u.Script != nil:
		name, args := u.EvalArgs(false)
		r, err = redis.DoWithTimeout(c, timeout, name, args...)
		if ops.IsNoScript(err) {
			s.cfg.logger.Debug("rapyer: script not cached, sending it", "script", u.Script.Name())
			args[0] = u.Script.Src()
			r, err = redis.DoWithTimeout(c, timeout, "EVAL", args...)
		}
	case !u.Multi && len(u.Cmds) == 1:
		r, err = redis.DoWithTimeout(c, timeout, u.Cmds[0].Name, u.Cmds[0].Args...)
	default:
		return nil, nil, false
	}
	if _, isReply := err.(redis.Error); err != nil && !isReply {
		return nil, netErr(ctx, err), true
	}
	if err != nil {
		r = err
	}
	rs := []any{r}
	return []ops.Result{{Replies: rs, Err: ops.FirstError(rs)}}, nil, true
}

// execTx sends r's units as one MULTI/EXEC, after SCRIPT LOAD of the
// scripts they use, and splits EXEC's replies per unit.
func (s *Store) execTx(ctx context.Context, c redis.Conn, timeout time.Duration, r request) ([]ops.Result, error) {
	var scripts []*lua.Script
	n := 0
	for i := range r.units {
		u := &r.units[i]
		if sc := u.Script; sc != nil && !hasScript(scripts, sc) {
			scripts = append(scripts, sc)
		}
		n += u.Inlined()
	}
	for _, sc := range scripts {
		if err := c.Send("SCRIPT", "LOAD", sc.Src()); err != nil {
			return nil, netErr(ctx, err)
		}
	}
	if err := c.Send("MULTI"); err != nil {
		return nil, netErr(ctx, err)
	}
	for i := range r.units {
		u := &r.units[i]
		var err error
		if u.Script != nil {
			err = writeUnit(c, u, false)
		} else {
			err = writeCmds(c, u.Cmds)
		}
		if err != nil {
			return nil, netErr(ctx, err)
		}
	}
	if err := c.Send("EXEC"); err != nil {
		return nil, netErr(ctx, err)
	}
	if r.sent != nil {
		if err := c.Flush(); err != nil {
			return nil, netErr(ctx, err)
		}
		r.sent()
	}
	replies, err := receive(ctx, c, timeout, len(scripts)+2+n)
	if err != nil {
		return nil, err
	}
	if err := ops.FirstError(replies[:len(scripts)]); err != nil {
		return nil, err
	}
	exec, err := execReplies(replies[len(replies)-1], n)
	if exec == nil {
		return nil, err
	}
	out := make([]ops.Result, len(r.units))
	pos := 0
	for i := range r.units {
		k := r.units[i].Inlined()
		rs := exec[pos : pos+k]
		out[i] = ops.Result{Replies: rs, Err: ops.FirstError(rs)}
		pos += k
	}
	return out, nil
}

func hasScript(scripts []*lua.Script, sc *lua.Script) bool {
	for _, x := range scripts {
		if x == sc {
			return true
		}
	}
	return false
}

// writeUnit sends the unit's commands on c; eval sends a script unit by
// EVAL (whole source) instead of EVALSHA.
func writeUnit(c redis.Conn, u *ops.Unit, eval bool) error {
	switch {
	case u.Script != nil:
		name, args := u.EvalArgs(eval)
		return c.Send(name, args...)
	case u.Multi:
		if err := c.Send("MULTI"); err != nil {
			return err
		}
		if err := writeCmds(c, u.Cmds); err != nil {
			return err
		}
		return c.Send("EXEC")
	default:
		return writeCmds(c, u.Cmds)
	}
}

func writeCmds(c redis.Conn, cmds []ops.Cmd) error {
	for _, cm := range cmds {
		if err := c.Send(cm.Name, cm.Args...); err != nil {
			return err
		}
	}
	return nil
}

// receive flushes what was written and reads n replies (error replies
// included as values).
func receive(ctx context.Context, c redis.Conn, timeout time.Duration, n int) ([]any, error) {
	r, err := redis.DoWithTimeout(c, timeout, "")
	if err != nil {
		return nil, netErr(ctx, err)
	}
	replies, _ := r.([]any)
	if len(replies) != n {
		return nil, fmt.Errorf("rapyer: %d replies for %d commands", len(replies), n)
	}
	return replies, nil
}

// unitReplies takes the unit's replies from a pipeline's, at *pos (moved
// past them): a script's reply, EXEC's replies (MULTI's OK and the QUEUED
// are skipped; an error there makes EXEC fail with EXECABORT), or the plain
// commands' replies; and the first error reply among them.
func unitReplies(u *ops.Unit, all []any, pos *int) ([]any, error) {
	p := *pos
	switch {
	case u.Script != nil:
		*pos = p + 1
		rs := all[p : p+1]
		return rs, ops.FirstError(rs)
	case u.Multi:
		*pos = p + len(u.Cmds) + 2
		return execReplies(all[p+len(u.Cmds)+1], len(u.Cmds))
	default:
		*pos = p + len(u.Cmds)
		rs := all[p : p+len(u.Cmds)]
		return rs, ops.FirstError(rs)
	}
}

// execReplies checks the reply of an EXEC that ran n queued commands: its
// replies, and the first error reply among them as the error.
func execReplies(exec any, n int) ([]any, error) {
	switch r := exec.(type) {
	case []any:
		if len(r) != n {
			return nil, fmt.Errorf("rapyer: EXEC returned %d replies for %d commands", len(r), n)
		}
		return r, ops.FirstError(r)
	case nil:
		return nil, ErrConflict
	case error:
		return nil, r
	default:
		return nil, fmt.Errorf("rapyer: unexpected EXEC reply %T", exec)
	}
}

// run1 sends one unit and returns its replies and its error (the request's
// or the unit's own).
func (s *Store) run1(ctx context.Context, u ops.Unit) ([]any, error) {
	res, err := s.exec(ctx, request{units: []ops.Unit{u}})
	if err != nil {
		return nil, err
	}
	return res[0].Replies, res[0].Err
}

// eval runs one script call: EVALSHA, then EVAL of the whole script when
// the server lost it.
func (s *Store) eval(ctx context.Context, sc *lua.Script, keys []string, args ...any) (any, error) {
	rs, err := s.run1(ctx, ops.ScriptUnit(sc, keys, args))
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// pipe sends cmds in one round trip (inside MULTI/EXEC with multi) and
// returns their replies, and the first error reply among them.
func (s *Store) pipe(ctx context.Context, multi bool, cmds []ops.Cmd) ([]any, error) {
	return s.run1(ctx, ops.Unit{Multi: multi, Cmds: cmds})
}
