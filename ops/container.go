package ops

import (
	"strconv"

	"github.com/rapyer-go/rapyer/serialize"
)

// Kind is the Redis type that stores a container field.
type Kind uint8

// The container kinds.
const (
	ListKind Kind = iota + 1 // LIST
	HashKind                 // HASH
	SetKind                  // SET
	ZSetKind                 // ZSET (sorted set)
)

func (k Kind) String() string {
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
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Local is the local copy behind a container handle; package types
// implements it for List, Map, Set and SortedSet. Its flat layout is the one
// the kind's full read returns: LRANGE's elements, HGETALL's field, value
// pairs, SMEMBERS's members, ZRANGE WITHSCORES's member, score pairs.
type Local interface {
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

// ContainerRef is a container handle's declaration (name, kind, local
// copy) and its Ref. rapyer.Container embeds it.
type ContainerRef struct {
	Ref
	name  string
	kind  Kind
	local Local
}

func (c *ContainerRef) opsContainer() *ContainerRef { return c }

type containerHandle interface {
	Handle
	opsContainer() *ContainerRef
}

// InitContainer declares a container handle's field name, kind and local
// copy. A container handle's Named method calls it, inside the schema
// function:
//
//	func (l *List[T]) Named(name string) *List[T] {
//		ops.InitContainer(l, name, ops.ListKind, (*listLocal[T])(l))
//		return l
//	}
//
// h must embed rapyer.Container; InitContainer does nothing otherwise.
func InitContainer(h Handle, name string, kind Kind, local Local) {
	if c, ok := h.(containerHandle); ok {
		r := c.opsContainer()
		r.name, r.kind, r.local = name, kind, local
	}
}

// Declared returns what InitContainer declared. For package rapyer.
func Declared(c *ContainerRef) (name string, kind Kind, local Local) {
	return c.name, c.kind, c.local
}

// KeyIndex returns the 1-based position of the container's key among the
// KEYS that Script passes (the hash is 1), for scripts that use a second
// container of the same object (check SameObject first); 0 when h is not a
// bound container.
func KeyIndex(h Handle) int {
	if rt := runtimeOf(h); rt != nil {
		return rt.KeyIndex(h)
	}
	return 0
}

// Apply decodes a full read of the container (in Local's flat layout) into
// the local copy, all or nothing, reporting rapyer.ErrDecode with the
// field's name.
func Apply(h Handle, flat [][]byte) error {
	rt := runtimeOf(h)
	if rt == nil {
		return unbound("decode")
	}
	return rt.Apply(h, flat)
}
