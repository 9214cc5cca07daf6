package rapyer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// ContainerKind is the Redis type that stores a container field.
type ContainerKind uint8

// The container kinds.
const (
	ListKind ContainerKind = iota + 1 // LIST
	HashKind                          // HASH
	SetKind                           // SET
	ZSetKind                          // ZSET (sorted set)
)

func (k ContainerKind) String() string {
	switch k {
	case ListKind:
		return "list"
	case HashKind:
		return "hash"
	case SetKind:
		return "set"
	case ZSetKind:
		return "zset"
	}
	return "ContainerKind(" + strconv.Itoa(int(k)) + ")"
}

// title names the handle type in operation names ("List.Len").
func (k ContainerKind) title() string {
	return [...]string{"Container", "List", "Map", "Set", "SortedSet"}[k]
}

// writer is the container's code in the scripts' container blocks
// (lua/prelude.lua's write_containers).
func (k ContainerKind) writer() string { return string("?lhsz"[k]) }

// readCmd is the command that reads the whole container, in the layout
// ContainerLocal's Encode and Stage use.
func (k ContainerKind) readCmd(key string) ops.Cmd {
	switch k {
	case ListKind:
		return ops.Cmd{Name: "LRANGE", Args: []any{key, 0, -1}}
	case HashKind:
		return ops.Cmd{Name: "HGETALL", Args: []any{key}}
	case SetKind:
		return ops.Cmd{Name: "SMEMBERS", Args: []any{key}}
	default:
		return ops.Cmd{Name: "ZRANGE", Args: []any{key, 0, -1, "WITHSCORES"}}
	}
}

func (k ContainerKind) writeCmd() string {
	return [...]string{"", "RPUSH", "HSET", "SADD", "ZADD"}[k]
}

func (k ContainerKind) lenCmd() string {
	return [...]string{"", "LLEN", "HLEN", "SCARD", "ZCARD"}[k]
}

// ContainerLocal is the local copy behind a container handle; package types
// implements it for List, Map, Set and SortedSet. Its flat layout is the one
// the kind's full read returns: LRANGE's elements, HGETALL's field, value
// pairs, SMEMBERS's members, ZRANGE WITHSCORES's member, score pairs.
type ContainerLocal interface {
	// Check reports a definition error (an element type without a stable
	// encoding, for instance); Define panics with it, naming the field.
	Check() error
	// Encode returns the local content in the flat layout.
	Encode(fb serialize.Fallback) ([][]byte, error)
	// Stage decodes content in the flat layout into a staging slot, leaving
	// the local copy as it is.
	Stage(flat [][]byte, fb serialize.Fallback) error
	// Commit makes the staged content the local copy.
	Commit()
	// Reset empties the local copy.
	Reset()
	// ApplyDefault sets the declared default content of a new object.
	ApplyDefault()
}

// Container is the binding and the common operations of every container
// handle (package types embeds it: types.List[T] is a Container whose
// ContainerLocal is a []T). A container field is stored under its own key,
// a sibling of the object's hash with the same hash tag, so that every
// operation on the object stays in one slot. An empty container is stored as
// no key, and loads as empty.
type Container struct {
	m     *Model
	name  string
	full  string
	kind  ContainerKind
	local ContainerLocal
	key   string
	idx   int // 1-based position of key among the object's keys
}

// Init declares the handle's field name, kind and local copy. For handle
// implementers: a handle's Named method calls it inside the schema function.
func (c *Container) Init(name string, kind ContainerKind, local ContainerLocal) {
	c.name, c.kind, c.local = name, kind, local
}

// Name returns the field's dotted name inside its model ("home.visits").
func (c *Container) Name() string { return c.full }

// Kind returns the Redis type of the field.
func (c *Container) Kind() ContainerKind { return c.kind }

// Key returns the Redis key of the container ("" until the object is bound).
func (c *Container) Key() string { return c.key }

// KeyIndex returns the 1-based position of the container's key among the
// KEYS that FieldScript passes (the hash is 1). For handle implementers whose
// scripts use a second container of the same object.
func (c *Container) KeyIndex() int { return c.idx }

// Fallback returns the codec for element types without a native encoding:
// the Store's, or msgpack while unbound. For handle implementers.
func (c *Container) Fallback() serialize.Fallback {
	if c.m != nil && c.m.st != nil {
		return c.m.st.cfg.fallback
	}
	return serialize.Msgpack
}

// Load replaces the local copy with the stored content: one round trip
// (MULTI {EXISTS, the full read, PEXPIRE when refresh is on}). Errors:
// ErrNotFound, ErrDecode (the local copy is then unchanged).
func (c *Container) Load(ctx context.Context) error {
	_, err := FieldRead(ctx, c.kind.title()+".Load", c, "", func(r any, err error) (struct{}, error) {
		flat, err := FlatReply(r, err)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, c.Apply(flat)
	})
	return err
}

// Apply decodes a full read of the container (in ContainerLocal's flat
// layout) into the local copy, all or nothing. For handle implementers.
func (c *Container) Apply(flat [][]byte) error {
	if err := c.local.Stage(flat, c.Fallback()); err != nil {
		return FieldError(c, "decode", codecErr(ErrDecode, err))
	}
	c.local.Commit()
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
	err = m.update(ctx, "Clear", nil, nil, nil, []any{c.idx, c.kind.writer(), 0}, c.local.Reset)
	return detail("Clear", m.sc.name, m.id, c.full, err)
}

// Len returns the number of stored elements (LLEN, HLEN, SCARD or ZCARD
// with the existence check: one round trip). The local copy is unchanged.
func (c *Container) Len(ctx context.Context) (int, error) {
	return FieldRead(ctx, c.kind.title()+".Len", c, c.kind.lenCmd(), redis.Int)
}

func (c *Container) flatten(prefix string, out []handle) []handle {
	if !validFieldPart(c.name) {
		panic(fmt.Sprintf("rapyer: invalid field name %q under %q: call Named with a letter, then letters, digits or '_' (at most 64 bytes)", c.name, prefix))
	}
	c.full = prefix + c.name
	if c.local == nil || c.kind < ListKind || c.kind > ZSetKind {
		panic(fmt.Sprintf("rapyer: container field %q was not initialised (Container.Init)", c.full))
	}
	return append(out, c)
}

func (c *Container) collectInto(m *Model, i int) int { return m.addContainer(c, i) }
func (c *Container) fullName() string                { return c.full }
func (c *Container) model() *Model                   { return c.m }
func (c *Container) bind(m *Model)                   { c.m = m }
func (c *Container) clearLocal()                     { c.local.Reset() }
func (c *Container) applyDefault()                   { c.local.ApplyDefault() }
func (c *Container) container() *Container           { return c }

// block encodes the local content as a container block of the scripts
// (key index, kind, count, items in write order).
func (c *Container) block(fb serialize.Fallback) ([]any, error) {
	flat, err := c.local.Encode(fb)
	if err != nil {
		return nil, codecErr(ErrInvalid, err)
	}
	out := make([]any, 0, 3+len(flat))
	out = append(out, c.idx, c.kind.writer(), len(flat))
	return appendWriteOrder(out, c.kind, flat), nil
}

// appendWriteOrder appends flat (read layout) in the order the kind's write
// command takes: ZADD wants score before member.
func appendWriteOrder(out []any, k ContainerKind, flat [][]byte) []any {
	if k == ZSetKind {
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

// FlatReply converts a multi-bulk reply into [][]byte (nil elements stay
// nil). For handle implementers, as the decode argument of FieldRead and
// FieldScript.
func FlatReply(r any, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, nil
	}
	vs, ok := r.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected reply %T", r)
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		switch b := v.(type) {
		case []byte:
			out[i] = b
		case nil:
		case int64:
			out[i] = strconv.AppendInt(nil, b, 10)
		default:
			return nil, fmt.Errorf("unexpected element %T", v)
		}
	}
	return out, nil
}

// FieldError wraps err into an *Error naming f's model, object id and field,
// for handle implementers reporting a bad argument before anything is sent:
// FieldError(l, "List.SetAt", fmt.Errorf("%w: ...", ErrInvalid)).
func FieldError(f Field, op string, err error) error {
	h, ok := f.(handle)
	if !ok {
		return &Error{Op: op, Err: err}
	}
	if m := h.model(); m != nil && m.sc != nil {
		return detail(op, m.sc.name, m.id, h.fullName(), err)
	}
	return &Error{Op: op, Field: h.fullName(), Err: err}
}

// SameObject reports whether a and b are bound handles of the same object
// (so their keys share a slot and one script may use both). For handle
// implementers.
func SameObject(a, b Field) bool {
	ha, ok1 := a.(handle)
	hb, ok2 := b.(handle)
	return ok1 && ok2 && ha.model() != nil && ha.model() == hb.model()
}
