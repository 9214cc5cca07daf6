package index

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Sweep walks every shard's x:all in id order with lua/sweep.lua, count ids
// per script call and one call per shard still walking per round trip,
// and returns how many dead objects it reclaimed (their entries removed).
// With progress, one more round trip first reads how many ids the x:all
// keys hold (ZCARD), and progress gets the ids checked so far and that
// total after each round trip (the last call with done == total). A model
// without indexed fields has nothing to sweep: 0, no I/O. Errors: exec's,
// a script's, ErrDecode for a reply of another shape; returned with the
// count so far.
func Sweep(ctx context.Context, exec Exec, m *Model, count int, progress func(done, total int)) (int, error) {
	if len(m.Fields) == 0 {
		return 0, nil
	}
	jobs := make([]sweepJob, len(m.Shards))
	for i := range jobs {
		jobs[i] = sweepJob{shard: i}
	}
	var step func(int)
	done := 0
	if progress != nil {
		units := make([]ops.Unit, len(m.Shards))
		for i := range m.Shards {
			units[i] = ops.Unit{Cmds: []ops.Cmd{{Name: "ZCARD", Args: []any{m.Shards[i].All}}}}
		}
		total, err := sumInts(ctx, exec, units)
		if err != nil {
			return 0, err
		}
		step = func(read int) {
			done += read
			total = max(total, done) // ids added since the ZCARD
			progress(done, total)
		}
	}
	dead, _, err := m.sweepShards(ctx, exec, jobs, count, step)
	if err == nil && progress != nil {
		progress(done, done)
	}
	return dead, err
}

// sweepJob is one walk of lua/sweep.lua over one shard's index keys: of
// x:all (field 0, mode "all"), or of the x:i key of the field-th indexed
// field (mode "idx").
type sweepJob struct {
	shard  int
	field  int
	cursor string
}

// ReclaimUnit is the lua/sweep.lua call that removes the entries of those
// of ids (all of the given shard) whose objects are dead.
func (m *Model) ReclaimUnit(shard int, ids []string) ops.Unit {
	u := m.sweepUnit(&sweepJob{shard: shard}, 0)
	u.Args[0] = "ids"
	for _, id := range ids {
		u.Args = append(u.Args, id)
	}
	return u
}

// sweepUnit is the next step of job j: one call of lua/sweep.lua reading
// at most count members.
func (m *Model) sweepUnit(j *sweepJob, count int) ops.Unit {
	sh := &m.Shards[j.shard]
	keys := make([]string, 0, len(m.Fields)+2)
	args := make([]any, 0, 7+len(m.Fields))
	mode := "all"
	if j.field > 0 {
		mode = "idx"
	}
	args = append(args, mode, j.cursor, count, sh.Objects, len(m.Fields))
	for i, f := range m.Fields {
		keys = append(keys, sh.Index[i])
		args = append(args, f.Name)
	}
	keys = append(keys, sh.Rev, sh.All)
	if j.field > 0 {
		args = append(args, j.field)
	}
	return ops.ScriptUnit(lua.Sweep, keys, args)
}

// sweepShards runs jobs to their end, one step of every unfinished job per
// round trip, and returns how many dead objects they reclaimed and how many
// orphan members they removed.
// step, when set, gets the members read by each round trip.
func (m *Model) sweepShards(ctx context.Context, exec Exec, jobs []sweepJob, count int, step func(read int)) (dead, orphans int, err error) {
	active := make([]*sweepJob, 0, len(jobs))
	for i := range jobs {
		active = append(active, &jobs[i])
	}
	for len(active) > 0 {
		units := make([]ops.Unit, len(active))
		for i, j := range active {
			units[i] = m.sweepUnit(j, count)
		}
		res, err := exec(ctx, units)
		if err != nil {
			return dead, orphans, err
		}
		next, read := active[:0], 0
		for i, r := range res {
			if r.Err != nil {
				return dead, orphans, r.Err
			}
			vs, err := redis.Values(r.Replies[0], nil)
			if err != nil || len(vs) != 5 {
				return dead, orphans, fmt.Errorf("%w: sweep.lua replied %v", ErrDecode, r.Replies[0])
			}
			j := active[i]
			finished, _ := redis.Int(vs[0], nil)
			j.cursor, _ = redis.String(vs[1], nil)
			d, _ := redis.Int(vs[2], nil)
			o, _ := redis.Int(vs[3], nil)
			n, _ := redis.Int(vs[4], nil)
			dead, orphans, read = dead+d, orphans+o, read+n
			if finished == 0 {
				next = append(next, j)
			}
		}
		active = next
		if step != nil {
			step(read)
		}
	}
	return dead, orphans, nil
}
