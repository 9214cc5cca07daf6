package rapyer

import (
	"errors"
	"strings"

	"github.com/rapyer-go/rapyer/index"
)

// Pred is a query predicate: a condition on an object's fields that Find,
// FindIDs, Count, DeleteWhere and Iter evaluate on the server. Build leaves
// from the handles of a probe object (Schema.Fields): q.Age.Gt(30),
// q.Name.Eq("Ada"), q.Home.City.In("Paris", "Lyon"), q.Name.Prefix("A")
// (types.Str); combine them with And, Or and Not; All matches every object.
// The compiler checks that a value has the field's type.
//
// A leaf matches only objects in which its field is present: an absent
// field is neither equal nor unequal to anything, and Not negates the
// comparison, not the presence, so Not(q.Age.Eq(30)) is q.Age.NotEq(30) and
// an object without an age matches neither (as NULL in SQL). Values compare
// as the index orders them: numbers and times by value, strings and bytes
// byte-wise, false before true.
//
// Building a predicate does no I/O and never fails: a value that does not
// encode (a NaN, a time outside 1678..2262) or a leaf on a field with no
// order (msgpack, custom codec) makes the query that uses it return
// ErrInvalid naming the field. The zero Pred is invalid. A Pred is
// immutable: keep it and reuse it, from any goroutine. The handles of any
// object of the model work as well as the probe's. (The tree is package
// index's, the engine behind queries; users never need it.)
type Pred index.Pred

// leaf is the comparison verb (see index.Leaf) of s with values vs,
// encoded with the field's codec.
func (s *Scalar[T]) leaf(verb string, vs ...T) Pred {
	t := index.Target{Field: s.full, Kind: s.sortKind(), Indexed: s.index > 0}
	if m := s.model(); m != nil && m.sc != nil {
		t.Model = &m.sc.name
	}
	if t.Kind == 0 {
		return Pred(index.Leaf(t, verb))
	}
	c := s.codecFor(s.fallback())
	texts := make([][]byte, len(vs))
	for i, v := range vs {
		b, err := c.Encode(v)
		if err != nil {
			return Pred(index.Invalid(t, verb, codecErr(ErrInvalid, err).Error()))
		}
		texts[i] = b
	}
	return Pred(index.Leaf(t, verb, texts...))
}

// Eq matches objects whose field holds v.
func (s *Scalar[T]) Eq(v T) Pred { return s.leaf("Eq", v) }

// NotEq matches objects whose field is present and holds another value
// than v (an absent field matches neither Eq nor NotEq).
func (s *Scalar[T]) NotEq(v T) Pred { return s.leaf("NotEq", v) }

// In matches objects whose field holds one of vs; with no vs it matches
// nothing.
func (s *Scalar[T]) In(vs ...T) Pred { return s.leaf("In", vs...) }

// Gt matches objects whose field holds a value greater than v.
func (s *Scalar[T]) Gt(v T) Pred { return s.leaf("Gt", v) }

// Gte matches objects whose field holds a value greater than or equal to v.
func (s *Scalar[T]) Gte(v T) Pred { return s.leaf("Gte", v) }

// Lt matches objects whose field holds a value less than v.
func (s *Scalar[T]) Lt(v T) Pred { return s.leaf("Lt", v) }

// Lte matches objects whose field holds a value less than or equal to v.
func (s *Scalar[T]) Lte(v T) Pred { return s.leaf("Lte", v) }

// Between matches objects whose field holds a value from lo to hi, both
// included (lo <= value <= hi); nothing when lo > hi. For a half-open range
// combine Gte and Lt with And.
func (s *Scalar[T]) Between(lo, hi T) Pred { return s.leaf("Between", lo, hi) }

// And matches objects that every p matches; with no p, every object.
func And(ps ...Pred) Pred { return Pred(index.And(indexPreds(ps)...)) }

// Or matches objects that at least one p matches; with no p, none.
func Or(ps ...Pred) Pred { return Pred(index.Or(indexPreds(ps)...)) }

// Not matches objects that p does not match, leaf by leaf (De Morgan): a
// leaf's comparison is negated, but its field must still be present (see
// Pred). Not(All()) matches nothing.
func Not(p Pred) Pred { return Pred(index.Not(index.Pred(p))) }

// All matches every object of the model: Find(ctx, st, All()) lists them
// (driven by the shard's list of indexed objects, no Scan needed).
func All() Pred { return Pred(index.All()) }

func indexPreds(ps []Pred) []index.Pred {
	out := make([]index.Pred, len(ps))
	for i, p := range ps {
		out[i] = index.Pred(p)
	}
	return out
}

// indexErr re-labels the engine's sentinels (index.ErrInvalid,
// index.ErrDecode) with the root's, keeping the message; other errors
// (the executor's, the scripts') pass through.
func indexErr(err error) error {
	for _, m := range []struct{ from, to error }{{index.ErrInvalid, ErrInvalid}, {index.ErrDecode, ErrDecode}} {
		if errors.Is(err, m.from) {
			return &causeError{sentinel: m.to, msg: strings.TrimPrefix(err.Error(), m.from.Error()+": ")}
		}
	}
	return err
}
