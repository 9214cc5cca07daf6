package types

import (
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/serialize"
)

// Set is a set field of T, stored as a Redis SET under its own key (a sibling
// of the object's hash, same hash tag). Members are identities, so T must
// have a native codec (string, integer, float, bool, time, or a named type
// with serialize.StringOf/IntOf/FloatOf): Define panics otherwise.
//
// Local, no I/O: Local, SetLocal. Remote: see List for the rules every
// operation follows.
type Set[T comparable] struct {
	rapyer.Container
	elems  elems[T]
	items  map[T]struct{}
	staged map[T]struct{}
	def    []T
}

// Named gives the handle its field name in the schema.
func (s *Set[T]) Named(name string) *Set[T] {
	s.Container.Init(name, rapyer.SetKind, (*setLocal[T])(s))
	return s
}

// Codec stores members with c, which must be native.
func (s *Set[T]) Codec(c serialize.Codec[T]) *Set[T] {
	s.elems.codec = c
	return s
}

// Default declares the members a new object (Schema.New) starts with.
func (s *Set[T]) Default(members ...T) *Set[T] {
	s.def = append([]T(nil), members...)
	return s
}

// Local returns the local copy (not a copy of it: do not modify it).
func (s *Set[T]) Local() map[T]struct{} { return s.items }

// LocalHas reports whether v is in the local copy (no I/O).
func (s *Set[T]) LocalHas(v T) bool {
	_, ok := s.items[v]
	return ok
}

// SetLocal replaces the local copy; Save or Update writes it.
func (s *Set[T]) SetLocal(members ...T) { s.items = setOf(members) }

func setOf[T comparable](vs []T) map[T]struct{} {
	out := make(map[T]struct{}, len(vs))
	for _, v := range vs {
		out[v] = struct{}{}
	}
	return out
}

// setLocal is Set's rapyer.ContainerLocal, kept off Set's method set.
type setLocal[T comparable] Set[T]

func (s *setLocal[T]) Check() error { return s.elems.identity("member") }

func (s *setLocal[T]) Encode(fb serialize.Fallback) ([][]byte, error) {
	vs := make([]T, 0, len(s.items))
	for v := range s.items {
		vs = append(vs, v)
	}
	return s.elems.encodeAll(fb, vs)
}

func (s *setLocal[T]) Stage(flat [][]byte, fb serialize.Fallback) error {
	vs, err := s.elems.decodeAll(fb, flat)
	if err != nil {
		return err
	}
	s.staged = setOf(vs)
	return nil
}

func (s *setLocal[T]) Commit()       { s.items, s.staged = s.staged, nil }
func (s *setLocal[T]) Reset()        { s.items, s.staged = map[T]struct{}{}, nil }
func (s *setLocal[T]) ApplyDefault() { s.items = setOf(s.def) }
