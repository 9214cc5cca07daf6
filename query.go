package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/ops"
)

// QueryOption changes what a query (Find, FindOne, FindIDs, Count,
// DeleteWhere, Iter) returns: order (OrderBy, Asc, Desc), window (Limit,
// Offset), whether a query no index drives may read every object (Scan),
// and Iter's PageSize. Options a query has no use for are ignored.
type QueryOption interface{ applyQuery(*queryConfig) }

type queryConfig struct {
	order  Field // nil: by id
	desc   bool
	limit  int // -1: every match
	offset int
	scan   bool
	page   int
	err    error
	// tolerant: objects load as Tolerant says (see Find)
	tolerant bool
	among    []string              // Among's ids; nil: not given
	chunk    int                   // DeleteWhere's, ChunkSize (progress.go)
	progress func(done, total int) // Progress (progress.go)
	after    *string               // After's cursor (cursor.go)
}

type queryOptionFunc func(*queryConfig)

func (f queryOptionFunc) applyQuery(c *queryConfig) { f(c) }

// OrderBy sorts results by field f (a handle of Schema.Fields' probe),
// ascending, or descending with desc; f must be indexed (ErrInvalid
// otherwise). Ties are ordered by id, and descending order is the exact
// reverse of ascending, ties included. Objects in which f is absent come
// first in ascending order (last in descending). Without OrderBy, results
// are ordered by id (byte order). The order is the same whatever the shard
// count.
func OrderBy(f Field, desc bool) QueryOption {
	return queryOptionFunc(func(c *queryConfig) { c.order, c.desc = f, desc })
}

// Asc is OrderBy(f, false).
func Asc(f Field) QueryOption { return OrderBy(f, false) }

// Desc is OrderBy(f, true).
func Desc(f Field) QueryOption { return OrderBy(f, true) }

// Limit returns at most n results (after Offset); Limit(0) returns none.
// Without it every match is returned: there is no implicit cap. Each shard
// returns at most Offset+Limit ids. n < 0 is ErrInvalid.
func Limit(n int) QueryOption {
	return queryOptionFunc(func(c *queryConfig) {
		if n < 0 {
			c.err = fmt.Errorf("%w: Limit(%d)", ErrInvalid, n)
		}
		c.limit = n
	})
}

// Offset skips the first n results (in the query's order). Each shard
// still returns Offset+Limit ids, so deep offsets cost; Iter pages with a
// cursor instead. n < 0 is ErrInvalid.
func Offset(n int) QueryOption {
	return queryOptionFunc(func(c *queryConfig) {
		if n < 0 {
			c.err = fmt.Errorf("%w: Offset(%d)", ErrInvalid, n)
		}
		c.offset = n
	})
}

// Scan allows a query that no index can drive: its candidates are then
// every object of the model (the shard's x:all), each checked against the
// predicate on the server. Without Scan such a query is ErrInvalid naming
// the fields that would need Index(). A query an index can drive uses the
// index even with Scan.
//
// On a model without any index, Scan is what makes queries work at all:
// Find(ctx, st, All(), Scan()) and any other predicate. There is no x:all
// to read, so the objects are found by SCAN over the server's keys (COUNT
// 1000 per round trip) and, unless the predicate is All, each candidate's
// fields are read (HMGET) and checked in Go: O(keys of the server), the
// matches held in memory, in id order as usual (OrderBy needs an index).
func Scan() QueryOption { return queryOptionFunc(func(c *queryConfig) { c.scan = true }) }

// DefaultPageSize is how many objects Iter reads per page unless PageSize
// says otherwise.
const DefaultPageSize = 500

// PageSize sets how many objects Iter reads per page (one query round trip
// and one load round trip per page); default DefaultPageSize. Other
// queries ignore it. n < 1 is ErrInvalid.
func PageSize(n int) QueryOption {
	return queryOptionFunc(func(c *queryConfig) {
		if n < 1 {
			c.err = fmt.Errorf("%w: PageSize(%d)", ErrInvalid, n)
		}
		c.page = n
	})
}

// queryLoadChunk is how many objects Find loads per round trip: one round
// trip for usual results, and a bounded reply buffer on the server for
// huge ones.
const queryLoadChunk = 10_000

// Fields returns a probe object of the model: an unbound object whose
// handles carry the schema's field names, for building predicates
// (q.Age.Gt(30)) and naming sort fields (Desc(&q.Age)). It is bound to no
// Store: its I/O methods return ErrUnbound. No I/O; make one and keep it
// (it is read only, safe to share between goroutines).
func (s *Schema[M, P]) Fields() P {
	p := P(new(M))
	m := p.base()
	m.sc = s.sc
	i := 0
	for _, f := range s.def(p) {
		m.collect(f, &i)
	}
	return p
}

// plan is a checked query: the engine's plan, with what the root adds
// (the operation's name for errors, the model, Iter's page size).
type plan struct {
	*index.Plan
	op       string
	sc       *schema
	m        *index.Model // its Shards are filled in by checkRun
	page     int
	tolerant bool
	among    []string // Among's ids (see findAmong); nil: a query on the indexes
	exec     index.Exec
	// keyScan: a model without indexes, queried with Scan (scan.go);
	// scanned holds its matches once read, st the Store it reads.
	keyScan  bool
	scanned  []index.Hit
	st       *Store
	chunk    int                   // DeleteWhere's
	progress func(done, total int) // DeleteWhere's
	after    *index.Hit            // After's position (Iter, Page)
}

// compile checks pred and opts for model sc (nothing is sent).
func compile(op string, sc *schema, pred Pred, opts []QueryOption) (*plan, error) {
	fail := func(err error) (*plan, error) { return nil, &Error{Op: op, Model: sc.name, Err: err} }
	cfg := queryConfig{limit: -1, page: DefaultPageSize, chunk: DefaultChunk}
	for _, o := range opts {
		if o != nil {
			o.applyQuery(&cfg)
		}
	}
	switch {
	case cfg.err != nil:
		return fail(cfg.err)
	case cfg.among != nil && op != "Find" && op != "FindOne":
		return fail(fmt.Errorf("%w: Among works with Find and FindOne only", ErrInvalid))
	case len(sc.idx) == 0 && cfg.among == nil && !cfg.scan:
		return fail(fmt.Errorf("%w: model %q has no indexed field: pass Scan() to check every object (a SCAN of the keyspace, O(keys)), Among(ids...) to check given objects, or give a field Index() or Unique()", ErrInvalid, sc.name))
	}
	// Among's objects are checked in Go: no index needs to drive it.
	q := index.Query{Desc: cfg.desc, Limit: cfg.limit, Offset: cfg.offset, Scan: cfg.scan || cfg.among != nil}
	if cfg.order != nil {
		b, ok := cfg.order.(binder)
		if !ok || b.model() == nil || b.model().sc != sc || b.fullName() == "" {
			return fail(fmt.Errorf("%w: OrderBy takes a scalar handle of this model's Fields()", ErrInvalid))
		}
		q.Order = b.fullName()
	}
	m := sc.indexModel()
	p, err := index.Compile(m, index.Pred(pred), q)
	if err != nil {
		return fail(indexErr(err))
	}
	after, err := decodeAfter(sc.name, q.Order, q.Desc, cfg.after)
	if err != nil {
		return fail(err)
	}
	return &plan{Plan: p, op: op, sc: sc, m: m, page: cfg.page, tolerant: cfg.tolerant, among: cfg.among, keyScan: len(sc.idx) == 0 && cfg.among == nil,
		chunk: cfg.chunk, progress: cfg.progress, after: after}, nil
}

// indexModel describes the model's indexes to the engine, without the
// shards' keys (see withKeys).
func (sc *schema) indexModel() *index.Model {
	m := &index.Model{Name: &sc.name, Fields: make([]index.Field, len(sc.idx))}
	for i, x := range sc.idx {
		m.Fields[i] = index.Field{Name: x.name, Kind: x.kind, Unique: x.unique}
	}
	return m
}

// withKeys fills in m's shards: their keys under the Store's prefix.
func (sc *schema) withKeys(m *index.Model, st *Store) *index.Model {
	prefix := st.cfg.prefix
	nn, n := sc.layout(st)
	m.Shards = make([]index.Shard, nn)
	for s := range m.Shards {
		shard := uint32(s)
		sh := &m.Shards[s]
		sh.Objects = shardPrefix(prefix, sc.name, shard, n) + "o:"
		sh.Index = make([]string, len(sc.idx))
		for i, x := range sc.idx {
			sh.Index[i] = indexKey(prefix, sc.name, shard, n, x.name)
		}
		sh.Rev, sh.All = revKey(prefix, sc.name, shard, n), allKey(prefix, sc.name, shard, n)
	}
	return m
}

// indexExec is st's executor as the engine takes it, with script errors
// mapped to the root's sentinels.
func indexExec(st *Store) index.Exec {
	return func(ctx context.Context, units []ops.Unit) ([]ops.Result, error) {
		res, err := st.exec(ctx, request{units: units})
		for i := range res {
			if res[i].Err != nil {
				res[i].Err = scriptError(res[i].Err)
			}
		}
		return res, err
	}
}

// checkRun refuses what cannot run: a queue context (queries are not
// queueable) or a nil Store; then it binds the plan to st.
func (p *plan) checkRun(ctx context.Context, st *Store) error {
	switch {
	case st == nil:
		return &Error{Op: p.op, Model: p.sc.name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	case queueOf(ctx) != nil:
		return &Error{Op: p.op, Model: p.sc.name, Err: fmt.Errorf("%w: queries cannot be queued in a Batch or Tx", ErrInvalid)}
	}
	p.sc.withKeys(p.m, st)
	p.exec = indexExec(st)
	p.st = st
	return nil
}

// fail wraps an error of the engine or the executor for the operation.
func (p *plan) fail(err error) error { return &Error{Op: p.op, Model: p.sc.name, Err: indexErr(err)} }

// search runs the query on every shard (one round trip) and returns the
// merged matches in output order, Offset and Limit applied (want: the
// per-shard count; 0 for all). Mode index.ModeLoad (Find of every match,
// whose load drops dead objects itself) skips the liveness check of
// candidates nothing else reads.
func (p *plan) search(ctx context.Context, mode string, want, offset, limit int, after *index.Hit) ([]index.Hit, error) {
	if p.keyScan {
		all, err := p.scanHits(ctx, p.st)
		if err != nil {
			return nil, p.fail(err)
		}
		return p.Window(append([]index.Hit(nil), all...), offset, limit, after), nil
	}
	hits, err := p.Search(ctx, p.exec, mode, want, offset, limit, after)
	if err != nil {
		return nil, p.fail(err)
	}
	return hits, nil
}

// load reads the objects of hits, queryLoadChunk per round trip, in order;
// objects gone since the query are left out. With tolerant, fields that do
// not decode load absent (LoadErrors), and objects that cannot be read at
// all are left out too, each reported in bad.
func (s *Schema[M, P]) load(ctx context.Context, st *Store, op string, hits []index.Hit, tolerant bool, bad *[]error) ([]P, error) {
	out := make([]P, 0, len(hits))
	if !tolerant {
		bad = nil
	}
	err := chunks(hits, queryLoadChunk, func(_ int, part []index.Hit) error {
		ids := make([]string, len(part))
		for i, h := range part {
			ids[i] = h.ID
		}
		objs, err := s.loadIDs(ctx, st, op, ids, tolerant, bad)
		for _, p := range objs {
			if p != nil { // nil: deleted or expired since the query
				out = append(out, p)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Find returns the objects pred matches, every one of them unless Limit
// says otherwise (no implicit cap), in the order opts give (by id without
// OrderBy). Two round trips: one lua/query.lua call per shard, all shards
// pipelined together, then one pipelined load of the results (HGETALL per
// object plus its container reads, and the TTL refresh when the model
// refreshes on reads, as Get; one round trip per 10,000 objects).
//
// Plan: on each shard the script drives from the most selective index
// (the smallest ZLEXCOUNT among an And's indexed conjuncts; the union of an
// Or's branches; x:all for All), checks every live candidate against the
// rest of the predicate, skips dead ones (expired or deleted: their stale
// index entries are removed on the way) and returns at most Offset+Limit
// ids; Go merges the shards by sort key then id. A query with OrderBy on
// the field its driving index serves, and a Limit, reads that index in
// order and stops early. Predicates on fields without an index are
// filters: a query must have an indexed predicate to drive it (an And
// with one indexed conjunct, an Or whose every branch has one, or All), or
// Scan.
//
// The shards are not read at one instant, and the load is a second round
// trip: an object changed in between is returned as loaded (it may no
// longer match), one deleted or expired in between is left out. Queries
// cannot be queued in a Batch or Tx. Errors: ErrInvalid (a bad predicate
// or option, an OrderBy field without index, a query no index can drive
// without Scan, a model without indexes; nothing is sent), ErrDecode
// (stored data that does not decode), network and context errors.
func (s *Schema[M, P]) Find(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) (ores []P, oerr error) {
	ctx, o := st.begin(ctx, "Find", s.sc.name, "")
	defer func() {
		o.count(len(ores))
		o.end(oerr)
	}()
	p, err := compile("Find", s.sc, pred, opts)
	if err != nil {
		return nil, err
	}
	if err := p.checkRun(ctx, st); err != nil {
		return nil, err
	}
	if p.among != nil {
		return s.findAmong(ctx, st, p)
	}
	if p.None() {
		return nil, nil
	}
	mode := index.ModeFind
	if p.Limit < 0 && p.Offset == 0 {
		mode = index.ModeLoad // every match is loaded: the load drops the dead
	}
	hits, err := p.search(ctx, mode, index.Want(p.Offset, p.Limit), p.Offset, p.Limit, nil)
	if err != nil {
		return nil, err
	}
	var bad []error
	objs, err := s.load(ctx, st, "Find", hits, p.tolerant, &bad)
	if err != nil {
		return objs, err
	}
	if mode == index.ModeLoad && !p.keyScan && len(objs)+len(bad) < len(hits) {
		// The load met dead objects the query did not check: reclaim
		// their entries now (one more round trip, only when there are
		// some). It is housekeeping: a failure is logged, the result
		// stands.
		if err := s.reclaim(ctx, st, p.m, hits, objs, bad); err != nil {
			st.cfg.logger.Warn("rapyer: reclaiming index entries of dead objects", "model", s.sc.name, "err", err)
		}
	}
	if len(bad) > 0 {
		return objs, &SkippedError{Op: "Find", Model: s.sc.name, Errs: bad}
	}
	return objs, nil
}

// SkippedError lists the objects a Tolerant query left out because they
// could not be read at all (a key holding another Redis type); the query's
// other results are returned beside it. Each entry is an *Error naming the
// object. errors.Is and errors.As see every entry.
type SkippedError struct {
	Op    string
	Model string
	Errs  []error
}

func (e *SkippedError) Error() string {
	msg := fmt.Sprintf("rapyer: %s %s: %d unreadable objects left out", e.Op, e.Model, len(e.Errs))
	if len(e.Errs) > 0 {
		msg += "; first: " + strings.TrimPrefix(e.Errs[0].Error(), "rapyer: ")
	}
	return msg
}

// Unwrap returns every skipped object's error.
func (e *SkippedError) Unwrap() []error { return e.Errs }

// reclaim removes the index entries of the hits that did not load (dead
// objects), shard by shard in one round trip.
func (s *Schema[M, P]) reclaim(ctx context.Context, st *Store, m *index.Model, hits []index.Hit, loaded []P, bad []error) error {
	live := make(map[string]bool, len(loaded)+len(bad))
	for _, p := range loaded {
		live[p.base().id] = true
	}
	for _, err := range bad { // alive, though unreadable
		var e *Error
		if errors.As(err, &e) {
			live[e.ID] = true
		}
	}
	byShard := map[uint32][]string{}
	for _, h := range hits {
		if !live[h.ID] {
			sh := shardOf(h.ID, len(m.Shards))
			byShard[sh] = append(byShard[sh], h.ID)
		}
	}
	units := make([]ops.Unit, 0, len(byShard))
	for sh, ids := range byShard {
		units = append(units, m.ReclaimUnit(int(sh), ids))
	}
	res, err := st.exec(ctx, request{units: units})
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
				break
			}
		}
	}
	if err != nil {
		return &Error{Op: "Find", Model: s.sc.name, Err: scriptError(err)}
	}
	return nil
}

// FindOne returns the first object pred matches in the order opts give
// (Limit is replaced by 1; Offset applies): two round trips, as Find (when
// the object found is deleted or expires before its load, the query runs
// again, up to three times). Errors: ErrNotFound when nothing matches,
// else as Find.
func (s *Schema[M, P]) FindOne(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) (_ P, oerr error) {
	ctx, o := st.begin(ctx, "FindOne", s.sc.name, "")
	defer func() { o.end(oerr) }()
	p, err := compile("FindOne", s.sc, pred, append(opts[:len(opts):len(opts)], Limit(1)))
	if err != nil {
		return nil, err
	}
	if err := p.checkRun(ctx, st); err != nil {
		return nil, err
	}
	if p.among != nil {
		objs, err := s.findAmong(ctx, st, p)
		if len(objs) > 0 || err != nil {
			return first(objs), err
		}
	}
	// The match found may be gone by the load: query again (a few times).
	for try := 0; !p.None() && p.among == nil && try < 3; try++ {
		hits, err := p.search(ctx, index.ModeFind, index.Want(p.Offset, 1), p.Offset, 1, nil)
		if err != nil {
			return nil, err
		}
		if len(hits) == 0 {
			break
		}
		var bad []error
		objs, err := s.load(ctx, st, "FindOne", hits, p.tolerant, &bad)
		if err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			return nil, bad[0]
		}
		if len(objs) > 0 {
			return objs[0], nil
		}
	}
	return nil, &Error{Op: "FindOne", Model: s.sc.name, Err: ErrNotFound}
}

// FindIDs returns the ids of the objects pred matches, as Find orders and
// cuts them, in one round trip (the objects are not read, and their TTLs
// are not refreshed). Errors as Find.
func (s *Schema[M, P]) FindIDs(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) (ores []string, oerr error) {
	ctx, o := st.begin(ctx, "FindIDs", s.sc.name, "")
	defer func() {
		o.count(len(ores))
		o.end(oerr)
	}()
	p, err := compile("FindIDs", s.sc, pred, opts)
	if err != nil {
		return nil, err
	}
	if err := p.checkRun(ctx, st); err != nil || p.None() {
		return nil, err
	}
	hits, err := p.search(ctx, index.ModeFind, index.Want(p.Offset, p.Limit), p.Offset, p.Limit, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids, nil
}

// Count returns how many objects Find would return with the same
// predicate and options (Limit and Offset cut the count; the order does
// not matter), in one round trip: each shard checks its candidates, live
// ones only, and returns a number. Objects are not read, and their TTLs
// are not refreshed. Errors as Find.
func (s *Schema[M, P]) Count(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) (ores int, oerr error) {
	ctx, o := st.begin(ctx, "Count", s.sc.name, "")
	defer func() {
		o.count(ores)
		o.end(oerr)
	}()
	p, err := compile("Count", s.sc, pred, opts)
	if err != nil {
		return 0, err
	}
	if err := p.checkRun(ctx, st); err != nil || p.None() {
		return 0, err
	}
	if p.keyScan {
		hits, err := p.search(ctx, index.ModeCount, 0, p.Offset, p.Limit, nil)
		return len(hits), err
	}
	n, err := p.Count(ctx, p.exec)
	if err != nil {
		return 0, p.fail(err)
	}
	return n, nil
}
