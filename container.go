package rapyer

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// ContainerKind is the Redis type that stores a container field
// (ops.ListKind, ops.HashKind, ops.SetKind, ops.ZSetKind).
type ContainerKind = ops.Kind

// title names the handle type in operation names ("List.Len").
func kindTitle(k ContainerKind) string {
	return [...]string{"Container", "List", "Map", "Set", "SortedSet"}[k]
}

// writer is the container's code in the scripts' container blocks
// (lua/prelude.lua's write_containers).
func kindWriter(k ContainerKind) string { return string("?lhsz"[k]) }

// readCmd is the command that reads the whole container, in the layout
// ops.Local's Encode and Stage use.
func kindReadCmd(k ContainerKind, key string) ops.Cmd {
	switch k {
	case ops.ListKind:
		return ops.Cmd{Name: "LRANGE", Args: []any{key, 0, -1}}
	case ops.HashKind:
		return ops.Cmd{Name: "HGETALL", Args: []any{key}}
	case ops.SetKind:
		return ops.Cmd{Name: "SMEMBERS", Args: []any{key}}
	default:
		return ops.Cmd{Name: "ZRANGE", Args: []any{key, 0, -1, "WITHSCORES"}}
	}
}

func kindLenCmd(k ContainerKind) string {
	return [...]string{"", "LLEN", "HLEN", "SCARD", "ZCARD"}[k]
}

// Container is the binding and the common operations of every container
// handle (package types embeds it: types.List[T] is a Container whose
// local copy is a []T). A container field is stored under its own key,
// a sibling of the object's hash with the same hash tag, so that every
// operation on the object stays in one slot. An empty container is stored as
// no key, and loads as empty. (Writing a container handle of your own: see
// package ops.)
type Container struct {
	cref        // name, kind and local copy (ops.InitContainer), and the object
	full string // the dotted name inside the model
	key  string
	idx  int // 1-based position of key among the object's keys
}

// kind is the Redis type of the field, as ops.InitContainer declared it.
func (c *Container) kind() ContainerKind {
	_, k, _ := ops.Declared(&c.cref)
	return k
}

// local is the handle's local copy, as ops.InitContainer declared it.
func (c *Container) local() ops.Local {
	_, _, l := ops.Declared(&c.cref)
	return l
}

// Name returns the field's dotted name inside its model ("home.visits").
func (c *Container) Name() string { return c.full }

// Kind returns the Redis type of the field.
func (c *Container) Kind() ContainerKind { return c.kind() }

// Key returns the Redis key of the container ("" until the object is bound).
func (c *Container) Key() string { return c.key }

// fallback returns the codec for element types without a native encoding:
// the Store's, or msgpack while unbound.
func (c *Container) fallback() serialize.Fallback {
	if m := c.model(); m != nil && m.st != nil {
		return m.st.cfg.fallback
	}
	return serialize.Msgpack
}

// Load replaces the local copy with the stored content: one round trip
// (MULTI {EXISTS, the full read, PEXPIRE when refresh is on}). Errors:
// ErrNotFound, ErrDecode (the local copy is then unchanged).
func (c *Container) Load(ctx context.Context) error {
	_, err := fieldRead(ctx, kindTitle(c.kind())+".Load", c, "", func(r any, err error) (struct{}, error) {
		flat, err := ops.FlatReply(r, err)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, c.apply(flat)
	})
	return err
}

// apply decodes a full read of the container (in ops.Local's flat layout)
// into the local copy, all or nothing (ops.Apply).
func (c *Container) apply(flat [][]byte) error {
	if err := c.local().Stage(flat, c.fallback()); err != nil {
		return fieldError(c, "decode", codecErr(ErrDecode, err))
	}
	c.local().Commit()
	return nil
}

// Save replaces the stored content with the local copy and nothing else: it
// is Model.Update with this field alone (one script, one round trip).
// Errors: ErrNotFound (nothing written), ErrInvalid (an element that does
// not encode; nothing sent).
func (c *Container) Save(ctx context.Context) error {
	m, err := boundModel(c, "Save")
	if err != nil {
		return err
	}
	return detail("Save", m.sc.name, m.id, c.full, m.Update(ctx, c))
}

// Clear empties the stored container and the local copy (one script, one
// round trip). Errors: ErrNotFound (nothing written; the local copy is kept).
func (c *Container) Clear(ctx context.Context) error {
	m, err := boundModel(c, "Clear")
	if err != nil {
		return err
	}
	err = m.update(ctx, "Clear", nil, nil, nil, []any{c.idx, kindWriter(c.kind()), 0}, c.local().Reset)
	return detail("Clear", m.sc.name, m.id, c.full, err)
}

// Len returns the number of stored elements (LLEN, HLEN, SCARD or ZCARD
// with the existence check: one round trip). The local copy is unchanged.
func (c *Container) Len(ctx context.Context) (int, error) {
	return fieldRead(ctx, kindTitle(c.kind())+".Len", c, kindLenCmd(c.kind()), redis.Int)
}

func (c *Container) flatten(prefix string, out []handle) []handle {
	name, kind, local := ops.Declared(&c.cref)
	if !validFieldPart(name) {
		panic(fmt.Sprintf("rapyer: invalid field name %q under %q: call Named with a letter, then letters, digits or '_' (at most 64 bytes)", name, prefix))
	}
	c.full = prefix + name
	if local == nil || kind < ops.ListKind || kind > ops.ZSetKind {
		panic(fmt.Sprintf("rapyer: container field %q was not initialised (ops.InitContainer)", c.full))
	}
	return append(out, c)
}

func (c *Container) collectInto(m *Model, i int) int { return m.addContainer(c, i) }
func (c *Container) fullName() string                { return c.full }
func (c *Container) model() *Model                   { return modelOf(&c.Ref) }
func (c *Container) bind(m *Model)                   { c.Ref = ops.RefTo(m.object()) }
func (c *Container) clearLocal()                     { c.local().Reset() }
func (c *Container) applyDefault()                   { c.local().ApplyDefault() }
func (c *Container) container() *Container           { return c }

// block encodes the local content as a container block of the scripts
// (key index, kind, count, items in write order).
func (c *Container) block(fb serialize.Fallback) ([]any, error) {
	flat, err := c.local().Encode(fb)
	if err != nil {
		return nil, codecErr(ErrInvalid, err)
	}
	out := make([]any, 0, 3+len(flat))
	out = append(out, c.idx, kindWriter(c.kind()), len(flat))
	return appendWriteOrder(out, c.kind(), flat), nil
}

// appendWriteOrder appends flat (read layout) in the order the kind's write
// command takes: ZADD wants score before member.
func appendWriteOrder(out []any, k ContainerKind, flat [][]byte) []any {
	if k == ops.ZSetKind {
		for i := 0; i+1 < len(flat); i += 2 {
			out = append(out, flat[i+1], flat[i])
		}
		return out
	}
	for _, b := range flat {
		out = append(out, b)
	}
	return out
}
