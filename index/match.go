package index

import "slices"

// The predicate checked in Go, for a query that no index can serve at all
// (a model without indexes, with Scan): the caller walks the objects
// itself, reads the stored texts of Fields and asks Match, with the same
// semantics as lua/query.lua's check (a leaf needs its field present with a
// sort key; its member, sort key "\0" id, must fall in one of its
// intervals).

// Fields lists the fields the predicate reads, in a fixed order: Match
// takes their stored texts in that order. Empty for All.
func (p *Plan) Fields() []string {
	if p.fields != nil {
		return p.fields
	}
	out := []string{}
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		if n.op == pLeaf && !slices.Contains(out, n.Field) {
			out = append(out, n.Field)
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(p.root)
	p.fields = out
	return out
}

// Match reports whether object id, whose stored texts of Fields are vals
// (nil: absent), matches the predicate. A plan that matches nothing (None)
// matches no object.
func (p *Plan) Match(id string, vals [][]byte) bool {
	if p.root == nil {
		return false
	}
	return p.match(p.root, id, p.Fields(), vals)
}

func (p *Plan) match(n *node, id string, fields []string, vals [][]byte) bool {
	switch n.op {
	case pAll:
		return true
	case pAnd:
		for _, k := range n.kids {
			if !p.match(k, id, fields, vals) {
				return false
			}
		}
		return true
	case pOr:
		for _, k := range n.kids {
			if p.match(k, id, fields, vals) {
				return true
			}
		}
		return false
	case pLeaf:
		i := slices.Index(fields, n.Field)
		if i < 0 || i >= len(vals) || vals[i] == nil {
			return false
		}
		sk, ok := SortKey(n.Kind, vals[i])
		if !ok {
			return false
		}
		m := sk + "\x00" + id
		for _, v := range n.iv {
			if v.lo <= m && (v.hi == "" || m < v.hi) {
				return true
			}
		}
	}
	return false
}

// Window orders hits as the query's output (by id without an order), keeps
// those after the cursor after (nil: from the start), and applies offset
// and limit (-1: every one).
func (p *Plan) Window(hits []Hit, offset, limit int, after *Hit) []Hit {
	slices.SortFunc(hits, p.cmp)
	hits = slices.CompactFunc(hits, func(a, b Hit) bool { return a.ID == b.ID })
	if after != nil {
		i, found := slices.BinarySearchFunc(hits, *after, p.cmp)
		if found {
			i++
		}
		hits = hits[i:]
	}
	hits = hits[min(offset, len(hits)):]
	if limit >= 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}
