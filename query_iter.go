package rapyer

import (
	"context"
	"iter"

	"github.com/rapyer-go/rapyer/index"
)

// Iter streams the objects pred matches in the order opts give, PageSize
// objects at a time (default 500): per page one query round trip and one
// load round trip, so memory stays bounded by the page whatever the number
// of matches. Pages follow a cursor (the last object's sort key and id),
// not an offset: an object whose sort value changes during the iteration
// may be missed or seen twice, and objects deleted or expired before their
// page are left out. A page reads only its own part of an index when the
// query's order is an index's: by id (x:all, or an equality's entries) or
// by an OrderBy field the predicate ranges over; sorted by another field
// than the driving one, every page checks the driver's candidates again on
// the server. Limit and Offset apply to the whole stream. Errors (as
// Find) are yielded once, with a nil object, and end the stream.
func (s *Schema[M, P]) Iter(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) iter.Seq2[P, error] {
	return func(yield func(P, error) bool) {
		ctx, o := st.begin(ctx, "Iter", s.sc.name, "")
		if o != nil {
			yield = seq(o, yield)
			defer func() { o.end(o.lastErr) }()
		}
		p, err := compile("Iter", s.sc, pred, opts)
		if err == nil {
			err = p.checkRun(ctx, st)
		}
		if err != nil {
			yield(nil, err)
			return
		}
		if p.None() {
			return
		}
		remaining, skip := p.Limit, p.Offset
		after := p.after
		for remaining != 0 {
			n := p.page
			if remaining > 0 && remaining < n {
				n = remaining
			}
			hits, err := p.search(ctx, index.ModeFind, skip+n, skip, n, after)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(hits) == 0 {
				return
			}
			last := hits[len(hits)-1]
			after, skip = &last, 0
			var bad []error
			objs, err := s.load(ctx, st, "Iter", hits, p.tolerant, &bad)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, err := range bad { // Tolerant: reported, and the walk goes on
				if !yield(nil, err) {
					return
				}
			}
			for _, o := range objs {
				if !yield(o, nil) {
					return
				}
			}
			if remaining > 0 {
				remaining -= len(hits)
			}
			if len(hits) < n {
				return
			}
		}
	}
}
