package types

import (
	"fmt"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/serialize"
)

// Map is a map field from K to V, stored as a Redis HASH under its own key (a
// sibling of the object's hash, same hash tag). Keys are string-like or
// integer types stored as native text, so any key works: dots, '$',
// brackets, quotes, spaces, the empty string, non-ASCII. Values go through
// V's native codec, the one given with Codec, or the Store's fallback.
//
// Local, no I/O: Local, SetLocal. Remote: see List for the rules every
// operation follows.
type Map[K comparable, V any] struct {
	rapyer.Container
	keys   elems[K]
	vals   elems[V]
	items  map[K]V
	staged map[K]V
	def    map[K]V
}

// Named gives the handle its field name in the schema.
func (h *Map[K, V]) Named(name string) *Map[K, V] {
	h.Container.Init(name, rapyer.HashKind, (*mapLocal[K, V])(h))
	return h
}

// Codec stores values with c instead of V's native codec or the fallback.
func (h *Map[K, V]) Codec(c serialize.Codec[V]) *Map[K, V] {
	h.vals.codec = c
	return h
}

// KeyCodec stores keys with c, a native codec (serialize.StringOf for a named
// string type, IntOf for a named integer type). Define panics when K has no
// native codec and none is given.
func (h *Map[K, V]) KeyCodec(c serialize.Codec[K]) *Map[K, V] {
	h.keys.codec = c
	return h
}

// Default declares the content a new object (Schema.New) starts with.
func (h *Map[K, V]) Default(m map[K]V) *Map[K, V] {
	h.def = copyMap(m)
	return h
}

// Local returns the local copy (not a copy of it: do not modify it).
func (h *Map[K, V]) Local() map[K]V { return h.items }

// SetLocal replaces the local copy (with a copy of m); Save or Update
// writes it.
func (h *Map[K, V]) SetLocal(m map[K]V) { h.items = copyMap(m) }

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// mapLocal is Map's rapyer.ContainerLocal, kept off Map's method set.
type mapLocal[K comparable, V any] Map[K, V]

func (h *mapLocal[K, V]) Check() error { return h.keys.identity("key") }

func (h *mapLocal[K, V]) Encode(fb serialize.Fallback) ([][]byte, error) {
	kc, vc := h.keys.of(fb), h.vals.of(fb)
	out := make([][]byte, 0, 2*len(h.items))
	for k, v := range h.items {
		kb, err := kc.Encode(k)
		if err != nil {
			return nil, fmt.Errorf("key %v: %w", k, err)
		}
		vb, err := vc.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("value of key %v: %w", k, err)
		}
		out = append(out, kb, vb)
	}
	return out, nil
}

func (h *mapLocal[K, V]) Stage(flat [][]byte, fb serialize.Fallback) error {
	kc, vc := h.keys.of(fb), h.vals.of(fb)
	h.staged = make(map[K]V, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, err := kc.Decode(flat[i])
		if err != nil {
			return fmt.Errorf("key %q: %w", clip(flat[i]), err)
		}
		v, err := vc.Decode(flat[i+1])
		if err != nil {
			return fmt.Errorf("value of key %q: %w", clip(flat[i]), err)
		}
		h.staged[k] = v
	}
	return nil
}

func (h *mapLocal[K, V]) Commit()       { h.items, h.staged = h.staged, nil }
func (h *mapLocal[K, V]) Reset()        { h.items, h.staged = map[K]V{}, nil }
func (h *mapLocal[K, V]) ApplyDefault() { h.items = copyMap(h.def) }

// clip shortens stored bytes quoted in an error.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Counter is a map field from K to int64 counts, stored as a Redis HASH,
// with exact atomic IncrBy (the overflow rule of Int). It has every Map
// operation.
type Counter[K comparable] struct {
	Map[K, int64]
}

// Named gives the handle its field name in the schema.
func (c *Counter[K]) Named(name string) *Counter[K] {
	c.Map.Named(name)
	return c
}

// KeyCodec stores keys with c (see Map.KeyCodec).
func (c *Counter[K]) KeyCodec(kc serialize.Codec[K]) *Counter[K] {
	c.Map.KeyCodec(kc)
	return c
}
