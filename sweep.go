package rapyer

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Sweep reclaims the index entries of dead objects (expired, or removed by
// something other than rapyer's Delete) in every shard of the model, and
// returns how many objects it reclaimed. Queries already skip such entries
// and reclaim those they meet; Sweep bounds index memory without waiting
// for a query, so call it from time to time (a ticker) on models whose
// objects expire.
//
// Each shard's x:all (lua/index.lua) is walked in id order by
// lua/sweep.lua, ChunkSize ids (default DefaultChunk) per script call: the
// script checks that each id's hash exists and removes every entry of the
// dead ones (x:i of each indexed field, x:rev, x:all). One round trip
// carries one call per shard still walking, so a sweep of n indexed objects
// over N shards takes about n/(N*ChunkSize)+1 round trips, and no script
// runs longer than one chunk. Each call is atomic, so Sweep is safe while
// writes continue: an object that dies after its chunk was swept is left to
// the next Sweep (or query). Other options are ignored. A model without
// indexes has nothing to sweep: 0, no I/O. Sweep cannot be queued in a
// Batch or Tx (ErrInvalid). Errors: ErrInvalid (nil Store), the network's
// and the context's, returned with the count reclaimed so far.
func (s *Schema[M, P]) Sweep(ctx context.Context, st *Store, opts ...ManyOption) (int, error) {
	const op = "Sweep"
	if st == nil {
		return 0, &Error{Op: op, Model: s.sc.name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	if len(s.sc.idx) == 0 {
		return 0, nil
	}
	cfg := manyOptions(opts)
	jobs := make([]sweepJob, s.sc.shards)
	for i := range jobs {
		jobs[i] = sweepJob{shard: uint32(i)}
	}
	dead, _, err := s.sc.sweepShards(ctx, st, op, jobs, cfg.chunk)
	return dead, err
}

// sweepJob is one walk of lua/sweep.lua over one shard's index keys: of
// x:all (field 0, mode "all"), or of the x:i key of the field-th indexed
// field (mode "idx").
type sweepJob struct {
	shard  uint32
	field  int
	cursor string
}

// reclaimUnit is a sweep.lua step of mode "ids": the entries of those of
// ids (all of shard) that are still dead are reclaimed.
func (sc *schema) reclaimUnit(st *Store, shard uint32, ids []string) ops.Unit {
	u := sc.sweepUnit(st, &sweepJob{shard: shard}, 0)
	u.Args[0] = "ids"
	for _, id := range ids {
		u.Args = append(u.Args, id)
	}
	return u
}

// sweepUnit is the next step of job j: one call of lua/sweep.lua reading
// at most count members.
func (sc *schema) sweepUnit(st *Store, j *sweepJob, count int) ops.Unit {
	prefix := st.cfg.prefix
	keys := make([]string, 0, len(sc.idx)+2)
	args := make([]any, 0, 7+len(sc.idx))
	mode := "all"
	if j.field > 0 {
		mode = "idx"
	}
	args = append(args, mode, j.cursor, count, shardPrefix(prefix, sc.name, j.shard)+"o:", len(sc.idx))
	for _, sp := range sc.idx {
		keys = append(keys, indexKey(prefix, sc.name, j.shard, sp.name))
		args = append(args, sp.name)
	}
	keys = append(keys, revKey(prefix, sc.name, j.shard), allKey(prefix, sc.name, j.shard))
	if j.field > 0 {
		args = append(args, j.field)
	}
	return ops.ScriptUnit(lua.Sweep, keys, args)
}

// sweepShards runs jobs to their end, one step of every unfinished job per
// round trip, and returns how many dead objects they reclaimed and how many
// orphan members they removed.
func (sc *schema) sweepShards(ctx context.Context, st *Store, op string, jobs []sweepJob, count int) (dead, orphans int, err error) {
	active := make([]*sweepJob, 0, len(jobs))
	for i := range jobs {
		active = append(active, &jobs[i])
	}
	for len(active) > 0 {
		units := make([]ops.Unit, len(active))
		for i, j := range active {
			units[i] = sc.sweepUnit(st, j, count)
		}
		res, err := st.exec(ctx, request{units: units})
		if err != nil {
			return dead, orphans, &Error{Op: op, Model: sc.name, Err: err}
		}
		next := active[:0]
		for i, r := range res {
			if r.Err != nil {
				return dead, orphans, &Error{Op: op, Model: sc.name, Err: scriptError(r.Err)}
			}
			vs, err := redis.Values(r.Replies[0], nil)
			if err != nil || len(vs) != 4 {
				return dead, orphans, &Error{Op: op, Model: sc.name, Err: fmt.Errorf("%w: sweep.lua replied %v", ErrDecode, r.Replies[0])}
			}
			j := active[i]
			finished, _ := redis.Int(vs[0], nil)
			j.cursor, _ = redis.String(vs[1], nil)
			d, _ := redis.Int(vs[2], nil)
			o, _ := redis.Int(vs[3], nil)
			dead, orphans = dead+d, orphans+o
			if finished == 0 {
				next = append(next, j)
			}
		}
		active = next
	}
	return dead, orphans, nil
}
