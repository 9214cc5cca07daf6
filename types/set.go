package types

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// Set is a set field of T, stored as a Redis SET under its own key (a sibling
// of the object's hash, same hash tag). Members are identities, so T must
// have a native codec (string, integer, float, bool, time, or a named type
// with serialize.StringOf/IntOf/FloatOf): Define panics otherwise. Any bytes
// are a member: the empty string, spaces, non-ASCII, binary.
//
// Local, no I/O: Local, LocalHas, SetLocal. Remote: every method taking a
// context is one round trip that re-arms the object's TTL when the model
// refreshes it and returns rapyer.ErrNotFound (writing nothing) when the
// object does not exist. An argument that does not encode (a NaN float, a
// time outside the codec's range) returns rapyer.ErrInvalid naming the field
// before anything is sent; stored members that do not decode return
// rapyer.ErrDecode naming the field.
//
// The local copy: writes (Add, Remove, Pop, PopN, the Store methods) apply
// their effect as the server reported it, and Members (like Load) replaces
// it; the other reads (Has, Random, Len, Union, Intersect, Diff and the
// Values methods) leave it as it is. Members are kept in the form a read
// gives them back (the decoding of their encoding: a time in UTC), so a
// value added locally and the same value loaded are one map key.
//
// Order: methods returning a set of members (Members, the algebra methods)
// return them sorted by their stored bytes, so the order is deterministic
// (for integers it is text order: "10" before "9"); Pop, PopN and Random
// return the server's (random) order.
//
// Float members: 0 and -0 are distinct members on the server ("0", "-0") but
// one key of the local map.
type Set[T comparable] struct {
	rapyer.Container
	elems  elems[T]
	items  map[T]struct{}
	staged map[T]struct{}
	def    []T
}

// Named gives the handle its field name in the schema.
func (s *Set[T]) Named(name string) *Set[T] {
	ops.InitContainer(s, name, ops.SetKind, (*setLocal[T])(s))
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

// Add adds vs to the stored set (SADD inside lua/set.lua, sent in slices
// of 4000 members for huge inputs, all in one script) and returns how many
// were not members before. The version is bumped when one was added. With
// no vs it only checks that the object exists. The local copy gets vs.
func (s *Set[T]) Add(ctx context.Context, vs ...T) (int, error) {
	return s.write(ctx, "Set.Add", "sadd", vs, func(v T) { s.local()[v] = struct{}{} })
}

// Remove removes vs from the stored set (SREM inside lua/set.lua, sliced as
// Add) and returns how many were members. The version is bumped when one was
// removed; removing the last member deletes the key. The local copy loses vs.
func (s *Set[T]) Remove(ctx context.Context, vs ...T) (int, error) {
	return s.write(ctx, "Set.Remove", "srem", vs, func(v T) { delete(s.items, v) })
}

func (s *Set[T]) write(ctx context.Context, op, verb string, vs []T, apply func(T)) (int, error) {
	args, canon, err := s.encode(op, vs)
	if err != nil {
		return 0, err
	}
	return ops.Script(ctx, op, s, lua.Set, func(r any, err error) (int, error) {
		n, err := redis.Int(r, err)
		if err != nil {
			return 0, err
		}
		for _, v := range canon {
			apply(v)
		}
		return n, nil
	}, append([]any{verb}, args...)...)
}

// Has reports whether v is a member of the stored set (SISMEMBER inside
// MULTI/EXEC with the existence check: one round trip). The local copy is
// unchanged.
func (s *Set[T]) Has(ctx context.Context, v T) (bool, error) {
	b, err := s.elems.encode(ops.Fallback(s), v)
	if err != nil {
		return false, invalid(s, "Set.Has", err)
	}
	return ops.Read(ctx, "Set.Has", s, "SISMEMBER", redis.Bool, b)
}

// Members reads the whole stored set (SMEMBERS inside MULTI/EXEC with the
// existence check: one round trip), makes it the local copy and returns it
// sorted by stored bytes. An empty set returns an empty slice. On
// rapyer.ErrDecode the local copy is unchanged.
func (s *Set[T]) Members(ctx context.Context) ([]T, error) {
	return ops.Read(ctx, "Set.Members", s, "", s.replace("Set.Members"))
}

// Pop removes and returns a random member (SPOP inside lua/set.lua); ok is
// false, with no error, when the set is empty. The version is bumped when a
// member was removed; the local copy loses it. A stored member that does not
// decode is removed all the same, and the rapyer.ErrDecode error quotes it.
func (s *Set[T]) Pop(ctx context.Context) (v T, ok bool, err error) {
	p, err := ops.Script(ctx, "Set.Pop", s, lua.Set, func(r any, err error) (rapyer.Pair[T, bool], error) {
		var p rapyer.Pair[T, bool]
		raw, err := optBytesReply(r, err)
		if err != nil || raw == nil {
			return p, err
		}
		v, err := s.elems.of(ops.Fallback(s)).Decode(raw)
		if err != nil {
			return p, decodeErr(s, "Set.Pop", err)
		}
		delete(s.items, v)
		return rapyer.Pair[T, bool]{A: v, B: true}, nil
	}, "spop")
	return p.A, p.B, err
}

// PopN removes and returns up to n random members, fewer when the set holds
// fewer (SPOP key n inside lua/set.lua), in the server's order; an empty set
// returns an empty slice. n < 0 returns rapyer.ErrInvalid before anything is
// sent. The version is bumped when a member was removed; the local copy loses
// them. Members that do not decode are removed all the same (see Pop).
func (s *Set[T]) PopN(ctx context.Context, n int) ([]T, error) {
	if n < 0 {
		return nil, invalid(s, "Set.PopN", fmt.Errorf("negative count %d", n))
	}
	return ops.Script(ctx, "Set.PopN", s, lua.Set, func(r any, err error) ([]T, error) {
		flat, err := ops.FlatReply(r, err)
		if err != nil {
			return nil, err
		}
		c := s.elems.of(ops.Fallback(s))
		out := make([]T, 0, len(flat))
		var bad error
		for i, b := range flat {
			v, err := c.Decode(b)
			if err != nil {
				if bad == nil {
					bad = fmt.Errorf("element %d: %w", i, err)
				}
				continue
			}
			delete(s.items, v)
			out = append(out, v)
		}
		if bad != nil {
			return nil, decodeErr(s, "Set.PopN", bad)
		}
		return out, nil
	}, "spopn", strconv.Itoa(n))
}

// Random returns up to n distinct random members without removing them
// (SRANDMEMBER key n inside MULTI/EXEC with the existence check: one round
// trip), fewer when the set holds fewer, in the server's order. n < 0
// returns rapyer.ErrInvalid before anything is sent: Redis's negative count
// (draws that may repeat a member) is not offered, since a set's members are
// distinct. The local copy is unchanged.
func (s *Set[T]) Random(ctx context.Context, n int) ([]T, error) {
	if n < 0 {
		return nil, invalid(s, "Set.Random", fmt.Errorf("negative count %d", n))
	}
	return ops.Read(ctx, "Set.Random", s, "SRANDMEMBER", func(r any, err error) ([]T, error) {
		flat, err := ops.FlatReply(r, err)
		if err != nil {
			return nil, err
		}
		vs, err := s.elems.decodeAll(ops.Fallback(s), flat)
		if err != nil {
			return nil, decodeErr(s, "Set.Random", err)
		}
		return vs, nil
	}, n)
}

// Union returns the members of the stored set or of any of others (SUNION
// on their keys inside MULTI/EXEC with the existence check: one round trip,
// computed on the server, nothing written), sorted by stored bytes. others
// must be Set fields of the same object (their keys share its slot):
// another object's set, or an unbound one, returns rapyer.ErrInvalid naming
// both fields before anything is sent. The local copy is unchanged.
func (s *Set[T]) Union(ctx context.Context, others ...*Set[T]) ([]T, error) {
	return s.algebra(ctx, "Set.Union", "SUNION", others)
}

// Intersect returns the members of the stored set that are members of every
// one of others (SINTER, as Union).
func (s *Set[T]) Intersect(ctx context.Context, others ...*Set[T]) ([]T, error) {
	return s.algebra(ctx, "Set.Intersect", "SINTER", others)
}

// Diff returns the members of the stored set that are members of none of
// others (SDIFF, as Union).
func (s *Set[T]) Diff(ctx context.Context, others ...*Set[T]) ([]T, error) {
	return s.algebra(ctx, "Set.Diff", "SDIFF", others)
}

func (s *Set[T]) algebra(ctx context.Context, op, command string, others []*Set[T]) ([]T, error) {
	keys, err := s.sameObject(op, others)
	if err != nil {
		return nil, err
	}
	return ops.Read(ctx, op, s, command, s.sorted(op, nil, nil), keys...)
}

// UnionStore replaces the stored set with its union with others (SUNIONSTORE
// inside lua/set.lua: atomic, one round trip) and returns the new members
// sorted by stored bytes, which also become the local copy. The version is
// bumped when the set changed. others as for Union. The new members travel
// back in the reply: for a large result, prefer Union or Add when the
// content is not needed. The key is rewritten: an empty result deletes it,
// and its TTL is kept (or re-armed, per the model's refresh setting).
func (s *Set[T]) UnionStore(ctx context.Context, others ...*Set[T]) ([]T, error) {
	return s.store(ctx, "Set.UnionStore", "union", others)
}

// IntersectStore replaces the stored set with its intersection with others
// (SINTERSTORE, as UnionStore).
func (s *Set[T]) IntersectStore(ctx context.Context, others ...*Set[T]) ([]T, error) {
	return s.store(ctx, "Set.IntersectStore", "inter", others)
}

// DiffStore removes from the stored set every member of others
// (SDIFFSTORE, as UnionStore).
func (s *Set[T]) DiffStore(ctx context.Context, others ...*Set[T]) ([]T, error) {
	return s.store(ctx, "Set.DiffStore", "diff", others)
}

func (s *Set[T]) store(ctx context.Context, op, verb string, others []*Set[T]) ([]T, error) {
	if _, err := s.sameObject(op, others); err != nil {
		return nil, err
	}
	args := make([]any, 0, 2+len(others))
	args = append(args, "store", verb)
	for _, o := range others {
		args = append(args, ops.KeyIndex(o))
	}
	return ops.Script(ctx, op, s, lua.Set, s.replace(op), args...)
}

// UnionValues returns the members of the stored set together with vs
// (SMEMBERS inside MULTI/EXEC with the existence check, merged with vs on
// the client: one round trip, nothing written), without duplicates, sorted
// by stored bytes. The local copy is unchanged.
func (s *Set[T]) UnionValues(ctx context.Context, vs ...T) ([]T, error) {
	args, _, err := s.encode("Set.UnionValues", vs)
	if err != nil {
		return nil, err
	}
	return ops.Read(ctx, "Set.UnionValues", s, "", s.sorted("Set.UnionValues", args, nil))
}

// IntersectValues returns the values of vs that are members of the stored
// set (SMISMEMBER with vs inside MULTI/EXEC with the existence check: one
// round trip, only vs travel), without duplicates, sorted by stored bytes.
// With no vs it only checks that the object exists. The local copy is
// unchanged.
func (s *Set[T]) IntersectValues(ctx context.Context, vs ...T) ([]T, error) {
	args, canon, err := s.encode("Set.IntersectValues", vs)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 { // SMISMEMBER wants a value: check existence with SCARD
		return ops.Read(ctx, "Set.IntersectValues", s, "SCARD", func(r any, err error) ([]T, error) {
			if _, err := redis.Int(r, err); err != nil {
				return nil, err
			}
			return []T{}, nil
		})
	}
	return ops.Read(ctx, "Set.IntersectValues", s, "SMISMEMBER", func(r any, err error) ([]T, error) {
		flags, err := redis.Ints(r, err)
		if err != nil {
			return nil, err
		}
		if len(flags) != len(args) {
			return nil, decodeErr(s, "Set.IntersectValues", fmt.Errorf("SMISMEMBER returned %d flags for %d values", len(flags), len(args)))
		}
		type kv struct {
			b []byte
			v T
		}
		in := make([]kv, 0, len(args))
		for i, f := range flags {
			if f == 1 {
				in = append(in, kv{args[i].([]byte), canon[i]})
			}
		}
		slices.SortFunc(in, func(x, y kv) int { return bytes.Compare(x.b, y.b) })
		in = slices.CompactFunc(in, func(x, y kv) bool { return bytes.Equal(x.b, y.b) })
		out := make([]T, len(in))
		for i, e := range in {
			out[i] = e.v
		}
		return out, nil
	}, args...)
}

// DiffValues returns the members of the stored set that are not in vs
// (SMEMBERS inside MULTI/EXEC with the existence check, vs removed on the
// client: one round trip, nothing written), sorted by stored bytes. The
// local copy is unchanged.
func (s *Set[T]) DiffValues(ctx context.Context, vs ...T) ([]T, error) {
	args, _, err := s.encode("Set.DiffValues", vs)
	if err != nil {
		return nil, err
	}
	drop := make(map[string]struct{}, len(args))
	for _, a := range args {
		drop[string(a.([]byte))] = struct{}{}
	}
	return ops.Read(ctx, "Set.DiffValues", s, "", s.sorted("Set.DiffValues", nil, drop))
}

// sameObject checks that others are Set fields of s's object and returns
// their keys. An unbound s is left for the operation to report
// (rapyer.ErrUnbound).
func (s *Set[T]) sameObject(op string, others []*Set[T]) ([]any, error) {
	keys := make([]any, len(others))
	for i, o := range others {
		if o == nil {
			return nil, invalid(s, op, fmt.Errorf("nil set"))
		}
		if s.Key() != "" && !ops.SameObject(s, o) {
			return nil, invalid(s, op, fmt.Errorf("set %q is not a field of the same object as %q (set algebra runs on the keys of one object)", o.Name(), s.Name()))
		}
		keys[i] = o.Key()
	}
	return keys, nil
}

// encode encodes vs as command arguments ([]byte each) and returns vs in the
// form a read gives them back (decoded from their encoding). An element that
// does not encode is rapyer.ErrInvalid, before anything is sent.
func (s *Set[T]) encode(op string, vs []T) ([]any, []T, error) {
	c := s.elems.of(ops.Fallback(s))
	args := make([]any, len(vs))
	canon := make([]T, len(vs))
	for i, v := range vs {
		b, err := c.Encode(v)
		if err == nil {
			canon[i], err = c.Decode(b)
		}
		if err != nil {
			return nil, nil, invalid(s, op, fmt.Errorf("element %d: %v", i, err))
		}
		args[i] = b
	}
	return args, canon, nil
}

// sorted is the decode of a read that returns members (SMEMBERS, SUNION,
// ...): the reply's members, with extra added and those in drop removed,
// sorted by bytes without repeats and decoded. The local copy is unchanged.
func (s *Set[T]) sorted(op string, extra []any, drop map[string]struct{}) func(any, error) ([]T, error) {
	return func(r any, err error) ([]T, error) {
		flat, err := ops.FlatReply(r, err)
		if err != nil {
			return nil, err
		}
		for _, a := range extra {
			flat = append(flat, a.([]byte))
		}
		if len(drop) > 0 {
			kept := flat[:0]
			for _, b := range flat {
				if _, ok := drop[string(b)]; !ok {
					kept = append(kept, b)
				}
			}
			flat = kept
		}
		return s.decodeSorted(op, flat)
	}
}

// replace is sorted for a reply that is the whole stored set (Members, the
// Store methods): the members also become the local copy.
func (s *Set[T]) replace(op string) func(any, error) ([]T, error) {
	read := s.sorted(op, nil, nil)
	return func(r any, err error) ([]T, error) {
		vs, err := read(r, err)
		if err != nil {
			return nil, err
		}
		s.items = setOf(vs)
		return vs, nil
	}
}

// decodeSorted sorts flat by bytes, drops repeats and decodes it.
func (s *Set[T]) decodeSorted(op string, flat [][]byte) ([]T, error) {
	slices.SortFunc(flat, bytes.Compare)
	flat = slices.CompactFunc(flat, bytes.Equal)
	vs, err := s.elems.decodeAll(ops.Fallback(s), flat)
	if err != nil {
		return nil, decodeErr(s, op, err)
	}
	return vs, nil
}

// local returns the local map, creating it for a handle that never had one.
func (s *Set[T]) local() map[T]struct{} {
	if s.items == nil {
		s.items = map[T]struct{}{}
	}
	return s.items
}

// optBytesReply decodes a bulk string reply, nil staying nil.
func optBytesReply(r any, err error) ([]byte, error) {
	if err == nil && r == nil {
		return nil, nil
	}
	return redis.Bytes(r, err)
}

func setOf[T comparable](vs []T) map[T]struct{} {
	out := make(map[T]struct{}, len(vs))
	for _, v := range vs {
		out[v] = struct{}{}
	}
	return out
}

// setLocal is Set's ops.Local, kept off Set's method set.
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
