package rapyer

import (
	"context"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// fieldRead (ops.Read) runs one read command on field f of its object inside
// MULTI/EXEC, with the object's existence check and (when refresh is on) the
// TTL refresh: one round trip. For a scalar the command is sent as "command
// <hash key> <field> args..."; for a container as "command <container key>
// args...", or, when command is "", as the container's full read. decode
// works as fieldScript's (queued with a queue context). Errors: ErrNotFound
// when the object does not exist. For handle implementers (through ops.Read).
func fieldRead[R any](ctx context.Context, op string, f Field, command string, decode func(any, error) (R, error), args ...any) (R, error) {
	var zero R
	b, m, err := fieldOf(f, op)
	if err != nil {
		return zero, err
	}
	var read ops.Cmd
	switch c, ok := b.(containerHandle); {
	case ok && command == "":
		read = kindReadCmd(c.container().kind(), c.container().key)
	case ok:
		read = ops.Cmd{Name: command, Args: append([]any{c.container().key}, args...)}
	default:
		read = ops.Cmd{Name: command, Args: append([]any{m.key[0], b.fullName()}, args...)}
	}
	cmds := append([]ops.Cmd{{Name: "EXISTS", Args: []any{m.key[0]}}, read}, m.refreshCmds()...)
	finish := func(replies []any, err error) (R, error) {
		if err != nil {
			return zero, detail(op, m.sc.name, m.id, b.fullName(), scriptError(err))
		}
		if n, _ := redis.Int64(replies[0], nil); n == 0 {
			return zero, detail(op, m.sc.name, m.id, b.fullName(), ErrNotFound)
		}
		return decodeWith(op, m, b, decode, replies[1])
	}
	if qc := queueOf(ctx); qc != nil {
		return zero, qc.add(op, m, ops.Unit{Multi: true, Cmds: cmds, Read: true}, nil, func(rs []any, err error) (any, error) {
			return finish(rs, err)
		})
	}
	ctx, o := m.st.beginField(ctx, op, m.sc.name, m.id, b)
	r, err := finish(m.st.run1(ctx, ops.Unit{Multi: true, Cmds: cmds, Read: true}))
	o.end(err)
	return r, err
}
