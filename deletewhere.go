package rapyer

import (
	"context"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/ops"
)

// DeleteWhere deletes the objects pred matches and returns how many it
// deleted, in chunks of ChunkSize objects (default DefaultChunk): per
// chunk, one query round trip finds the next matches (as FindIDs, from a
// cursor: the last id found and its sort key, as Iter pages) and one round
// trip deletes them, each as Delete deletes it (its keys and index
// entries, one script per object, pipelined). Memory is bounded by one
// chunk, whatever the number of matches; n matches take 2*(n/ChunkSize+1)
// round trips at most (2 when they fit in one chunk). Progress reports the
// deleted count after each chunk. Not atomic as a whole: an object found
// matching is deleted even if another client changed it before its chunk
// ran; one created meanwhile may or may not be deleted, depending on where
// the cursor is. Options work as for Find (Limit and OrderBy delete the
// first n in that order). Errors as Find; a failure in a chunk stops there
// (earlier chunks are deleted), returned with the count so far; so does a
// chunk whose WAIT counted too few replicas (WithWait: ErrNotReplicated).
func (s *Schema[M, P]) DeleteWhere(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) (ores int, oerr error) {
	ctx, o := st.begin(ctx, "DeleteWhere", s.sc.name, "")
	defer func() {
		o.count(ores)
		o.end(oerr)
	}()
	const op = "DeleteWhere"
	p, err := compile(op, s.sc, pred, opts)
	if err != nil {
		return 0, err
	}
	if err := p.checkRun(ctx, st); err != nil || p.None() {
		return 0, err
	}
	deleted := 0
	remaining, skip := p.Limit, p.Offset
	var after *index.Hit
	for remaining != 0 {
		n := p.chunk
		if remaining > 0 && remaining < n {
			n = remaining
		}
		hits, err := p.search(ctx, index.ModeFind, skip+n, skip, n, after)
		if err != nil {
			return deleted, err
		}
		if len(hits) == 0 {
			break
		}
		last := hits[len(hits)-1]
		after, skip = &last, 0
		units := make([]ops.Unit, len(hits))
		for i, h := range hits {
			units[i] = s.bare(st, h.ID).deleteUnit()
		}
		res, err := st.exec(ctx, request{units: units})
		err, short := shortOf(err)
		if err != nil {
			return deleted, &Error{Op: op, Model: s.sc.name, Err: err}
		}

		for i, r := range res {
			if r.Err != nil {
				return deleted, &Error{Op: op, Model: s.sc.name, ID: hits[i].ID, Err: scriptError(r.Err)}
			}
			k, _ := redis.Int(r.Replies[0], nil)
			deleted += k
		}
		if short != nil { // this chunk is deleted, not known to be replicated: stop
			return deleted, &Error{Op: op, Model: s.sc.name, Err: short}
		}
		if remaining > 0 {
			remaining -= len(hits)
		}
		if len(hits) < n || remaining == 0 {
			break
		}
		report(p.progress, deleted, -1)
	}
	report(p.progress, deleted, deleted)
	return deleted, nil
}
