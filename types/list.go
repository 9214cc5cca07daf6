package types

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// List is a list field of T, stored as a Redis LIST under its own key (a
// sibling of the object's hash, same hash tag). Elements go through T's
// native codec, the one given with Codec, or the Store's fallback (msgpack:
// a List of plain structs works). An empty list is stored as no key.
//
// Indexes follow Python: an element index (Get, SetAt, PopAt) counts from
// the end when negative (-1 is the last element); slice bounds (Range,
// RemoveRange, Trim) are Python's l[start:end], end exclusive, negative
// bounds counted from the end, then clamped to the list.
//
// Elements are compared by their encoded bytes (Remove, Index, Contains), as
// Redis compares them: two values match when they encode alike. msgpack
// writes a Go map's entries in iteration order, so elements holding maps do
// not match reliably.
//
// Local, no I/O: Local, SetLocal. Remote: every method taking a context is
// one round trip that re-arms the object's TTL when the model refreshes it,
// returns rapyer.ErrNotFound (writing nothing) when the object does not
// exist, rapyer.ErrInvalid (sending nothing) for an element that does not
// encode, rapyer.ErrDecode naming the field for stored data that does not
// decode, and applies its effect to the local copy as the server reports it
// (a write that removed the second element removes the local second
// element). Reads other than ReadAll leave the local copy as it is. The local
// copy follows the server only as far as this handle saw it (another
// client's writes are not seen, and an effect is applied at the index the
// server resolved, clamped to the local copy): Load, Model.Reload or ReadAll
// resynchronise it.
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
	ops.InitContainer(l, name, ops.ListKind, (*listLocal[T])(l))
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

// Local returns the local copy. It is the handle's own slice, not a copy:
// do not modify it; it is valid until the next operation on the handle.
func (l *List[T]) Local() []T { return l.items }

// SetLocal replaces the local copy (with a copy of items); Save or Update
// writes it.
func (l *List[T]) SetLocal(items ...T) { l.items = append([]T(nil), items...) }

// Append appends vs at the end of the stored list and returns the new
// length: one RPUSH inside lua/list.lua whatever the count (the script
// writes more than 4000 values in slices, still atomically). Without
// values it is Len. Locally: vs are appended.
func (l *List[T]) Append(ctx context.Context, vs ...T) (int, error) {
	if len(vs) == 0 {
		return l.Len(ctx)
	}
	args, err := l.encode("List.Append", vs)
	if err != nil {
		return 0, err
	}
	vs = slices.Clone(vs) // the caller may reuse the slice before a queued call completes
	return ops.Script(ctx, "List.Append", l, lua.List, func(r any, _ error) (int, error) {
		n, err := redis.Int(r, nil)
		if err != nil {
			return 0, err
		}
		l.items = append(l.items, vs...)
		return n, nil
	}, append([]any{"rpush"}, args...)...)
}

// Prepend puts vs at the front of the stored list, in the order given (the
// list then starts vs[0], vs[1], ...: Python's l[0:0] = vs, not a series of
// insert(0, v)), and returns the new length. It is one LPUSH of the values
// reversed inside lua/list.lua (sliced past 4000, still atomic; an RPUSH
// when the list is empty). Without values it is Len. Locally: vs are
// inserted at the front.
func (l *List[T]) Prepend(ctx context.Context, vs ...T) (int, error) {
	if len(vs) == 0 {
		return l.Len(ctx)
	}
	args, err := l.encode("List.Prepend", vs)
	if err != nil {
		return 0, err
	}
	vs = slices.Clone(vs) // the caller may reuse the slice before a queued call completes
	return ops.Script(ctx, "List.Prepend", l, lua.List, func(r any, _ error) (int, error) {
		n, err := redis.Int(r, nil)
		if err != nil {
			return 0, err
		}
		l.items = slices.Insert(l.items, 0, vs...)
		return n, nil
	}, append([]any{"lpush"}, args...)...)
}

// Insert inserts v before index i, as Python's list.insert: a negative i
// counts from the end, and an i beyond either end inserts at that end
// (never an error). One script (lua/list.lua): LPUSH or RPUSH at the ends;
// in the middle, LINSERT BEFORE the element at i when that element does not
// occur earlier in the list (LPOS ... MAXLEN i checks it), else the shorter
// side of the list is read, trimmed and pushed back around v (LINSERT
// addresses the first occurrence of its pivot, so with a duplicate before
// i it would insert at the wrong place). Cost: O(i) comparisons, or
// O(min(i, n-i)) elements moved with duplicates. Locally: v is inserted at
// the index the server resolved.
func (l *List[T]) Insert(ctx context.Context, i int, v T) error {
	const op = "List.Insert"
	b, err := l.encodeOne(op, v)
	if err != nil {
		return err
	}
	_, err = ops.Script(ctx, op, l, lua.List, func(rep any, _ error) (struct{}, error) {
		r, err := redis.Ints(rep, nil)
		if err != nil {
			return struct{}{}, err
		}
		if len(r) < 1 {
			return struct{}{}, decodeErr(l, op, fmt.Errorf("unexpected reply %v", r))
		}
		l.items = slices.Insert(l.items, min(max(r[0], 0), len(l.items)), v)
		return struct{}{}, nil
	}, "insert", clampIndex(i), b)
	return err
}

// Pop removes and returns the last element (RPOP inside lua/list.lua). On
// an empty list it returns ok false and no error, writing nothing. Locally:
// the last element is removed. Errors: ErrNotFound, ErrDecode (the element
// was removed from the server all the same).
func (l *List[T]) Pop(ctx context.Context) (v T, ok bool, err error) {
	return l.pop(ctx, "List.Pop", "pop")
}

// PopFront removes and returns the first element (LPOP inside
// lua/list.lua). On an empty list it returns ok false and no error, writing
// nothing. Locally: the first element is removed. Errors: as Pop.
func (l *List[T]) PopFront(ctx context.Context) (v T, ok bool, err error) {
	return l.pop(ctx, "List.PopFront", "popfront")
}

// PopAt removes and returns the element at index i, as Python's
// list.pop(i): a negative i counts from the end. One script
// (lua/list.lua): LPOP or RPOP at the ends; in the middle, LREM of the
// element when it does not occur before i (LPOS ... MAXLEN i), else the
// shorter side is read, trimmed and pushed back. On an empty list it
// returns ok false and no error. Errors: rapyer.ErrOutOfRange when i is
// outside a non-empty list (nothing written), ErrNotFound, ErrDecode.
// Locally: the element at the index the server resolved is removed.
func (l *List[T]) PopAt(ctx context.Context, i int) (v T, ok bool, err error) {
	return l.pop(ctx, "List.PopAt", "popat", clampIndex(i))
}

func (l *List[T]) pop(ctx context.Context, op, script string, args ...any) (v T, ok bool, err error) {
	p, err := ops.Script(ctx, op, l, lua.List, func(rep any, _ error) (rapyer.Pair[T, bool], error) {
		var out rapyer.Pair[T, bool]
		r, err := listPopReply(rep, nil)
		if err != nil || !r.ok {
			return out, err
		}
		if n := len(l.items); n > 0 {
			switch script {
			case "pop":
				l.items = slices.Delete(l.items, n-1, n)
			case "popfront":
				l.items = slices.Delete(l.items, 0, 1)
			default:
				if r.idx < n {
					l.items = slices.Delete(l.items, r.idx, r.idx+1)
				}
			}
		}
		if out.A, err = l.elems.of(ops.Fallback(l)).Decode(r.val); err != nil {
			return out, decodeErr(l, op, err)
		}
		out.B = true
		return out, nil
	}, append([]any{script}, args...)...)
	return p.A, p.B, err
}

// Get returns the stored element at index i (LINDEX, with the existence
// check: one round trip); a negative i counts from the end. An index
// outside the list returns ok false and no error. The local copy is
// unchanged. Errors: ErrNotFound, ErrDecode.
func (l *List[T]) Get(ctx context.Context, i int) (v T, ok bool, err error) {
	const op = "List.Get"
	p, err := ops.Read(ctx, op, l, "LINDEX", func(rep any, _ error) (rapyer.Pair[T, bool], error) {
		var out rapyer.Pair[T, bool]
		r, err := listElemReply(rep, nil)
		if err != nil || r == nil {
			return out, err
		}
		if out.A, err = l.elems.of(ops.Fallback(l)).Decode(r); err != nil {
			return out, decodeErr(l, op, err)
		}
		out.B = true
		return out, nil
	}, clampIndex(i))
	return p.A, p.B, err
}

// SetAt replaces the element at index i with v (LSET inside lua/list.lua);
// a negative i counts from the end. Errors: rapyer.ErrOutOfRange naming the
// field when i is outside the list (an empty list included; nothing
// written), ErrNotFound, ErrInvalid. Locally: the element at the index the
// server resolved is replaced.
func (l *List[T]) SetAt(ctx context.Context, i int, v T) error {
	const op = "List.SetAt"
	b, err := l.encodeOne(op, v)
	if err != nil {
		return err
	}
	_, err = ops.Script(ctx, op, l, lua.List, func(r any, _ error) (struct{}, error) {
		idx, err := redis.Int(r, nil)
		if err != nil {
			return struct{}{}, err
		}
		if idx >= 0 && idx < len(l.items) {
			l.items[idx] = v
		}
		return struct{}{}, nil
	}, "set", clampIndex(i), b)
	return err
}

// Remove removes elements equal to v (same encoded bytes) and returns how
// many it removed, with LREM's count: count > 0 removes the first count
// matches from the front, count < 0 the last -count from the back, 0 all
// of them. One LREM inside lua/list.lua. Locally: as many matches as the
// server removed are removed, from the same end. Errors: ErrNotFound,
// ErrInvalid.
func (l *List[T]) Remove(ctx context.Context, v T, count int) (int, error) {
	const op = "List.Remove"
	b, err := l.encodeOne(op, v)
	if err != nil {
		return 0, err
	}
	return ops.Script(ctx, op, l, lua.List, func(r any, _ error) (int, error) {
		n, err := redis.Int(r, nil)
		if err != nil || n == 0 {
			return n, err
		}
		l.removeLocal(b, n, count < 0)
		return n, nil
	}, "rem", count, b)
}

// removeLocal removes up to n local elements encoding as b, from the back
// when back is set.
func (l *List[T]) removeLocal(b []byte, n int, back bool) {
	c := l.elems.of(ops.Fallback(l))
	match := func(v T) bool {
		e, err := c.Encode(v)
		return err == nil && bytes.Equal(e, b)
	}
	if back {
		for i := len(l.items) - 1; i >= 0 && n > 0; i-- {
			if match(l.items[i]) {
				l.items = slices.Delete(l.items, i, i+1)
				n--
			}
		}
		return
	}
	for i := 0; i < len(l.items) && n > 0; {
		if match(l.items[i]) {
			l.items = slices.Delete(l.items, i, i+1)
			n--
			continue
		}
		i++
	}
}

// RemoveRange deletes the elements l[start:end] with Python's
// `del l[start:end]` semantics (negative bounds count from the end, bounds
// clamp to the list, start >= end removes nothing) and returns how many it
// removed. One script (lua/list.lua): LTRIM when the range touches an end
// (DEL when it is the whole list), else the shorter side is read, trimmed
// and pushed back. Locally: the range the server resolved is removed.
// Errors: ErrNotFound.
func (l *List[T]) RemoveRange(ctx context.Context, start, end int) (int, error) {
	return l.slice(ctx, "List.RemoveRange", "delrange", start, end, func(r listBounds) int {
		s, e := min(r.s, len(l.items)), min(r.e, len(l.items))
		l.items = slices.Delete(l.items, s, e)
		return r.e - r.s
	})
}

// Trim keeps only l[start:end] (Python slice semantics, as Range) and
// removes the rest; it returns how many elements it removed. One LTRIM
// inside lua/list.lua (DEL when nothing is kept). Locally: the local copy
// becomes the same slice of itself, by the bounds the server resolved.
// Errors: ErrNotFound.
func (l *List[T]) Trim(ctx context.Context, start, end int) (int, error) {
	return l.slice(ctx, "List.Trim", "trim", start, end, func(r listBounds) int {
		s, e := min(r.s, len(l.items)), min(r.e, len(l.items))
		l.items = slices.Delete(l.items, e, len(l.items))
		l.items = slices.Delete(l.items, 0, s)
		return r.n - (r.e - r.s)
	})
}

// slice runs a slice script and, with the bounds the server resolved,
// apply, which updates the local copy and returns the count (inside the
// decode, so that it runs when a queued call completes).
func (l *List[T]) slice(ctx context.Context, op, script string, start, end int, apply func(listBounds) int) (int, error) {
	return ops.Script(ctx, op, l, lua.List, func(rep any, _ error) (int, error) {
		r, err := redis.Ints(rep, nil)
		if err != nil {
			return 0, err
		}
		if len(r) != 3 || r[0] < 0 || r[0] > r[1] || r[1] > r[2] {
			return 0, decodeErr(l, op, fmt.Errorf("unexpected reply %v", r))
		}
		return apply(listBounds{r[0], r[1], r[2]}), nil
	}, script, clampIndex(start), clampIndex(end))
}

type listBounds struct{ s, e, n int }

// Range returns the stored elements l[start:end] with Python slice
// semantics (end exclusive, negative bounds from the end, clamped to the
// list): one LRANGE with the existence check, the bounds converted to
// LRANGE's inclusive ones without knowing the length: l[s:e] is
// LRANGE s e-1 (LRANGE resolves negatives and clamps as Python does),
// except that end == 0, or 0 < end <= start, reads LRANGE 1 0 (always
// empty; e-1 = -1 would mean "to the last element"). The local copy is
// unchanged. Errors: ErrNotFound, ErrDecode.
func (l *List[T]) Range(ctx context.Context, start, end int) ([]T, error) {
	const op = "List.Range"
	s, e := clampIndex(start), clampIndex(end)
	lo, hi := s, e-1
	if e == 0 || (s >= 0 && e > 0 && s >= e) {
		lo, hi = 1, 0
	}
	return ops.Read(ctx, op, l, "LRANGE", func(r any, _ error) ([]T, error) {
		flat, err := ops.FlatReply(r, nil)
		if err != nil {
			return nil, err
		}
		vs, err := l.elems.decodeAll(ops.Fallback(l), flat)
		if err != nil {
			return nil, decodeErr(l, op, err)
		}
		return vs, nil
	}, lo, hi)
}

// ReadAll reads the whole stored list (LRANGE 0 -1), makes it the local copy
// and returns it (the handle's own slice, as Local). Errors: ErrNotFound,
// ErrDecode (the local copy is then unchanged).
func (l *List[T]) ReadAll(ctx context.Context) ([]T, error) {
	return ops.Read(ctx, "List.ReadAll", l, "", func(r any, _ error) ([]T, error) {
		flat, err := ops.FlatReply(r, nil)
		if err != nil {
			return nil, err
		}
		if err := ops.Apply(l, flat); err != nil {
			return nil, err
		}
		return l.items, nil
	})
}

// Index returns the index of the first stored element equal to v (same
// encoded bytes), or ok false when there is none: one LPOS with the
// existence check. The local copy is unchanged. Errors: ErrNotFound,
// ErrInvalid.
func (l *List[T]) Index(ctx context.Context, v T) (i int, ok bool, err error) {
	const op = "List.Index"
	b, err := l.encodeOne(op, v)
	if err != nil {
		return 0, false, err
	}
	p, err := ops.Read(ctx, op, l, "LPOS", func(rep any, _ error) (rapyer.Pair[int, bool], error) {
		r, err := listPosReply(rep, nil)
		if err != nil || r < 0 {
			return rapyer.Pair[int, bool]{}, err
		}
		return rapyer.Pair[int, bool]{A: r, B: true}, nil
	}, b)
	return p.A, p.B, err
}

// Contains reports whether the stored list holds an element equal to v
// (same encoded bytes): one LPOS with the existence check. The local copy
// is unchanged. Errors: ErrNotFound, ErrInvalid.
func (l *List[T]) Contains(ctx context.Context, v T) (bool, error) {
	const op = "List.Contains"
	b, err := l.encodeOne(op, v)
	if err != nil {
		return false, err
	}
	return ops.Read(ctx, op, l, "LPOS", func(rep any, _ error) (bool, error) {
		r, err := listPosReply(rep, nil)
		return err == nil && r >= 0, err
	}, b)
}

// encode encodes vs as command arguments.
func (l *List[T]) encode(op string, vs []T) ([]any, error) {
	c := l.elems.of(ops.Fallback(l))
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

func (l *List[T]) encodeOne(op string, v T) ([]byte, error) {
	b, err := l.elems.encode(ops.Fallback(l), v)
	if err != nil {
		return nil, invalid(l, op, err)
	}
	return b, nil
}

// maxIndex bounds the indexes sent to the scripts: no list is that long,
// so clamping keeps every meaning, and the scripts compute on them exactly
// in Lua doubles.
const maxIndex = 1 << 53

func clampIndex(i int) int64 { return min(max(int64(i), -maxIndex), maxIndex) }

// listPopped is a pop script's reply: {} when the list was empty, {value} or
// {value, index}.
type listPopped struct {
	ok  bool
	val []byte
	idx int
}

func listPopReply(r any, err error) (listPopped, error) {
	vs, err := redis.Values(r, err)
	if err != nil || len(vs) == 0 {
		return listPopped{}, err
	}
	b, err := redis.Bytes(vs[0], nil)
	if err != nil {
		return listPopped{}, err
	}
	p := listPopped{ok: true, val: b}
	if len(vs) > 1 {
		if p.idx, err = redis.Int(vs[1], nil); err != nil {
			return listPopped{}, err
		}
	}
	return p, nil
}

// listElemReply decodes a bulk reply that may be nil (nil then; an empty
// element is a non-nil empty slice).
func listElemReply(r any, err error) ([]byte, error) {
	b, err := redis.Bytes(r, err)
	if err == redis.ErrNil {
		return nil, nil
	}
	if err == nil && b == nil {
		b = []byte{}
	}
	return b, err
}

// listPosReply decodes an integer reply that may be nil (-1 then).
func listPosReply(r any, err error) (int, error) {
	n, err := redis.Int(r, err)
	if err == redis.ErrNil {
		return -1, nil
	}
	return n, err
}

// listLocal is List's ops.Local, kept off List's method set.
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
