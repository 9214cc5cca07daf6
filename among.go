package rapyer

import (
	"context"

	"github.com/rapyer-go/rapyer/index"
)

// Among makes Find and FindOne apply their predicate to the objects with
// the given ids only, instead of searching the indexes: the objects are
// loaded (one round trip, as GetMany: up to 10,000 per round trip) and the
// predicate is checked on their loaded fields, in Go, with the same
// comparisons the indexes make (so every field with an ordered encoding
// can be tested, indexed or not, and the model needs no index). Ids that
// do not exist are left out; an id given twice counts once. Results are
// ordered and cut as Find's (OrderBy, Limit, Offset; by id without
// OrderBy). Among with no ids matches nothing. Other queries (Count,
// FindIDs, DeleteWhere, Iter) refuse it (ErrInvalid).
func Among(ids ...string) QueryOption {
	ids = append(make([]string, 0, len(ids)), ids...) // never nil: Among() is a query too
	return queryOptionFunc(func(c *queryConfig) { c.among = ids })
}

// findAmong runs Find with Among: the objects of p.among are loaded in one
// round trip and p's predicate is checked on each in Go (index.Plan.Match:
// the sort keys the indexes use). The predicate is not sent to the server
// in a script: the objects must be loaded anyway to be returned, the
// check then costs the server nothing, and a script would need every key
// in one slot (a model with several shards spans several).
func (s *Schema[M, P]) findAmong(ctx context.Context, st *Store, p *plan) ([]P, error) {
	if err := s.checkIDs(p.op, p.among); err != nil {
		return nil, err
	}
	if p.None() || len(p.among) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(p.among))
	hits := make([]index.Hit, 0, len(p.among))
	for _, id := range p.among {
		if !seen[id] {
			seen[id] = true
			hits = append(hits, index.Hit{ID: id})
		}
	}
	var bad []error
	objs, err := s.load(ctx, st, p.op, hits, p.tolerant, &bad)
	if err != nil {
		return nil, err
	}
	fb := st.cfg.fallback
	byID := make(map[string]P, len(objs))
	hits = hits[:0]
	for _, o := range objs {
		m := o.base()
		text := func(field string) ([]byte, bool) {
			i, ok := m.sc.index[field]
			if !ok {
				return nil, false
			}
			b, present, err := m.field(i).encodeLocal(fb)
			return b, present && err == nil
		}
		if p.Match(m.id, text) {
			hits = append(hits, p.HitOf(m.id, text))
			byID[m.id] = o
		}
	}
	hits = p.Window(hits, p.Offset, p.Limit, nil)
	out := make([]P, len(hits))
	for i, h := range hits {
		out[i] = byID[h.ID]
	}
	if len(bad) > 0 {
		return out, &SkippedError{Op: p.op, Model: s.sc.name, Errs: bad}
	}
	return out, nil
}

// first is the first of objs, or nil.
func first[P any](objs []P) P {
	var zero P
	if len(objs) == 0 {
		return zero
	}
	return objs[0]
}
