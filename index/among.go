package index

// The check of a query on objects the caller has already read (Find with
// rapyer.Among): the Go twin of the test lua/query.lua makes on each
// candidate, on the same sort keys (SortKey is fuzzed against
// lua/index.lua), so both agree on every value.

// Text returns the stored text of an object's field, and whether the
// field is present.
type Text func(field string) ([]byte, bool)

// Match reports whether the object id, whose fields text gives, matches
// the plan's predicate. A leaf on an absent field, or on a text with no
// sort key, does not match.
func (p *Plan) Match(id string, text Text) bool {
	return p.root != nil && matches(p.root, id, text)
}

func matches(n *node, id string, text Text) bool {
	switch n.op {
	case pAll:
		return true
	case pAnd:
		for _, k := range n.kids {
			if !matches(k, id, text) {
				return false
			}
		}
		return true
	case pOr:
		for _, k := range n.kids {
			if matches(k, id, text) {
				return true
			}
		}
		return false
	case pLeaf:
		t, ok := text(n.Field)
		if !ok {
			return false
		}
		k, ok := SortKey(n.Kind, t)
		if !ok {
			return false
		}
		member := k + "\x00" + id // as the field's index stores it
		for _, iv := range n.iv {
			if member >= iv.lo && (iv.hi == "" || member < iv.hi) {
				return true
			}
		}
	}
	return false
}

// HitOf is the object's Hit in the plan's order, as lua/query.lua replies
// it: the sort field's key after "\1" when present, "" when absent (or
// when the plan sorts by id).
func (p *Plan) HitOf(id string, text Text) Hit {
	if p.sortPos == 0 {
		return Hit{ID: id}
	}
	f := p.m.Fields[p.sortPos-1]
	if t, ok := text(f.Name); ok {
		if k, ok := SortKey(f.Kind, t); ok {
			return Hit{SortKey: "\x01" + k, ID: id}
		}
	}
	return Hit{ID: id}
}
