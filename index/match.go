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

// MatchTexts is Match for an object whose stored texts of Fields are vals
// (nil: absent), in Fields' order.
func (p *Plan) MatchTexts(id string, vals [][]byte) bool {
	fields := p.Fields()
	return p.Match(id, func(f string) ([]byte, bool) {
		i := slices.Index(fields, f)
		if i < 0 || i >= len(vals) || vals[i] == nil {
			return nil, false
		}
		return vals[i], true
	})
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
