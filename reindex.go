package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Reindex builds (or rebuilds) the secondary indexes of the model from the
// objects stored, and returns how many live objects had their entries
// changed (0 when the indexes were already complete). Call it after adding
// Index or Unique to a field of a model that already holds objects: writes
// keep indexes up to date, but objects written before the index existed
// have no entry until Reindex (or their next write) gives them one.
//
// It walks the model's object hashes with SCAN MATCH
// <prefix>{<model>:*}:[ox]:* (an explicit admin operation, so SCAN is
// fine here; the prefix's glob characters are escaped, and every key is
// parsed, so ids of any bytes work), and for each object runs lua/reindex.lua:
// the object's indexed values are read, each one's member is (re)added to
// its field's x:i key, entries that no longer match are removed, its x:rev
// entry is rewritten and its id joins x:all. ChunkSize objects (default
// DefaultChunk) go per round trip, the next SCAN (COUNT 1000, or
// ChunkSize when larger) in the same round trip. SCAN visits the whole
// keyspace of the server, other models' keys included: the walk takes
// about one round trip per 1000 keys of the server.
// Then it walks every x:i key of every shard in chunks (lua/sweep.lua,
// mode "idx") and removes members x:rev does not back (left by an index
// that was dropped and declared again, or by writes that bypassed rapyer)
// and those of dead objects. Index keys of fields that are no longer
// indexed are removed (UNLINK), and so are their mentions in x:rev; with
// no index declared at all, every index key of the model goes. Run it once
// every process runs the new schema: a process still indexing a dropped
// field would write its entries again.
//
// Each object is one atomic script, so Reindex is safe while writes
// continue (they maintain the indexes themselves). An object whose unique
// field holds a value another live object already holds in the index
// (duplicates that existed before the Unique was declared) gets every
// entry but that one, and Reindex carries on; at the end it returns the
// count with a *UniqueError (wrapping ErrExists) listing each such object,
// field and value. Resolve them (change or delete the duplicates) and run
// Reindex again.
//
// Objects stored under another shard count (WithShards changed) are not
// reachable by the model and are left alone. Reindex does not touch TTLs.
// On a cluster, for a model with a Unique field over several shards,
// each chunk's unique values are read and claimed first, the claims
// confirmed after (three more round trips per chunk, claim.go); a value
// another object holds is a conflict.
// It cannot be queued in a Batch or Tx (ErrInvalid). Under WithWait a
// write not acknowledged by enough replicas does not stop it: it does all
// its work and returns ErrNotReplicated at the end (joined with a
// *UniqueError when there are conflicts). Errors: *UniqueError,
// ErrInvalid (nil Store), the network's and the context's, returned with
// the count so far. Progress reports the objects reindexed so far (the
// total is not known until the end).
func (s *Schema[M, P]) Reindex(ctx context.Context, st *Store, opts ...ManyOption) (ores int, oerr error) {
	ctx, o := st.begin(ctx, "Reindex", s.sc.name, "")
	defer func() {
		o.count(ores)
		o.end(oerr)
	}()
	const op = "Reindex"
	sc := s.sc
	if st == nil {
		return 0, &Error{Op: op, Model: sc.name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	cfg := manyOptions(opts)
	declared := make(map[string]bool, len(sc.idx))
	for _, sp := range sc.idx {
		declared[sp.name] = true
	}
	prefix, n := st.cfg.prefix, sc.shardsOn(st)
	// key classifies a key SCAN found: an object of the model to reindex,
	// or an index key of a field no longer indexed (or, without indexes,
	// the model's x:rev and x:all) to drop.
	key := func(k string) (id string, drop bool) {
		if p, ok := parseKey(prefix, k); ok {
			// Without indexes there is nothing to index: only the
			// leftover index keys are dropped.
			if len(sc.idx) > 0 && p.kind == 'o' && p.model == sc.name && checkID(p.id) == nil && shardOf(p.id, n) == p.shard {
				return p.id, false
			}
			return "", false
		}
		shard, rest, ok := parseShardKey(prefix, sc.name, k)
		if !ok || int64(shard) >= int64(n) {
			return "", false
		}
		field, isIdx := strings.CutPrefix(rest, "x:i:")
		return "", isIdx && !declared[field] || len(sc.idx) == 0 && (rest == "x:rev" || rest == "x:all")
	}
	nodes, err := st.nodes()
	if err != nil {
		return 0, &Error{Op: op, Model: sc.name, Err: err}
	}
	walk := index.Walk{
		Nodes:    nodes,
		Pattern:  globEscape(prefix) + "{" + sc.name + ":*}:[ox]:*",
		Key:      key,
		Unit:     func(id string) ops.Unit { return sc.reindexUnit(st, id, nil) },
		Chunk:    cfg.chunk,
		Progress: cfg.progress,
	}
	var wl waitLog // a WAIT short of its count: reported at the end
	if probe := (&Model{st: st, sc: sc}); probe.claiming() {
		// Each shard's script checks its own shard: the chunk's unique
		// values are claimed across shards first (claim_maint.go).
		walk.Units = func(ctx context.Context, ids []string) ([]ops.Unit, func(bool), error) {
			return sc.reindexClaimed(ctx, st, ids, &wl)
		}
	}
	changed, conflicts, err := index.Reindex(ctx, wl.exec(st), sc.withKeys(sc.indexModel(), st), walk)
	if err != nil {
		return changed, &Error{Op: op, Model: sc.name, Err: indexErr(err)}
	}
	var short error
	if wl.first != nil {
		short = &Error{Op: op, Model: sc.name, Err: wl.first}
	}
	if len(conflicts) > 0 {
		e := &UniqueError{Model: sc.name, Conflicts: make([]UniqueConflict, len(conflicts))}
		for i, c := range conflicts {
			e.Conflicts[i] = UniqueConflict(c)
		}
		if short != nil {
			return changed, errors.Join(e, short)
		}
		return changed, e
	}
	return changed, short
}

// reindexUnit is lua/reindex.lua for object id: its hash, then the index
// section of every indexed field.
// skip lists field, sort key pairs to leave out as conflicts (claimed by
// another object on a cluster).
func (sc *schema) reindexUnit(st *Store, id string, skip []any) ops.Unit {
	m := &Model{}
	m.init(st, sc, id)
	extra, sec := m.indexSection(sc.idx)
	args := append(append([]any{"0", "1", len(skip) / 2}, skip...), sec...)
	return ops.ScriptUnit(lua.Reindex, m.withIndex(extra), args)
}

// UniqueConflict is one object Reindex left out of a unique index: another
// live object already held Value (the stored text) in Field's index.
type UniqueConflict struct {
	ID, Field, Value string
}

// UniqueError lists the objects Reindex could not enter in a unique index
// because another live object holds the same value; every other entry of
// theirs was made. It wraps ErrExists.
type UniqueError struct {
	Model     string
	Conflicts []UniqueConflict
}

func (e *UniqueError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rapyer: Reindex %s: %d unique values already held by another object, not indexed:", e.Model, len(e.Conflicts))
	for i, c := range e.Conflicts {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(e.Conflicts)-5)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		v := c.Value
		if len(v) > 60 {
			v = v[:60] + "..."
		}
		fmt.Fprintf(&b, " id=%s field %s value %s", quoteID(c.ID), c.Field, strconv.QuoteToGraphic(v))
	}
	return b.String()
}

func (e *UniqueError) Unwrap() error { return ErrExists }

// globEscape escapes the glob characters of s for SCAN MATCH.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`*?[]\`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseShardKey splits a key <prefix>{<model>:<shard>}:<rest> of model.
func parseShardKey(prefix, model, key string) (shard uint32, rest string, ok bool) {
	tail, ok := strings.CutPrefix(key, prefix+"{"+model+":")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(tail, "}:")
	if !ok {
		return 0, "", false
	}
	n, ok := parseShard(num)
	if !ok {
		return 0, "", false
	}
	return n, rest, true
}
