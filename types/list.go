package types

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/serialize"
)

// List is a list field of T, stored as a Redis LIST under its own key (a
// sibling of the object's hash, same hash tag). Elements go through T's
// native codec, the one given with Codec, or the Store's fallback (msgpack:
// a List of plain structs works).
//
// Local, no I/O: Local, SetLocal. Remote: every method taking a context is
// one round trip that re-arms the object's TTL when the model refreshes it,
// returns rapyer.ErrNotFound (writing nothing) when the object does not
// exist, and applies its effect to the local copy as the server reports it.
// The local copy follows the server only as far as it did before (another
// client's writes are not seen): Load, Reload or All resynchronise it.
type List[T any] struct {
	rapyer.Container
	elems  elems[T]
	items  []T
	staged []T
	def    []T
}

// Named gives the handle its field name in the schema (see
// rapyer.Scalar.Named for the rules).
func (l *List[T]) Named(name string) *List[T] {
	l.Container.Init(name, rapyer.ListKind, (*listLocal[T])(l))
	return l
}

// Codec stores elements with c instead of T's native codec or the fallback.
func (l *List[T]) Codec(c serialize.Codec[T]) *List[T] {
	l.elems.codec = c
	return l
}

// Default declares the content a new object (Schema.New) starts with.
func (l *List[T]) Default(items ...T) *List[T] {
	l.def = append([]T(nil), items...)
	return l
}

// Local returns the local copy (not a copy of it: do not modify it).
func (l *List[T]) Local() []T { return l.items }

// SetLocal replaces the local copy; Save or Update writes it.
func (l *List[T]) SetLocal(items ...T) { l.items = append([]T(nil), items...) }

// Append appends vs at the end of the stored list (one RPUSH inside
// lua/list.lua, whatever the count) and returns the new length.
func (l *List[T]) Append(ctx context.Context, vs ...T) (int, error) {
	if len(vs) == 0 {
		return l.Len(ctx)
	}
	args, err := l.encode("List.Append", vs)
	if err != nil {
		return 0, err
	}
	n, err := rapyer.FieldScript(ctx, "List.Append", l, lua.List, redis.Int, append([]any{"rpush"}, args...)...)
	if err != nil {
		return 0, err
	}
	l.items = append(l.items, vs...)
	return n, nil
}

// All reads the whole stored list, makes it the local copy and returns it.
func (l *List[T]) All(ctx context.Context) ([]T, error) {
	if err := l.Load(ctx); err != nil {
		return nil, err
	}
	return l.items, nil
}

// encode encodes vs as command arguments.
func (l *List[T]) encode(op string, vs []T) ([]any, error) {
	c := l.elems.of(l.Fallback())
	out := make([]any, len(vs))
	for i, v := range vs {
		b, err := c.Encode(v)
		if err != nil {
			return nil, invalid(l, op, fmt.Errorf("element %d: %v", i, err))
		}
		out[i] = b
	}
	return out, nil
}

// listLocal is List's rapyer.ContainerLocal, kept off List's method set.
type listLocal[T any] List[T]

func (l *listLocal[T]) Check() error { return nil }

func (l *listLocal[T]) Encode(fb serialize.Fallback) ([][]byte, error) {
	return l.elems.encodeAll(fb, l.items)
}

func (l *listLocal[T]) Stage(flat [][]byte, fb serialize.Fallback) error {
	vs, err := l.elems.decodeAll(fb, flat)
	l.staged = vs
	return err
}

func (l *listLocal[T]) Commit()       { l.items, l.staged = l.staged, nil }
func (l *listLocal[T]) Reset()        { l.items, l.staged = nil, nil }
func (l *listLocal[T]) ApplyDefault() { l.items = append([]T(nil), l.def...) }
