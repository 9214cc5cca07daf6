package index

import (
	"fmt"
	"slices"
	"strings"
)

// Pred is a predicate tree: leaves built by Leaf (one comparison on one
// field), combined by And, Or and Not. The root package's rapyer.Pred is
// defined on it (type Pred index.Pred), so a handle package converts
// between the two. The zero Pred is invalid. A Pred is immutable.
type Pred struct{ n *node }

// Node operations of a predicate tree.
const (
	pAll  = 'T' // every object
	pNone = 'F' // no object
	pAnd  = 'A'
	pOr   = 'O'
	pNot  = 'N'
	pLeaf = 'L'
)

// node is one node of a predicate tree. Leaves hold the set of index
// members they accept as a union of intervals (see interval), so negation
// and combination are interval arithmetic.
type node struct {
	op   byte
	kids []*node
	// leaves
	Target
	iv   []interval
	verb string // the comparison ("Eq", "Prefix", ...), for messages
	bad  byte   // why the query must refuse the leaf (see the bad* codes)
	why  string // badValue's explanation
}

// Why a leaf cannot be queried (node.bad).
const (
	badValue     = 1 + iota // a value that did not encode or has no sort key
	badNoOrder              // the field's encoding has no order
	badNotString            // Prefix on a field not stored as a string
)

// Target is the field a leaf compares: plain values the root takes from
// the handle.
type Target struct {
	// Model is the name of the leaf's model, by address (nil: a handle no
	// schema named). Compile compares it with Model.Name, so a leaf built
	// on another model's handle is refused even when both share a name.
	Model   *string
	Field   string // dotted name
	Kind    byte   // serialize.SortKind of its encoding; 0: no order
	Indexed bool
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
// string: escaping keeps prefixes, see SortKey): [k, succ(k)).
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

// comparison is the member intervals of verb for the sort keys k of its
// values (Between takes two, In any number, the others one); false for an
// unknown verb or a wrong number of values.
func comparison(verb string, k []string) ([]interval, bool) {
	switch {
	case verb == "In":
		out := make([]interval, len(k))
		for i, x := range k {
			out[i] = ivEq(x)
		}
		return out, true
	case verb == "Between" && len(k) == 2:
		return []interval{{ivGte(k[0]).lo, ivLte(k[1]).hi}}, true
	case len(k) != 1:
		return nil, false
	}
	switch verb {
	case "Eq":
		return []interval{ivEq(k[0])}, true
	case "NotEq":
		return complementIv([]interval{ivEq(k[0])}), true
	case "Gt":
		return []interval{ivGt(k[0])}, true
	case "Gte":
		return []interval{ivGte(k[0])}, true
	case "Lt":
		return []interval{ivLt(k[0])}, true
	case "Lte":
		return []interval{ivLte(k[0])}, true
	}
	return nil, false
}

// Leaf is the comparison verb ("Eq", "NotEq", "In", "Gt", "Gte", "Lt",
// "Lte", "Between": lo <= value <= hi) of field t with the stored texts of
// the values (encoded with the field's codec). A text with no sort key, a
// field with no order (t.Kind 0) or an unknown verb make a leaf the query
// refuses with ErrInvalid naming the field: building never fails.
func Leaf(t Target, verb string, texts ...[]byte) Pred {
	if t.Kind == 0 {
		return Pred{&node{op: pLeaf, Target: t, verb: verb, bad: badNoOrder}}
	}
	keys := make([]string, len(texts))
	for i, b := range texts {
		k, ok := SortKey(t.Kind, b)
		if !ok {
			return Invalid(t, verb, fmt.Sprintf("value %q has no sort key", clipText(b)))
		}
		keys[i] = k
	}
	ivs, ok := comparison(verb, keys)
	if !ok {
		return Invalid(t, verb, "malformed comparison")
	}
	return Pred{&node{op: pLeaf, Target: t, verb: verb, iv: normIv(ivs)}}
}

// Invalid is a leaf on t that the query refuses with ErrInvalid: "<verb>
// on field <t.Field>: <why>" (a value that did not encode, for instance).
// On a field with no order (t.Kind 0) the message says that instead.
func Invalid(t Target, verb, why string) Pred {
	n := &node{op: pLeaf, Target: t, verb: verb, bad: badValue, why: why}
	if t.Kind == 0 {
		n.bad = badNoOrder
	}
	return Pred{n}
}

// PrefixOf turns eq, a leaf built by Leaf(t, "Eq", text), into the leaf
// "the field's stored bytes start with text", for fields stored as
// strings or bytes (their index orders bytes); on any other field the
// query returns ErrInvalid. For handle packages (types.Str.Prefix builds
// it from its own Eq): anything but an Eq leaf gives an invalid Pred.
func PrefixOf(eq Pred) Pred {
	e := eq.n
	if e == nil || e.op != pLeaf || e.verb != "Eq" {
		return Pred{&node{op: pLeaf, verb: "Prefix", bad: badValue, why: "not built from an Eq leaf"}}
	}
	n := &node{op: pLeaf, Target: e.Target, verb: "Prefix", bad: e.bad, why: e.why}
	switch {
	case n.Kind != 's' && n.Kind != 0:
		n.bad = badNotString
	case n.bad == 0:
		k := strings.TrimSuffix(e.iv[0].lo, "\x00")
		n.iv = []interval{ivPrefix(k)}
	}
	return Pred{n}
}

// And matches objects that every p matches; with no p, every object.
func And(ps ...Pred) Pred { return group(pAnd, ps) }

// Or matches objects that at least one p matches; with no p, none.
func Or(ps ...Pred) Pred { return group(pOr, ps) }

// Not matches objects that p does not match, leaf by leaf (De Morgan): a
// leaf's comparison is negated, but its field must still be present.
func Not(p Pred) Pred { return Pred{&node{op: pNot, kids: []*node{p.n}}} }

// All matches every object of the model.
func All() Pred { return Pred{&node{op: pAll}} }

func group(op byte, ps []Pred) Pred {
	n := &node{op: op, kids: make([]*node, len(ps))}
	for i, p := range ps {
		n.kids[i] = p.n
	}
	return Pred{n}
}

// leafError is the error of a leaf the query refuses (nil for a good one).
func (n *node) leafError() error {
	switch n.bad {
	case badNoOrder:
		return fmt.Errorf("%w: field %q is stored as msgpack or by a custom codec, which has no order: it cannot be queried", ErrInvalid, n.Field)
	case badNotString:
		return fmt.Errorf("%w: Prefix on field %q, which is not stored as a string", ErrInvalid, n.Field)
	case badValue:
		return fmt.Errorf("%w: %s on field %q: %s", ErrInvalid, n.verb, n.Field, n.why)
	}
	return nil
}

// normalize checks the tree against model m and returns it with Not pushed
// down to the leaves (neg: this subtree is negated), nested And/Or
// flattened, leaves on one field under one And or Or merged, and constants
// folded. The result holds only pAll, pNone, pAnd, pOr and pLeaf nodes.
func normalize(m *Model, n *node, neg bool) (*node, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: zero Pred (build predicates from Schema.Fields' handles, And, Or, Not, All)", ErrInvalid)
	}
	switch n.op {
	case pAll, pNone:
		if (n.op == pAll) != neg {
			return &node{op: pAll}, nil
		}
		return &node{op: pNone}, nil
	case pNot:
		return normalize(m, n.kids[0], !neg)
	case pLeaf:
		if err := n.leafError(); err != nil {
			return nil, err
		}
		if n.Model == nil || n.Field == "" {
			return nil, fmt.Errorf("%w: predicate on a handle that no schema named (build predicates from Schema.Fields)", ErrInvalid)
		}
		if n.Model != m.Name {
			return nil, fmt.Errorf("%w: predicate on field %q of model %q, not of model %q", ErrInvalid, n.Field, *n.Model, *m.Name)
		}
		c := *n
		if neg {
			c.iv = complementIv(n.iv)
		}
		if len(c.iv) == 0 {
			return &node{op: pNone}, nil
		}
		return &c, nil
	case pAnd, pOr:
		return normalizeGroup(m, n, neg)
	}
	return nil, fmt.Errorf("%w: malformed predicate", ErrInvalid)
}

// normalizeGroup is normalize of an And or Or node.
func normalizeGroup(m *Model, n *node, neg bool) (*node, error) {
	op := n.op
	if neg {
		op = pAnd + pOr - op
	}
	unit, zero := byte(pAll), byte(pNone) // And: drop All, None wins
	if op == pOr {
		unit, zero = pNone, pAll
	}
	out := &node{op: op}
	leaves := map[string]*node{}
	for _, k := range n.kids {
		c, err := normalize(m, k, neg)
		if err != nil {
			return nil, err
		}
		kids := []*node{c}
		if c.op == op {
			kids = c.kids
		}
		for _, c := range kids {
			switch {
			case c.op == zero:
				return &node{op: zero}, nil
			case c.op == unit:
				continue
			case c.op == pLeaf:
				if l := leaves[c.Field]; l != nil {
					if op == pAnd {
						l.iv = intersectIv(l.iv, c.iv)
					} else {
						l.iv = normIv(append(append([]interval(nil), l.iv...), c.iv...))
					}
					continue
				}
				cp := *c
				c = &cp
				leaves[c.Field] = c
			}
			out.kids = append(out.kids, c)
		}
	}
	// Merged leaves may have become empty (And) or full of members.
	kids := out.kids[:0]
	for _, c := range out.kids {
		if c.op == pLeaf && len(c.iv) == 0 {
			if op == pAnd {
				return &node{op: pNone}, nil
			}
			continue
		}
		kids = append(kids, c)
	}
	out.kids = kids
	switch len(out.kids) {
	case 0:
		return &node{op: unit}, nil
	case 1:
		return out.kids[0], nil
	}
	return out, nil
}

// drivable reports whether an index can produce n's candidates: a leaf on
// an indexed field, an And with such a child, an Or whose children all
// are, or All (the shard's x:all). It lists in missing the fields whose
// Index() would make n drivable.
func drivable(n *node, missing *[]string) bool {
	switch n.op {
	case pAll:
		return true
	case pLeaf:
		if !n.Indexed && !slices.Contains(*missing, n.Field) {
			*missing = append(*missing, n.Field)
		}
		return n.Indexed
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
func encodePred(args []any, n *node, pos map[string]int) []any {
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
	args = append(args, "L", n.Field, pos[n.Field], string(n.Kind), len(n.iv))
	for _, v := range n.iv {
		args = append(args, v.lo, v.hi)
	}
	return args
}
