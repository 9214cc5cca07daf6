package rapyer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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
// object of the model work as well as the probe's.
type Pred struct{ n *pnode }

// Node operations of a predicate tree.
const (
	pAll  = 'T' // every object
	pNone = 'F' // no object
	pAnd  = 'A'
	pOr   = 'O'
	pNot  = 'N'
	pLeaf = 'L'
)

// pnode is one node of a predicate tree. Leaves hold the set of index
// members they accept as a union of intervals (see interval), so negation
// and combination are interval arithmetic.
type pnode struct {
	op   byte
	kids []*pnode
	// leaves
	sc      *schema // the field's model (nil: a handle never named by a schema)
	field   string  // dotted name
	kind    byte    // serialize.SortKind of its encoding
	indexed bool
	iv      []interval
	err     error // a value that did not encode: reported by the query
}

// interval is a half-open range [lo, hi) of index members (sortkey "\0" id,
// compared byte-wise): lo "" is the start, hi "" the end. A leaf accepts an
// object when its member falls in one of the leaf's intervals; the same
// bounds drive ZRANGEBYLEX (lo as "[lo", hi as "(hi").
type interval struct{ lo, hi string }

// hiLess reports whether upper bound a comes before upper bound b
// ("" is the end).
func hiLess(a, b string) bool { return b == "" && a != "" || a != "" && b != "" && a < b }

// empty reports whether the interval holds no member.
func (v interval) empty() bool { return v.hi != "" && v.lo >= v.hi }

// normIv sorts intervals, drops empty ones and merges overlapping or
// touching ones: the canonical form every leaf keeps.
func normIv(ivs []interval) []interval {
	out := make([]interval, 0, len(ivs))
	for _, v := range ivs {
		if !v.empty() {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b interval) int { return strings.Compare(a.lo, b.lo) })
	merged := out[:0]
	for _, v := range out {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			if last.hi == "" || v.lo <= last.hi {
				if hiLess(last.hi, v.hi) {
					last.hi = v.hi
				}
				continue
			}
		}
		merged = append(merged, v)
	}
	return merged
}

// complementIv is the set of members outside ivs (normalised).
func complementIv(ivs []interval) []interval {
	var out []interval
	cur := ""
	for _, v := range ivs {
		if v.lo > cur {
			out = append(out, interval{cur, v.lo})
		}
		if v.hi == "" {
			return out
		}
		cur = v.hi
	}
	return append(out, interval{cur, ""})
}

// intersectIv is the members in both a and b (both normalised).
func intersectIv(a, b []interval) []interval {
	var out []interval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		v := interval{lo: max(a[i].lo, b[j].lo), hi: a[i].hi}
		if hiLess(b[j].hi, a[i].hi) {
			v.hi = b[j].hi
		}
		if !v.empty() {
			out = append(out, v)
		}
		// Advance whichever ends first.
		if hiLess(a[i].hi, b[j].hi) {
			i++
		} else {
			j++
		}
	}
	return out
}

// The member intervals of the comparisons, for a value of sort key k. Index
// members are k "\0" id, and sort keys hold no "\0", so k "\0" is the first
// member of value k and k "\1" the first after it.
func ivEq(k string) interval  { return interval{k + "\x00", k + "\x01"} }
func ivGt(k string) interval  { return interval{k + "\x01", ""} }
func ivGte(k string) interval { return interval{k + "\x00", ""} }
func ivLt(k string) interval  { return interval{"", k + "\x00"} }
func ivLte(k string) interval { return interval{"", k + "\x01"} }

// ivPrefix is the interval of the sort keys starting with k (an escaped
// string: escaping keeps prefixes, see sortKey): [k, succ(k)).
func ivPrefix(k string) interval {
	b := []byte(k)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return interval{k, ""}
	}
	b[len(b)-1]++
	return interval{k, string(b)}
}

// leaf builds the leaf of s for values vs through ivs (the sort keys of vs
// in, intervals out).
func (s *Scalar[T]) leaf(op string, ivs func(keys []string) []interval, vs ...T) Pred {
	n := &pnode{op: pLeaf, field: s.full, kind: s.sortKind(), indexed: s.index > 0}
	if s.model() != nil {
		n.sc = s.model().sc
	}
	if n.kind == 0 {
		n.err = fmt.Errorf("%w: field %q is stored as msgpack or by a custom codec, which has no order: it cannot be queried", ErrInvalid, s.full)
		return Pred{n}
	}
	c := s.codecFor(s.fallback())
	keys := make([]string, len(vs))
	for i, v := range vs {
		b, err := c.Encode(v)
		if err != nil {
			n.err = fmt.Errorf("%w: %s on field %q: %v", ErrInvalid, op, s.full, codecErr(ErrInvalid, err))
			return Pred{n}
		}
		k, ok := sortKey(n.kind, b)
		if !ok {
			n.err = fmt.Errorf("%w: %s on field %q: value %q has no sort key", ErrInvalid, op, s.full, clipText(b))
			return Pred{n}
		}
		keys[i] = k
	}
	n.iv = normIv(ivs(keys))
	return Pred{n}
}

// Eq matches objects whose field holds v.
func (s *Scalar[T]) Eq(v T) Pred {
	return s.leaf("Eq", func(k []string) []interval { return []interval{ivEq(k[0])} }, v)
}

// NotEq matches objects whose field is present and holds another value
// than v (an absent field matches neither Eq nor NotEq).
func (s *Scalar[T]) NotEq(v T) Pred {
	return s.leaf("NotEq", func(k []string) []interval { return complementIv([]interval{ivEq(k[0])}) }, v)
}

// In matches objects whose field holds one of vs; with no vs it matches
// nothing.
func (s *Scalar[T]) In(vs ...T) Pred {
	return s.leaf("In", func(k []string) []interval {
		out := make([]interval, len(k))
		for i, x := range k {
			out[i] = ivEq(x)
		}
		return out
	}, vs...)
}

// Gt matches objects whose field holds a value greater than v.
func (s *Scalar[T]) Gt(v T) Pred {
	return s.leaf("Gt", func(k []string) []interval { return []interval{ivGt(k[0])} }, v)
}

// Gte matches objects whose field holds a value greater than or equal to v.
func (s *Scalar[T]) Gte(v T) Pred {
	return s.leaf("Gte", func(k []string) []interval { return []interval{ivGte(k[0])} }, v)
}

// Lt matches objects whose field holds a value less than v.
func (s *Scalar[T]) Lt(v T) Pred {
	return s.leaf("Lt", func(k []string) []interval { return []interval{ivLt(k[0])} }, v)
}

// Lte matches objects whose field holds a value less than or equal to v.
func (s *Scalar[T]) Lte(v T) Pred {
	return s.leaf("Lte", func(k []string) []interval { return []interval{ivLte(k[0])} }, v)
}

// Between matches objects whose field holds a value from lo to hi, both
// included (lo <= value <= hi); nothing when lo > hi. For a half-open range
// combine Gte and Lt with And.
func (s *Scalar[T]) Between(lo, hi T) Pred {
	return s.leaf("Between", func(k []string) []interval {
		return []interval{{ivGte(k[0]).lo, ivLte(k[1]).hi}}
	}, lo, hi)
}

// PrefixPred is the predicate "the field's stored bytes start with those of
// p", for fields stored as strings or bytes (their index orders bytes); on
// any other field the query returns ErrInvalid. For handle implementers:
// use types.Str.Prefix.
func PrefixPred[T any](s *Scalar[T], p T) Pred {
	if k := s.sortKind(); k != 's' && k != 0 {
		n := &pnode{op: pLeaf, field: s.full, kind: k}
		if s.model() != nil {
			n.sc = s.model().sc
		}
		n.err = fmt.Errorf("%w: Prefix on field %q, which is not stored as a string", ErrInvalid, s.full)
		return Pred{n}
	}
	return s.leaf("Prefix", func(k []string) []interval { return []interval{ivPrefix(k[0])} }, p)
}

// And matches objects that every p matches; with no p, every object.
func And(ps ...Pred) Pred { return group(pAnd, ps) }

// Or matches objects that at least one p matches; with no p, none.
func Or(ps ...Pred) Pred { return group(pOr, ps) }

// Not matches objects that p does not match, leaf by leaf (De Morgan): a
// leaf's comparison is negated, but its field must still be present (see
// Pred). Not(All()) matches nothing.
func Not(p Pred) Pred { return Pred{&pnode{op: pNot, kids: []*pnode{p.n}}} }

// All matches every object of the model: Find(ctx, st, All()) lists them
// (driven by the shard's list of indexed objects, no Scan needed).
func All() Pred { return Pred{&pnode{op: pAll}} }

func group(op byte, ps []Pred) Pred {
	n := &pnode{op: op, kids: make([]*pnode, len(ps))}
	for i, p := range ps {
		n.kids[i] = p.n
	}
	return Pred{n}
}

// normalize checks the tree against sc and returns it with Not pushed down
// to the leaves (neg: this subtree is negated), nested And/Or flattened,
// leaves on one field under one And or Or merged, and constants folded.
// The result holds only pAll, pNone, pAnd, pOr and pLeaf nodes.
func normalize(sc *schema, n *pnode, neg bool) (*pnode, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: zero Pred (build predicates from Schema.Fields' handles, And, Or, Not, All)", ErrInvalid)
	}
	switch n.op {
	case pAll, pNone:
		if (n.op == pAll) != neg {
			return &pnode{op: pAll}, nil
		}
		return &pnode{op: pNone}, nil
	case pNot:
		return normalize(sc, n.kids[0], !neg)
	case pLeaf:
		if n.err != nil {
			return nil, n.err
		}
		if n.sc == nil || n.field == "" {
			return nil, fmt.Errorf("%w: predicate on a handle that no schema named (build predicates from Schema.Fields)", ErrInvalid)
		}
		if n.sc != sc {
			return nil, fmt.Errorf("%w: predicate on field %q of model %q, not of model %q", ErrInvalid, n.field, n.sc.name, sc.name)
		}
		c := *n
		if neg {
			c.iv = complementIv(n.iv)
		}
		if len(c.iv) == 0 {
			return &pnode{op: pNone}, nil
		}
		return &c, nil
	case pAnd, pOr:
		op := n.op
		if neg {
			op = pAnd + pOr - op
		}
		unit, zero := byte(pAll), byte(pNone) // And: drop All, None wins
		if op == pOr {
			unit, zero = pNone, pAll
		}
		out := &pnode{op: op}
		leaves := map[string]*pnode{}
		for _, k := range n.kids {
			c, err := normalize(sc, k, neg)
			if err != nil {
				return nil, err
			}
			kids := []*pnode{c}
			if c.op == op {
				kids = c.kids
			}
			for _, c := range kids {
				switch {
				case c.op == zero:
					return &pnode{op: zero}, nil
				case c.op == unit:
					continue
				case c.op == pLeaf:
					if l := leaves[c.field]; l != nil {
						if op == pAnd {
							l.iv = intersectIv(l.iv, c.iv)
						} else {
							l.iv = normIv(append(append([]interval(nil), l.iv...), c.iv...))
						}
						continue
					}
					c = ptrCopy(c)
					leaves[c.field] = c
				}
				out.kids = append(out.kids, c)
			}
		}
		// Merged leaves may have become empty (And) or full of members.
		kids := out.kids[:0]
		for _, c := range out.kids {
			if c.op == pLeaf && len(c.iv) == 0 {
				if op == pAnd {
					return &pnode{op: pNone}, nil
				}
				continue
			}
			kids = append(kids, c)
		}
		out.kids = kids
		switch len(out.kids) {
		case 0:
			return &pnode{op: unit}, nil
		case 1:
			return out.kids[0], nil
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: malformed predicate", ErrInvalid)
}

func ptrCopy(n *pnode) *pnode {
	c := *n
	return &c
}

// drivable reports whether an index can produce n's candidates: a leaf on
// an indexed field, an And with such a child, an Or whose children all
// are, or All (the shard's x:all). It lists in missing the fields whose
// Index() would make n drivable.
func drivable(n *pnode, missing *[]string) bool {
	switch n.op {
	case pAll:
		return true
	case pLeaf:
		if !n.indexed && !slices.Contains(*missing, n.field) {
			*missing = append(*missing, n.field)
		}
		return n.indexed
	case pAnd:
		var mine []string
		for _, k := range n.kids {
			if drivable(k, &mine) {
				return true
			}
		}
		for _, f := range mine {
			if !slices.Contains(*missing, f) {
				*missing = append(*missing, f)
			}
		}
		return false
	case pOr:
		ok := true
		for _, k := range n.kids {
			ok = drivable(k, missing) && ok
		}
		return ok
	}
	return false
}

// encodePred appends n to args in lua/query.lua's prefix form.
func encodePred(args []any, n *pnode, pos map[string]int) []any {
	switch n.op {
	case pAll:
		return append(args, "T")
	case pAnd, pOr:
		args = append(args, string(n.op), len(n.kids))
		for _, k := range n.kids {
			args = encodePred(args, k, pos)
		}
		return args
	}
	args = append(args, "L", n.field, pos[n.field], string(n.kind), len(n.iv))
	for _, v := range n.iv {
		args = append(args, v.lo, v.hi)
	}
	return args
}

// SortKey returns the index sort key of v for field s: v encoded with the
// field's codec, then mapped so that byte order is value order (numbers and
// times by value, strings byte-wise, false before true; see lua/index.lua).
// The field's index members are SortKey + "\x00" + id, so tools and
// benchmarks can read an index directly with ZRANGEBYLEX: "[" + k + "\x00"
// to "(" + k + "\x01" is value k. Queries compute their bounds with it.
// Errors: ErrInvalid when v does not encode or the field's encoding has no
// order (msgpack, custom codecs).
func SortKey[T any](s *Scalar[T], v T) (string, error) {
	kind := s.sortKind()
	if kind == 0 {
		return "", &Error{Op: "SortKey", Field: s.full, Err: fmt.Errorf("%w: the field's encoding has no order", ErrInvalid)}
	}
	b, err := s.codecFor(s.fallback()).Encode(v)
	if err != nil {
		return "", &Error{Op: "SortKey", Field: s.full, Err: codecErr(ErrInvalid, err)}
	}
	k, ok := sortKey(kind, b)
	if !ok {
		return "", &Error{Op: "SortKey", Field: s.full, Err: fmt.Errorf("%w: value %q has no sort key", ErrInvalid, clipText(b))}
	}
	return k, nil
}

// sortKey is the sort key of stored text t for an index of kind k, exactly
// as lua/index.lua's idx_key computes it (false where idx_key gives nil).
// Byte order of sort keys is value order, and they hold no "\0".
func sortKey(kind byte, t []byte) (string, bool) {
	switch kind {
	case 's':
		return escapeKey(t), true
	case 'b':
		switch string(t) {
		case "1", "true":
			return "1", true
		case "0", "false":
			return "0", true
		}
	case 'i':
		return intKey(t)
	case 'f':
		return floatKey(t)
	}
	return "", false
}

// escapeKey maps "\0" to "\1\1" and "\1" to "\1\2" (order and prefixes
// kept, no "\0" left).
func escapeKey(t []byte) string {
	var b strings.Builder
	b.Grow(len(t) + 2)
	for _, c := range t {
		switch c {
		case 0:
			b.WriteString("\x01\x01")
		case 1:
			b.WriteString("\x01\x02")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// complementDigits maps each digit c to '9' - c + '0'.
func complementDigits(d []byte) string {
	out := make([]byte, len(d))
	for i, c := range d {
		out[i] = 105 - c
	}
	return string(out)
}

// intKey: zero "\3"; n > 0 with d digits "\4" char(d) digits; n < 0 "\2"
// char(255-d) complemented digits. Canonical decimal text only.
func intKey(t []byte) (string, bool) {
	if string(t) == "0" {
		return "\x03", true
	}
	neg := len(t) > 0 && t[0] == '-'
	d := t
	if neg {
		d = t[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' || !isDigits(d) || len(d) > 19 {
		return "", false
	}
	if !neg {
		return "\x04" + string([]byte{byte(len(d))}) + string(d), true
	}
	return "\x02" + string([]byte{byte(255 - len(d))}) + complementDigits(d), true
}

// floatKey: decimal text as 0.m * 10^e (m without leading or trailing
// zeros): zero "\3"; x > 0 "\4" e+500 (3 digits) m; x < 0 "\2" 499-e (3
// digits) complemented m "~". It accepts what idx_float's patterns accept.
func floatKey(t []byte) (string, bool) {
	s := t
	sign := byte('+')
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		sign, s = s[0], s[1:]
	}
	mant, exp := s, []byte(nil)
	hasExp := false
	if i := indexAny(s, "eE"); i >= 0 {
		mant, exp, hasExp = s[:i], s[i+1:], true
	}
	ip, fp := mant, []byte(nil)
	if i := indexAny(mant, "."); i >= 0 {
		ip, fp = mant[:i], mant[i+1:]
	}
	if !isDigits(ip) || !isDigits(fp) || len(ip) == 0 && len(fp) == 0 {
		return "", false
	}
	e := int64(0)
	if hasExp {
		eneg := false
		if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
			eneg, exp = exp[0] == '-', exp[1:]
		}
		if len(exp) == 0 || !isDigits(exp) {
			return "", false
		}
		for len(exp) > 1 && exp[0] == '0' {
			exp = exp[1:]
		}
		if len(exp) > 15 {
			// Far outside the range (checked below, after zero).
			e = 1 << 50
		} else {
			e, _ = strconv.ParseInt(string(exp), 10, 64)
		}
		if eneg {
			e = -e
		}
	}
	digits := append(append([]byte(nil), ip...), fp...)
	e += int64(len(ip))
	lead := -1
	for i, c := range digits {
		if c != '0' {
			lead = i
			break
		}
	}
	if lead < 0 {
		return "\x03", true
	}
	e -= int64(lead)
	digits = digits[lead:]
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if e+500 < 0 || e+500 > 999 {
		return "", false
	}
	if sign != '-' {
		return "\x04" + fmt.Sprintf("%03d", e+500) + string(digits), true
	}
	return "\x02" + fmt.Sprintf("%03d", 499-e) + complementDigits(digits) + "~", true
}

func indexAny(b []byte, chars string) int {
	for i, c := range b {
		if strings.IndexByte(chars, c) >= 0 {
			return i
		}
	}
	return -1
}

// clipText shortens stored text quoted in error messages.
func clipText(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
