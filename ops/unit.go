package ops

import (
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
)

// Cmd is one Redis command: its name and arguments, as redigo's Conn.Send
// takes them.
type Cmd struct {
	Name string
	Args []any
}

// Unit is one indivisible piece of a round trip, built without I/O: plain
// pipelined commands, commands inside MULTI/EXEC (Multi), or one script call
// (Script set: Keys and Args are its KEYS and ARGV, sent by EVALSHA). Every
// operation of the library, alone or queued in a Batch or Tx, is one Unit
// and a completion that decodes its replies; the Store's executor sends
// units and hands back one Result each. A unit is sent whole or not at all:
// a script the server lost is sent again whole by EVAL, never a part of it.
type Unit struct {
	Multi  bool
	Cmds   []Cmd
	Script *lua.Script
	Keys   []string
	Args   []any
	// Read marks a unit whose commands only read (PEXPIRE aside), each
	// with its key first: where MULTI/EXEC is refused (a server out of
	// memory refuses every command queued in MULTI), the executor runs it
	// as lua/read.lua instead, atomic all the same (see ReadScript).
	Read bool
	// Node, when set, is the address of the cluster node the unit runs on,
	// whatever its keys: for commands that visit one node's keyspace
	// (SCAN). Empty: the unit's Route decides.
	Node string
}

// ReadScript returns u, a Read unit, as one call of lua/read.lua, whose
// reply is the list of replies EXEC would have given.
func (u *Unit) ReadScript() Unit {
	keys := make([]string, len(u.Cmds))
	var args []any
	for i, c := range u.Cmds {
		if len(c.Args) == 0 {
			continue
		}
		keys[i], _ = c.Args[0].(string)
		args = append(append(args, c.Name, len(c.Args)-1), c.Args[1:]...)
	}
	return ScriptUnit(lua.Read, keys, args)
}

// ScriptUnit is the unit of one script call.
func ScriptUnit(sc *lua.Script, keys []string, args []any) Unit {
	return Unit{Script: sc, Keys: keys, Args: args}
}

// Result is what one unit got back: its replies (EXEC's for a Multi unit,
// the script's reply alone for a script unit) and the first error among
// them (a redis.Error reply, or ErrConflict-like errors the executor maps).
type Result struct {
	Replies []any
	Err     error
}

// Route is the key that decides where the unit runs: a script's first KEY,
// else the first argument of its first command; "" for a unit of keyless
// commands (PING, SCRIPT), which may run anywhere. Every key of one unit
// shares a hash tag, so its route's slot is the unit's slot.
func (u *Unit) Route() string {
	if u.Script != nil {
		if len(u.Keys) > 0 {
			return u.Keys[0]
		}
		return ""
	}
	if len(u.Cmds) == 0 || len(u.Cmds[0].Args) == 0 {
		return ""
	}
	switch u.Cmds[0].Name {
	case "PING", "SCRIPT", "MULTI", "EXEC":
		return ""
	}
	if s, ok := u.Cmds[0].Args[0].(string); ok {
		return s
	}
	return ""
}

// Version reads the new version from the replies of a unit whose script
// replies it (Save, Insert, Update, and their bulk forms); 0 otherwise.
func (u *Unit) Version(replies []any) int64 {
	if u.Script == nil || len(replies) == 0 {
		return 0
	}
	v, _ := redis.Int64(replies[0], nil)
	return v
}

// Size is how many commands the unit sends on its own.
func (u *Unit) Size() int {
	switch {
	case u.Script != nil:
		return 1
	case u.Multi:
		return len(u.Cmds) + 2
	default:
		return len(u.Cmds)
	}
}

// Inlined is how many commands the unit sends inside an enclosing MULTI
// (a Tx): its script call, or its commands without their own MULTI/EXEC.
func (u *Unit) Inlined() int {
	if u.Script != nil {
		return 1
	}
	return len(u.Cmds)
}

// EvalArgs returns the arguments of the unit's script call: the script's
// SHA1 (or, with eval, its whole source), the key count, the keys, ARGV.
func (u *Unit) EvalArgs(eval bool) (name string, args []any) {
	return u.AppendEvalArgs(make([]any, 0, 2+len(u.Keys)+len(u.Args)), eval)
}

// AppendEvalArgs is EvalArgs appending the arguments to dst.
func (u *Unit) AppendEvalArgs(dst []any, eval bool) (name string, args []any) {
	args = dst
	name = "EVALSHA"
	if eval {
		name = "EVAL"
		args = append(args, u.Script.Src(), len(u.Keys))
	} else {
		args = append(args, u.Script.SHA(), len(u.Keys))
	}
	for _, k := range u.Keys {
		args = append(args, k)
	}
	return name, append(args, u.Args...)
}

// FirstError returns the first error reply among replies.
func FirstError(replies []any) error {
	for _, r := range replies {
		if e, ok := r.(redis.Error); ok {
			return e
		}
	}
	return nil
}

// IsNoScript reports whether err is the server's NOSCRIPT reply (the
// script is not cached; nothing of it ran).
func IsNoScript(err error) bool {
	e, ok := err.(redis.Error)
	return ok && strings.HasPrefix(e.Error(), "NOSCRIPT")
}
