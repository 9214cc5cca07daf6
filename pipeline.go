package rapyer

import (
	"context"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
)

// unit is one object's share of a round trip: commands run inside
// MULTI/EXEC (multi), plain pipelined commands, or one script call (script
// set: keys and args are its KEYS and ARGV).
type unit struct {
	multi  bool
	cmds   []cmd
	script *lua.Script
	keys   []string
	args   []any
	vpos   int // position in cmds of the reply carrying the new version
}

func scriptUnit(sc *lua.Script, keys []string, args []any) unit {
	return unit{script: sc, keys: keys, args: args}
}

// version reads the new version from a unit's replies.
func (u unit) version(replies []any) int64 {
	i := u.vpos
	if u.script != nil {
		i = 0
	}
	if i >= len(replies) {
		return 0
	}
	v, _ := redis.Int64(replies[i], nil)
	return v
}

// unitResult is what one unit got back: its replies (EXEC's for a multi
// unit, the script's reply alone for a script), and the first error among
// them.
type unitResult struct {
	replies []any
	err     error
}

// runUnit runs one unit in one round trip (EVALSHA then EVAL when the
// server lost the script).
func (s *Store) runUnit(ctx context.Context, u unit) ([]any, error) {
	if u.script != nil {
		r, err := s.eval(ctx, u.script, u.keys, u.args...)
		if err != nil {
			return nil, err
		}
		return []any{r}, nil
	}
	return s.pipe(ctx, u.multi, u.cmds)
}

// runUnits sends units in one round trip and returns one result per unit.
// Script units go by EVALSHA; those the server answers NOSCRIPT (nothing of
// them ran) are sent again whole by EVAL in a second round trip. The error
// is for the round trip itself (network, context); per-unit failures are in
// the results.
func (s *Store) runUnits(ctx context.Context, units []unit) ([]unitResult, error) {
	n := 0
	for _, u := range units {
		n += u.size()
	}
	replies, err := s.sendWith(ctx, n, func(c redis.Conn) error {
		for _, u := range units {
			if err := u.write(c, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]unitResult, len(units))
	var retry []int
	pos := 0
	for i, u := range units {
		rs, err := u.replies(replies, &pos)
		if u.script != nil && isNoScript(err) {
			retry = append(retry, i)
			continue
		}
		out[i] = unitResult{replies: rs, err: err}
	}
	if len(retry) == 0 {
		return out, nil
	}
	s.cfg.logger.Debug("rapyer: scripts not cached, sending them", "units", len(retry))
	again, err := s.sendWith(ctx, len(retry), func(c redis.Conn) error {
		for _, i := range retry {
			if err := units[i].write(c, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for j, i := range retry {
		out[i] = unitResult{replies: again[j : j+1], err: firstError(again[j : j+1])}
	}
	return out, nil
}

// replies takes the unit's replies from a pipeline's, at *pos (moved past
// them): a script's reply, EXEC's replies (MULTI's OK and the QUEUED are
// skipped; an error there makes EXEC fail with EXECABORT), or the plain
// commands' replies; and the first error reply among them.
func (u unit) replies(all []any, pos *int) ([]any, error) {
	p := *pos
	switch {
	case u.script != nil:
		*pos = p + 1
		rs := all[p : p+1]
		return rs, firstError(rs)
	case u.multi:
		*pos = p + len(u.cmds) + 2
		return execReplies(all[p+len(u.cmds)+1], len(u.cmds))
	default:
		*pos = p + len(u.cmds)
		rs := all[p : p+len(u.cmds)]
		return rs, firstError(rs)
	}
}

// isNoScript reports whether err is the server's NOSCRIPT reply.
func isNoScript(err error) bool {
	e, ok := err.(redis.Error)
	return ok && strings.HasPrefix(e.Error(), "NOSCRIPT")
}

// size is how many commands the unit sends.
func (u unit) size() int {
	switch {
	case u.script != nil:
		return 1
	case u.multi:
		return len(u.cmds) + 2
	default:
		return len(u.cmds)
	}
}

// write sends the unit's commands on c; eval sends a script unit by EVAL
// (whole source) instead of EVALSHA.
func (u unit) write(c redis.Conn, eval bool) error {
	switch {
	case u.script != nil:
		args := make([]any, 0, 2+len(u.keys)+len(u.args))
		name := "EVALSHA"
		if eval {
			name = "EVAL"
			args = append(args, u.script.Src(), len(u.keys))
		} else {
			args = append(args, u.script.SHA(), len(u.keys))
		}
		for _, k := range u.keys {
			args = append(args, k)
		}
		return c.Send(name, append(args, u.args...)...)
	case u.multi:
		if err := c.Send("MULTI"); err != nil {
			return err
		}
		for _, cm := range u.cmds {
			if err := c.Send(cm.name, cm.args...); err != nil {
				return err
			}
		}
		return c.Send("EXEC")
	default:
		for _, cm := range u.cmds {
			if err := c.Send(cm.name, cm.args...); err != nil {
				return err
			}
		}
		return nil
	}
}
