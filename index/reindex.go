package index

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// Walk is what Reindex needs from the key builder, which only the root
// knows.
type Walk struct {
	// Pattern is the SCAN MATCH pattern of every key of the model (glob
	// characters of the prefix escaped).
	Pattern string
	// Key classifies a key SCAN returned: the id of an object to reindex,
	// or drop for an index key to remove (of a field no longer indexed);
	// neither for any other key.
	Key func(key string) (id string, drop bool)
	// Unit is the lua/reindex.lua call of the object id.
	Unit func(id string) ops.Unit
	// Units, when set, makes the calls of a chunk's ids instead of Unit
	// (it may send first: the root claims unique values on a cluster),
	// and returns what to run once the calls have run (ok: they ran).
	Units func(ctx context.Context, ids []string) ([]ops.Unit, func(ok bool), error)
	// Chunk is how many objects go per round trip.
	Chunk int
	// Progress, when set, gets the objects reindexed so far after each
	// round trip that reindexed some (total -1: SCAN does not know it),
	// and done == total at the end.
	Progress func(done, total int)
	// Nodes are the servers whose keyspaces SCAN walks, one after the
	// other (every master of a cluster, each with its own cursor); a
	// single "" on one server.
	Nodes []string
}

// Conflict is one object Reindex left out of a unique index: another live
// object already held Value (the stored text) in Field's index.
type Conflict struct {
	ID, Field, Value string
}

// scanCount is Reindex's SCAN COUNT (how many slots of the keyspace each
// SCAN visits) unless the chunk is larger: the walk of a large keyspace
// must not take a round trip per handful of keys when the chunk is small.
const scanCount = 1000

// Reindex SCANs the keys w.Pattern matches, runs w.Unit for every object
// w.Key accepts (w.Chunk per round trip, the next SCAN in the same round
// trip) and UNLINKs the keys it drops; then it walks every x:i key of
// every shard with lua/sweep.lua (mode "idx"), removing members x:rev does
// not back. It returns how many objects had their entries changed and the
// unique values it could not enter. Errors: exec's, a script's, ErrDecode
// for a reply of another shape; returned with the count so far.
func Reindex(ctx context.Context, exec Exec, m *Model, w Walk) (changed int, conflicts []Conflict, err error) {
	var (
		cursor   = "0"
		scanning = true
		node     = 0
		pending  []string // ids found, not reindexed yet
		drop     []any    // index keys of fields no longer indexed
		done     int      // objects reindexed (Progress)
	)
	if w.Progress != nil {
		defer func() {
			if err == nil {
				w.Progress(done, done)
			}
		}()
	}
	for scanning || len(pending) > 0 || len(drop) > 0 {
		n := min(len(pending), w.Chunk)
		units := make([]ops.Unit, 0, n+2)
		var after func(ok bool)
		if w.Units != nil && n > 0 {
			us, a, err := w.Units(ctx, pending[:n])
			if err != nil {
				return changed, conflicts, err
			}
			units, after = append(units, us...), a
		} else {
			for _, id := range pending[:n] {
				units = append(units, w.Unit(id))
			}
		}
		ids := pending[:n]
		pending = pending[n:]
		if len(drop) > 0 {
			units = append(units, ops.Unit{Cmds: []ops.Cmd{{Name: "UNLINK", Args: drop}}})
			drop = nil
		}
		scanAt := -1
		if scanning && len(pending) < w.Chunk {
			scanAt = len(units)
			u := ops.Unit{Cmds: []ops.Cmd{{Name: "SCAN", Args: []any{cursor, "MATCH", w.Pattern, "COUNT", max(w.Chunk, scanCount)}}}}
			if node < len(w.Nodes) {
				u.Node = w.Nodes[node]
			}
			units = append(units, u)
		}
		res, err := exec(ctx, units)
		if after != nil {
			after(err == nil)
		}
		if err != nil {
			return changed, conflicts, err
		}
		for i, r := range res {
			if r.Err != nil {
				return changed, conflicts, r.Err
			}
			if i >= n {
				continue
			}
			vs, err := redis.Values(r.Replies[0], nil)
			if err != nil || len(vs) == 0 || len(vs)%2 != 1 {
				return changed, conflicts, fmt.Errorf("%w: reindex.lua replied %v", ErrDecode, r.Replies[0])
			}
			if c, _ := redis.Int(vs[0], nil); c == 1 {
				changed++
			}
			for k := 1; k+1 < len(vs); k += 2 {
				f, _ := redis.String(vs[k], nil)
				v, _ := redis.String(vs[k+1], nil)
				conflicts = append(conflicts, Conflict{ID: ids[i], Field: f, Value: v})
			}
		}
		if n > 0 && w.Progress != nil {
			done += n
			w.Progress(done, -1)
		}
		if scanAt < 0 {
			continue
		}
		vs, err := redis.Values(res[scanAt].Replies[0], nil)
		if err != nil || len(vs) != 2 {
			return changed, conflicts, fmt.Errorf("%w: SCAN replied %v", ErrDecode, res[scanAt].Replies[0])
		}
		cursor, _ = redis.String(vs[0], nil)
		if cursor == "0" && node+1 < len(w.Nodes) {
			node, cursor = node+1, "0" // the next node's keyspace
		} else {
			scanning = cursor != "0"
		}
		keys, _ := redis.Strings(vs[1], nil)
		for _, k := range keys {
			switch id, d := w.Key(k); {
			case id != "":
				pending = append(pending, id)
			case d:
				drop = append(drop, k)
			}
		}
	}
	if len(m.Fields) > 0 {
		jobs := make([]sweepJob, 0, len(m.Shards)*len(m.Fields))
		for sh := range m.Shards {
			for f := range m.Fields {
				jobs = append(jobs, sweepJob{shard: sh, field: f + 1})
			}
		}
		if _, _, err := m.sweepShards(ctx, exec, jobs, w.Chunk, nil); err != nil {
			return changed, conflicts, err
		}
	}
	return changed, conflicts, nil
}
