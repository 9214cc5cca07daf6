package types

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// Map is a map field from K to V, stored as a Redis HASH under its own key (a
// sibling of the object's hash, same hash tag). Keys are string-like or
// integer types stored as native text, so any key works: dots, '$',
// brackets, quotes, spaces, the empty string, non-ASCII, binary. Define
// panics when K has no native codec (a struct, say) and KeyCodec gives none.
// Values go through V's native codec, the one given with Codec, or the
// Store's fallback (msgpack: a Map of plain structs works).
//
// Local, no I/O: Local, SetLocal. Remote: Set, SetMany (alias Update), Get,
// Has, Delete, Pop, PopItem, SetDefault, Keys, Values, ReadAll, and Load, Save,
// Clear, Len from rapyer.Container. Every remote method is one round trip
// that re-arms the object's TTL when the model refreshes it, and returns
// rapyer.ErrNotFound (writing nothing) when the object does not exist. Writes
// run in lua/map.lua and bump the object's version when they change
// something; reads are MULTI/EXEC (ops.Read). A key or value that
// does not encode gives rapyer.ErrInvalid before anything is sent; stored
// bytes that do not decode give rapyer.ErrDecode naming the field.
//
// The local copy gets the effect of each successful operation as the server
// reported it (Set stores the pair, Delete removes the keys, Get stores what
// it read or removes the key the server does not have, ...); ReadAll and Load
// replace it; Has, Keys and Values leave it alone. Other clients' writes are
// seen only by the reads.
type Map[K comparable, V any] struct {
	rapyer.Container
	keys    elems[K]
	vals    elems[V]
	items   map[K]V
	staged  map[K]V
	def     map[K]V
	counter bool // a Counter: values must stay decimal int64
}

// Named gives the handle its field name in the schema.
func (h *Map[K, V]) Named(name string) *Map[K, V] {
	ops.InitContainer(h, name, ops.HashKind, (*mapLocal[K, V])(h))
	return h
}

// Codec stores values with c instead of V's native codec or the fallback.
// A Counter refuses it (Define panics): its counts are decimal int64.
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

// Set stores v under k, replacing any value (one HSET inside lua/map.lua).
// The local copy gets the pair. Errors: ErrNotFound, ErrInvalid.
func (h *Map[K, V]) Set(ctx context.Context, k K, v V) error {
	const op = "Map.Set"
	kb, err := h.encKey(op, k)
	if err != nil {
		return err
	}
	vb, err := h.encVal(op, k, v)
	if err != nil {
		return err
	}
	_, err = ops.Script(ctx, op, h, lua.Map, func(r any, _ error) (struct{}, error) {
		if _, err := redis.Int(r, nil); err != nil {
			return struct{}{}, err
		}
		h.local()[k] = v
		return struct{}{}, nil
	}, "hset", kb, vb)
	return err
}

// SetMany stores every pair of m, replacing existing values and keeping the
// other keys (Python's dict.update): one HSET inside lua/map.lua (sent in
// slices of 2000 pairs within the script for big maps), atomic. An empty m
// only checks that the object exists. The local copy gets every pair.
// Errors: ErrNotFound, ErrInvalid (a key or value that does not encode,
// named; nothing sent).
func (h *Map[K, V]) SetMany(ctx context.Context, m map[K]V) error {
	return h.setMany(ctx, "Map.SetMany", m)
}

// Update is SetMany under Python's name for it (dict.update).
func (h *Map[K, V]) Update(ctx context.Context, m map[K]V) error {
	return h.setMany(ctx, "Map.Update", m)
}

func (h *Map[K, V]) setMany(ctx context.Context, op string, m map[K]V) error {
	args := make([]any, 0, 1+2*len(m))
	args = append(args, "hset")
	for k, v := range m {
		kb, err := h.encKey(op, k)
		if err != nil {
			return err
		}
		vb, err := h.encVal(op, k, v)
		if err != nil {
			return err
		}
		args = append(args, kb, vb)
	}
	// The pairs are copied now: the caller may change m before a queued
	// call completes.
	pairs := copyMap(m)
	_, err := ops.Script(ctx, op, h, lua.Map, func(r any, _ error) (struct{}, error) {
		if _, err := redis.Int(r, nil); err != nil {
			return struct{}{}, err
		}
		items := h.local()
		for k, v := range pairs {
			items[k] = v
		}
		return struct{}{}, nil
	}, args...)
	return err
}

// Get returns the stored value of k and whether k is present (HGET inside
// MULTI/EXEC with the existence check; no script). The local copy gets the
// value read, or loses k when the server does not have it. Errors:
// ErrNotFound, ErrInvalid (k does not encode), ErrDecode.
func (h *Map[K, V]) Get(ctx context.Context, k K) (V, bool, error) {
	const op = "Map.Get"
	var zero V
	kb, err := h.encKey(op, k)
	if err != nil {
		return zero, false, err
	}
	p, err := ops.Read(ctx, op, h, "HGET", func(r any, _ error) (rapyer.Pair[V, bool], error) {
		var out rapyer.Pair[V, bool]
		raw, err := optBytes(r, nil)
		if err != nil {
			return out, err
		}
		if raw == nil {
			delete(h.items, k)
			return out, nil
		}
		v, err := h.decVal(op, kb, raw)
		if err != nil {
			return out, err
		}
		h.local()[k] = v
		return rapyer.Pair[V, bool]{A: v, B: true}, nil
	}, kb)
	return p.A, p.B, err
}

// Has reports whether k is stored (HEXISTS inside MULTI/EXEC with the
// existence check). The local copy is unchanged. Errors: ErrNotFound,
// ErrInvalid.
func (h *Map[K, V]) Has(ctx context.Context, k K) (bool, error) {
	const op = "Map.Has"
	kb, err := h.encKey(op, k)
	if err != nil {
		return false, err
	}
	return ops.Read(ctx, op, h, "HEXISTS", redis.Bool, kb)
}

// Delete removes keys (HDEL inside lua/map.lua, in slices for many keys;
// atomic) and returns how many were present. No keys only checks that the
// object exists. The local copy loses the keys. Errors: ErrNotFound,
// ErrInvalid.
func (h *Map[K, V]) Delete(ctx context.Context, keys ...K) (int, error) {
	const op = "Map.Delete"
	args := make([]any, 0, 1+len(keys))
	args = append(args, "hdel")
	for _, k := range keys {
		kb, err := h.encKey(op, k)
		if err != nil {
			return 0, err
		}
		args = append(args, kb)
	}
	keys = append([]K(nil), keys...) // the caller may reuse the slice before a queued call completes
	return ops.Script(ctx, op, h, lua.Map, func(r any, _ error) (int, error) {
		n, err := redis.Int(r, nil)
		if err != nil {
			return 0, err
		}
		for _, k := range keys {
			delete(h.items, k)
		}
		return n, nil
	}, args...)
}

// Pop removes k and returns the value it held, atomically (HGET and HDEL
// inside lua/map.lua); false when k was absent (nothing written). The local
// copy loses k. Errors: ErrNotFound, ErrInvalid, ErrDecode: the entry is
// removed even when its stored value does not decode (the server cannot
// check a codec), and the error quotes the start of the stored bytes.
func (h *Map[K, V]) Pop(ctx context.Context, k K) (V, bool, error) {
	const op = "Map.Pop"
	var zero V
	kb, err := h.encKey(op, k)
	if err != nil {
		return zero, false, err
	}
	p, err := ops.Script(ctx, op, h, lua.Map, func(r any, _ error) (rapyer.Pair[V, bool], error) {
		var out rapyer.Pair[V, bool]
		raw, err := optBytes(r, nil)
		if err != nil {
			return out, err
		}
		delete(h.items, k)
		if raw == nil {
			return out, nil
		}
		v, err := h.decVal(op, kb, raw)
		if err != nil {
			return out, err
		}
		return rapyer.Pair[V, bool]{A: v, B: true}, nil
	}, "pop", kb)
	return p.A, p.B, err
}

// PopItem removes and returns one entry, atomically: the one whose stored
// key is smallest in byte order, so the choice is the same on every server
// and every run (for integer keys that is text order: "-1" < "10" < "9").
// ok is false when the map is empty (nothing written), as for List.Pop,
// Set.Pop and Map.Pop. The script reads every key (HKEYS, then a byte-wise
// minimum in Lua, since Lua's own string < follows the server's locale):
// O(n) in the map's size, about 0.6 µs of server time per key on Redis 7
// (6 ms at 10,000 keys, two thirds of it HKEYS), during which the server
// serves no one else. PopItem suits small maps; use a List or a SortedSet as
// a queue. The local copy loses the key. Errors: ErrNotFound, ErrDecode (the
// entry is removed even when its key or value does not decode).
func (h *Map[K, V]) PopItem(ctx context.Context) (k K, v V, ok bool, err error) {
	const op = "Map.PopItem"
	// The decode returns the method's values as one, for rapyer.Later3.
	it, err := ops.Script(ctx, op, h, lua.Map, func(r any, _ error) (rapyer.Triple[K, V, bool], error) {
		var out rapyer.Triple[K, V, bool]
		pair, err := ops.FlatReply(r, nil)
		if err != nil || len(pair) == 0 {
			return out, err
		}
		if len(pair) != 2 || pair[0] == nil || pair[1] == nil {
			return out, decodeErr(h, op, fmt.Errorf("unexpected reply of %d elements", len(pair)))
		}
		k, err := h.decKey(op, pair[0])
		if err != nil {
			return out, err
		}
		delete(h.items, k)
		v, err := h.decVal(op, pair[0], pair[1])
		if err != nil {
			return out, err
		}
		return rapyer.Triple[K, V, bool]{A: k, B: v, C: true}, nil
	}, "popitem")
	return it.A, it.B, it.C, err
}

// SetDefault stores v under k only when k is absent, and returns the value
// k holds afterwards (Python's dict.setdefault), atomically (HGET, then HSET
// when absent, inside lua/map.lua). The local copy gets that value. Errors:
// ErrNotFound, ErrInvalid, ErrDecode (the stored value; nothing written).
func (h *Map[K, V]) SetDefault(ctx context.Context, k K, v V) (V, error) {
	const op = "Map.SetDefault"
	var zero V
	kb, err := h.encKey(op, k)
	if err != nil {
		return zero, err
	}
	vb, err := h.encVal(op, k, v)
	if err != nil {
		return zero, err
	}
	return ops.Script(ctx, op, h, lua.Map, func(rep any, _ error) (V, error) {
		r, err := flagReply(rep, nil)
		if err != nil {
			return zero, err
		}
		if r.ok {
			h.local()[k] = v
			return v, nil
		}
		got, err := h.decVal(op, kb, r.val)
		if err != nil {
			return zero, err
		}
		h.local()[k] = got
		return got, nil
	}, "setnx", kb, vb)
}

// Keys returns the stored keys, in no particular order (HKEYS inside
// MULTI/EXEC with the existence check). The local copy is unchanged.
// Errors: ErrNotFound, ErrDecode.
func (h *Map[K, V]) Keys(ctx context.Context) ([]K, error) {
	const op = "Map.Keys"
	return ops.Read(ctx, op, h, "HKEYS", func(r any, _ error) ([]K, error) {
		flat, err := ops.FlatReply(r, nil)
		if err != nil {
			return nil, err
		}
		out := make([]K, len(flat))
		for i, b := range flat {
			if out[i], err = h.decKey(op, b); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// Values returns the stored values, in no particular order (HVALS inside
// MULTI/EXEC with the existence check; not aligned with a separate Keys
// call: use ReadAll for pairs). The local copy is unchanged. Errors:
// ErrNotFound, ErrDecode.
func (h *Map[K, V]) Values(ctx context.Context) ([]V, error) {
	const op = "Map.Values"
	return ops.Read(ctx, op, h, "HVALS", func(r any, _ error) ([]V, error) {
		flat, err := ops.FlatReply(r, nil)
		if err != nil {
			return nil, err
		}
		c := h.vals.of(ops.Fallback(h))
		out := make([]V, len(flat))
		for i, b := range flat {
			v, err := c.Decode(b)
			if err != nil {
				return nil, decodeErr(h, op, fmt.Errorf("value %d: %v", i, err))
			}
			out[i] = v
		}
		return out, nil
	})
}

// ReadAll reads the whole stored map (HGETALL inside MULTI/EXEC with the
// existence check), makes it the local copy and returns it (the local copy
// itself: do not modify it). Errors: ErrNotFound, ErrDecode (the local copy
// is then unchanged).
func (h *Map[K, V]) ReadAll(ctx context.Context) (map[K]V, error) {
	return ops.Read(ctx, "Map.ReadAll", h, "", func(r any, _ error) (map[K]V, error) {
		flat, err := ops.FlatReply(r, nil)
		if err != nil {
			return nil, err
		}
		if err := ops.Apply(h, flat); err != nil {
			return nil, err
		}
		return h.items, nil
	})
}

// local returns the local copy, made non-nil.
func (h *Map[K, V]) local() map[K]V {
	if h.items == nil {
		h.items = map[K]V{}
	}
	return h.items
}

func (h *Map[K, V]) encKey(op string, k K) ([]byte, error) {
	b, err := h.keys.encode(ops.Fallback(h), k)
	if err != nil {
		return nil, invalid(h, op, fmt.Errorf("key %v: %v", k, err))
	}
	return b, nil
}

func (h *Map[K, V]) encVal(op string, k K, v V) ([]byte, error) {
	b, err := h.vals.encode(ops.Fallback(h), v)
	if err != nil {
		return nil, invalid(h, op, fmt.Errorf("value of key %v: %v", k, err))
	}
	return b, nil
}

func (h *Map[K, V]) decKey(op string, b []byte) (K, error) {
	k, err := h.keys.of(ops.Fallback(h)).Decode(b)
	if err != nil {
		return k, decodeErr(h, op, fmt.Errorf("key %q: %v", clip(b), err))
	}
	return k, nil
}

func (h *Map[K, V]) decVal(op string, kb, b []byte) (V, error) {
	v, err := h.vals.of(ops.Fallback(h)).Decode(b)
	if err != nil {
		return v, decodeErr(h, op, fmt.Errorf("value of key %q: %v", clip(kb), err))
	}
	return v, nil
}

// optBytes decodes a bulk string reply, nil (not an error) for a nil reply.
func optBytes(r any, err error) ([]byte, error) {
	if err == nil && r == nil {
		return nil, nil
	}
	return redis.Bytes(r, err)
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// mapLocal is Map's ops.Local, kept off Map's method set.
type mapLocal[K comparable, V any] Map[K, V]

func (h *mapLocal[K, V]) Check() error {
	if h.counter && h.vals.codec != nil {
		return fmt.Errorf("a Counter stores its counts as decimal int64 (Incr computes on them): Codec is not allowed")
	}
	return h.keys.identity("key")
}

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

// Counter is a map field from K to int64 counts, stored as a Redis HASH of
// decimal text. It has every Map operation, and Incr and Decr (by a given
// delta, as Int's): exact and atomic over the whole int64 range, with the overflow rule
// of Int (lua/map.lua computes on decimal strings, never on Lua doubles and
// never with HINCRBY). A result outside int64 returns rapyer.ErrOverflow and
// writes nothing; an absent key counts as 0; a stored count that is not a
// canonical decimal int64 returns rapyer.ErrDecode and writes nothing. Each
// is one round trip, re-arms the TTL when the model refreshes it, returns
// rapyer.ErrNotFound (nothing written) when the object does not exist, and
// stores the new count in the local copy. A count that reaches 0 stays
// stored (as with HINCRBY); Delete removes it.
type Counter[K comparable] struct {
	Map[K, int64]
}

// Named gives the handle its field name in the schema.
func (c *Counter[K]) Named(name string) *Counter[K] {
	c.Map.Named(name)
	c.counter = true
	return c
}

// KeyCodec stores keys with c (see Map.KeyCodec).
func (c *Counter[K]) KeyCodec(kc serialize.Codec[K]) *Counter[K] {
	c.Map.KeyCodec(kc)
	return c
}

// Incr adds d to the count of k and returns the new count, as Int.Incr adds
// d to an integer field (the delta is always given: Incr(ctx, k, 1) counts
// one).
func (c *Counter[K]) Incr(ctx context.Context, k K, d int64) (int64, error) {
	return c.incr(ctx, "Counter.Incr", "incr", k, d)
}

// Decr subtracts d from the count of k and returns the new count (exact
// for every d, math.MinInt64 included), as Int.Decr.
func (c *Counter[K]) Decr(ctx context.Context, k K, d int64) (int64, error) {
	return c.incr(ctx, "Counter.Decr", "decr", k, d)
}

func (c *Counter[K]) incr(ctx context.Context, op, how string, k K, d int64) (int64, error) {
	kb, err := c.encKey(op, k)
	if err != nil {
		return 0, err
	}
	return ops.Script(ctx, op, c, lua.Map, func(r any, _ error) (int64, error) {
		raw, err := bytesReply(r, nil)
		if err != nil {
			return 0, err
		}
		n, err := serialize.Int64.Decode(raw)
		if err != nil {
			return 0, decodeErr(c, op, fmt.Errorf("count of key %q: %v", clip(kb), err))
		}
		c.local()[k] = n
		return n, nil
	}, how, kb, strconv.FormatInt(d, 10))
}
