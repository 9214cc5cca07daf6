package rapyer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// DefaultChunk is how many objects the bulk operations send per round trip
// unless ChunkSize says otherwise.
const DefaultChunk = 1000

// ManyOption changes how the bulk operations (SaveMany, InsertMany, GetMany,
// DeleteMany, ExistsMany) run. Tolerant is one too.
type ManyOption interface{ applyMany(*manyConfig) }

type manyConfig struct {
	chunk       int
	skipMissing bool
	load        loadConfig
	progress    func(done, total int) // Progress (progress.go)
}

type manyOptionFunc func(*manyConfig)

func (f manyOptionFunc) applyMany(c *manyConfig) { f(c) }

// ChunkSize sets how many objects a bulk operation sends per round trip
// (default DefaultChunk; values below 1 mean the default), and how many
// DeleteWhere finds and deletes per chunk. Memory in flight is bounded by
// one chunk's commands and replies.
func ChunkSize(n int) ChunkOption { return chunkOption(n) }

// SkipMissing makes GetMany leave ids that do not exist out of its result
// instead of reporting them with a *MissingError.
func SkipMissing() ManyOption {
	return manyOptionFunc(func(c *manyConfig) { c.skipMissing = true })
}

func manyOptions(opts []ManyOption) manyConfig {
	c := manyConfig{chunk: DefaultChunk}
	for _, o := range opts {
		if o != nil {
			o.applyMany(&c)
		}
	}
	return c
}

// MissingError reports the ids GetMany did not find. It wraps ErrNotFound.
type MissingError struct {
	Model string
	IDs   []string
}

func (e *MissingError) Error() string {
	quoted := make([]string, 0, min(len(e.IDs), 5))
	for _, id := range e.IDs[:min(len(e.IDs), 5)] {
		quoted = append(quoted, quoteID(id))
	}
	more := ""
	if len(e.IDs) > 5 {
		more = fmt.Sprintf(" and %d more", len(e.IDs)-5)
	}
	return fmt.Sprintf("rapyer: GetMany %s: not found: %s%s", e.Model, strings.Join(quoted, ", "), more)
}

func (e *MissingError) Unwrap() error { return ErrNotFound }

// chunks calls f with consecutive slices of at most n items of xs.
func chunks[T any](xs []T, n int, f func(start int, part []T) error) error {
	for start := 0; start < len(xs); start += n {
		if err := f(start, xs[start:min(start+n, len(xs))]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schema[M, P]) checkIDs(op string, ids []string) error {
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return &Error{Op: op, Model: s.sc.name, ID: id, Err: err}
		}
	}
	return nil
}

// GetMany loads the objects with the given ids, in the order given: each
// object as Get loads it (a consistent snapshot of its hash and containers,
// TTL refreshed when the model refreshes), ChunkSize objects per round trip.
// An id that does not exist gives a nil entry and, at the end, a
// *MissingError (wrapping ErrNotFound) listing every such id, beside the
// result; with SkipMissing those ids are left out and no error is returned.
// Other errors (ErrInvalid for a bad id or a nil Store, before anything is sent; ErrDecode
// unless Tolerant; the network) return no result.
func (s *Schema[M, P]) GetMany(ctx context.Context, st *Store, ids []string, opts ...ManyOption) (_ []P, oerr error) {
	ctx, o := st.begin(ctx, "GetMany", s.sc.name, "")
	o.count(len(ids))
	defer func() { o.end(oerr) }()
	const op = "GetMany"
	cfg := manyOptions(opts)
	if err := s.sc.needStore(op, st); err != nil {
		return nil, err
	}
	if err := s.checkIDs(op, ids); err != nil {
		return nil, err
	}
	out := []P{}
	var missing []string
	err := chunks(ids, cfg.chunk, func(_ int, part []string) error {
		objs, err := s.loadIDs(ctx, st, op, part, cfg.load.tolerant, nil)
		if err != nil {
			return err
		}
		if len(part) == len(ids) && !slices.Contains(objs, nil) {
			out = objs // one chunk, all found: no copy
			return nil
		}
		if len(out) == 0 {
			out = make([]P, 0, len(ids))
		}
		for i, p := range objs {
			if p == nil {
				missing = append(missing, part[i])
				if cfg.skipMissing {
					continue
				}
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 && !cfg.skipMissing {
		return out, &MissingError{Model: s.sc.name, IDs: missing}
	}
	return out, nil
}

// loadIDs loads the objects of ids in one round trip (each as Get loads
// it), in order, with nil for those that do not exist. The commands are
// sent from the objects' keys alone and flushed; the objects are made while
// the server answers, then filled from the replies.
//
// With bad set, an object that cannot be read at all (an error reply) is
// left nil and its error appended to *bad instead of failing the call.
func (s *Schema[M, P]) loadIDs(ctx context.Context, st *Store, op string, ids []string, tolerant bool, bad *[]error) ([]P, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]objKeys, len(ids))
	objs := make([]P, len(ids))
	// lean: each object is one HGETALL (no containers, no TTL refresh),
	// which loadUnit would say at greater cost.
	lean := s.sc.conts == 0 && !s.sc.loadRefreshes(st)
	var probe Model // keys only: enough for loadUnit
	heads := newShardHeads(st, s.sc)
	// The HGETALLs' arguments share one backing array. Lean, the call is
	// a few units of plain commands, one HGETALL per object, each unit
	// filled (keys made) just before it is written, so the server answers
	// the first while the client makes the rest: a load of many objects is
	// bound by the client's CPU. (Not one unit per object: a unit and a
	// result per object cost more than they help.)
	hgetall := make([]any, len(ids))
	var units []ops.Unit
	var fill func(int)
	if lean {
		cmds := make([]ops.Cmd, len(ids))
		units = make([]ops.Unit, (len(ids)+leanUnit-1)/leanUnit)
		for u := range units {
			units[u] = ops.Unit{Cmds: cmds[u*leanUnit : min((u+1)*leanUnit, len(ids))], Read: true}
		}
		fill = func(u int) {
			for i := u * leanUnit; i < min((u+1)*leanUnit, len(ids)); i++ {
				keys[i] = heads.keys(ids[i])
				hgetall[i] = keys[i].arg
				cmds[i] = ops.Cmd{Name: "HGETALL", Args: hgetall[i : i+1 : i+1]}
			}
		}
	} else {
		units = make([]ops.Unit, len(ids))
		for i, id := range ids {
			keys[i] = heads.keys(id)
			hgetall[i] = keys[i].arg
			probe.setKeys(st, s.sc, id, keys[i])
			units[i] = probe.loadUnit()
			// loadUnit's HGETALL takes the probe's own key slot: give each
			// unit its own.
			units[i].Cmds[0].Args = hgetall[i : i+1 : i+1]
		}
	}
	// The objects are made while the server answers.
	res, err := st.exec(ctx, request{units: units, fill: fill, sent: func() {
		var room []Field // one field list for all, unless each has its own
		if !s.sc.flat {
			room = make([]Field, 0, len(ids)*len(s.sc.argNames))
		}
		for i, id := range ids {
			objs[i] = s.instanceAt(st, id, keys[i], &room)
		}
	}})
	if err != nil {
		return nil, &Error{Op: op, Model: s.sc.name, Err: err}
	}
	for i, id := range ids {
		var rs []any
		var err error
		if lean {
			rep := res[i/leanUnit].Replies
			rs = rep[i%leanUnit : i%leanUnit+1]
			err = ops.FirstError(rs)
		} else {
			rs, err = res[i].Replies, res[i].Err
		}
		if err != nil {
			err = detail(op, s.sc.name, id, "", scriptError(err))
			if bad == nil {
				return nil, err
			}
			*bad = append(*bad, err)
			objs[i] = nil
			continue
		}
		if len(asSlice(rs[0])) == 0 {
			objs[i] = nil // missing
			continue
		}
		if err := objs[i].base().apply(op, rs, tolerant, true); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// leanUnit is how many HGETALLs one unit of a lean load holds.
const leanUnit = 64

func asSlice(r any) []any {
	v, _ := r.([]any)
	return v
}

// boundMany checks that every object is bound, to one Store, and returns it.
func (s *Schema[M, P]) boundMany(op string, objs []P) (*Store, error) {
	var st *Store
	for i, p := range objs {
		if p == nil {
			return nil, &Error{Op: op, Model: s.sc.name, Err: fmt.Errorf("%w: object %d is nil", ErrInvalid, i)}
		}
		m := p.base()
		if m.st == nil {
			return nil, &Error{Op: op, Model: s.sc.name, Err: fmt.Errorf("%w (object %d)", ErrUnbound, i)}
		}
		if st == nil {
			st = m.st
		} else if m.st != st {
			return nil, m.fail(op, fmt.Errorf("%w: object %d is bound to another Store", ErrInvalid, i))
		}
	}
	return st, nil
}

// SaveMany saves every object as Save does (each one atomic: its own
// MULTI/EXEC, or script), ChunkSize objects per round trip. A value that
// does not encode stops SaveMany with ErrInvalid naming object and field
// before its chunk is sent (earlier chunks are written). When the server
// refuses one object's commands (a key of the wrong type), the others of
// the chunk are still saved and the first such failure is returned, naming
// its object. Every object's Version is updated.
func (s *Schema[M, P]) SaveMany(ctx context.Context, objs []P, opts ...ManyOption) (oerr error) {
	const op = "SaveMany"
	cfg := manyOptions(opts)
	st, err := s.boundMany(op, objs)
	if err != nil || st == nil {
		return err
	}
	ctx, o := st.begin(ctx, op, s.sc.name, "")
	o.count(len(objs))
	defer func() { o.end(oerr) }()
	var first error
	err = chunks(objs, cfg.chunk, func(_ int, part []P) error {
		units := make([]ops.Unit, len(part))
		for i, p := range part {
			if units[i], err = p.base().saveUnit(op); err != nil {
				return err
			}
		}
		res, err := st.exec(ctx, request{units: units})
		if err != nil {
			return &Error{Op: op, Model: s.sc.name, Err: err}
		}
		for i, r := range res {
			m := part[i].base()
			if r.Err != nil {
				if first == nil {
					first = m.fail(op, scriptError(r.Err))
				}
				continue
			}
			m.version = units[i].Version(r.Replies)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return first
}

// InsertMany creates every object, all or nothing: when any of their ids
// exists, nothing is written and the error wraps ErrExists naming the first
// such id. Up to ChunkSize objects this is one script (lua/insertmany.lua),
// one round trip, atomic. Beyond, a first pass checks every id (pipelined
// EXISTS, one round trip per chunk) and then each chunk is one atomic
// script; an object inserted by another client between the check and its
// chunk fails that chunk alone (ErrExists), leaving earlier chunks written.
// The same id twice in objs is ErrInvalid. The TTL is set as Insert sets it.
// With indexes, the same script keeps every object's index entries and
// refuses the whole chunk when a unique value is taken, by a live object or
// by another object of the chunk (beyond one chunk the first pass checks ids
// only, so such a conflict fails its own chunk, after earlier ones).
func (s *Schema[M, P]) InsertMany(ctx context.Context, objs []P, opts ...ManyOption) (oerr error) {
	const op = "InsertMany"
	cfg := manyOptions(opts)
	st, err := s.boundMany(op, objs)
	if err != nil || st == nil {
		return err
	}
	ctx, o := st.begin(ctx, op, s.sc.name, "")
	o.count(len(objs))
	defer func() { o.end(oerr) }()
	seen := make(map[string]bool, len(objs))
	for _, p := range objs {
		m := p.base()
		if seen[m.key[0]] {
			return m.fail(op, fmt.Errorf("%w: id given twice", ErrInvalid))
		}
		seen[m.key[0]] = true
	}
	if len(objs) > cfg.chunk {
		if err := s.noneExists(ctx, st, objs, cfg.chunk); err != nil {
			return err
		}
	}
	return chunks(objs, cfg.chunk, func(_ int, part []P) error {
		var keys, idxKeys []string
		ttl := "0"
		if d := part[0].base().ttl(); d > 0 {
			ttl = ttlMillis(d)
		}
		nobj := 0
		for _, p := range part {
			nobj += len(p.base().keys())
		}
		args := []any{ttl, len(part)}
		for _, p := range part {
			m := p.base()
			pairs, _, err := m.encodeFields(op, m.fields, []any{metaVersion, 1}, nil)
			if err != nil {
				return err
			}
			blocks, err := m.blocks(op, m.containers())
			if err != nil {
				return err
			}
			n := 0
			for _, b := range blocks {
				n += len(b)
			}
			args = append(append(args, len(m.keys()), len(pairs)), pairs...)
			args = append(args, n)
			for _, b := range blocks {
				args = append(args, b...)
			}
			extra, sec := m.indexSectionAt(s.sc.idx, nobj+len(idxKeys))
			idxKeys = append(idxKeys, extra...)
			args = append(append(args, len(sec)), sec...)
			keys = append(keys, m.keys()...)
		}
		if _, err := st.eval(ctx, lua.InsertMany, append(keys, idxKeys...), args...); err != nil {
			err = scriptError(err)
			var ce *causeError
			if asCause(err, &ce) && ce.sentinel == ErrExists {
				pos, why, _ := strings.Cut(ce.msg, " ")
				if i, perr := strconv.Atoi(pos); perr == nil && i >= 1 && i <= len(part) {
					return part[i-1].base().fail(op, fmt.Errorf("%w: %s; nothing was written", ErrExists, why))
				}
			}
			return &Error{Op: op, Model: s.sc.name, Err: err}
		}
		for _, p := range part {
			p.base().version = 1
		}
		return nil
	})
}

// noneExists checks, chunk by chunk, that no object of objs exists yet.
func (s *Schema[M, P]) noneExists(ctx context.Context, st *Store, objs []P, chunk int) error {
	return chunks(objs, chunk, func(_ int, part []P) error {
		cmds := make([]ops.Cmd, len(part))
		for i, p := range part {
			cmds[i] = ops.Cmd{Name: "EXISTS", Args: []any{p.base().key[0]}}
		}
		replies, err := st.pipe(ctx, false, cmds)
		if err != nil {
			return &Error{Op: "InsertMany", Model: s.sc.name, Err: err}
		}
		for i, r := range replies {
			if n, _ := redis.Int64(r, nil); n > 0 {
				return part[i].base().fail("InsertMany", fmt.Errorf("%w: nothing was written", ErrExists))
			}
		}
		return nil
	})
}

// DeleteMany removes the objects with the given ids (DEL of every key of
// each, or lua/delete.lua per object for a model with indexes; ChunkSize
// objects per round trip) and returns how many existed.
// Errors: ErrInvalid for a bad id or a nil Store (nothing sent).
func (s *Schema[M, P]) DeleteMany(ctx context.Context, st *Store, ids []string, opts ...ManyOption) (_ int, oerr error) {
	ctx, o := st.begin(ctx, "DeleteMany", s.sc.name, "")
	o.count(len(ids))
	defer func() { o.end(oerr) }()
	const op = "DeleteMany"
	cfg := manyOptions(opts)
	if err := s.sc.needStore(op, st); err != nil {
		return 0, err
	}
	if err := s.checkIDs(op, ids); err != nil {
		return 0, err
	}
	total := 0
	err := chunks(ids, cfg.chunk, func(_ int, part []string) error {
		if len(s.sc.idx) > 0 {
			n, err := s.deleteIndexed(ctx, st, part)
			total += n
			return err
		}
		// Per object: DEL of its hash (whose reply says whether it
		// existed), then DEL of its containers: each command stays in the
		// object's slot.
		cmds := make([]ops.Cmd, 0, 2*len(part))
		pos := make([]int, len(part))
		for i, id := range part {
			m := s.bare(st, id)
			pos[i] = len(cmds)
			cmds = append(cmds, ops.Cmd{Name: "DEL", Args: []any{m.key[0]}})
			if len(m.keys()) > 1 {
				rest := make([]any, 0, len(m.keys())-1)
				for _, k := range m.keys()[1:] {
					rest = append(rest, k)
				}
				cmds = append(cmds, ops.Cmd{Name: "DEL", Args: rest})
			}
		}
		replies, err := st.pipe(ctx, false, cmds)
		if err != nil {
			return &Error{Op: op, Model: s.sc.name, Err: err}
		}
		for _, p := range pos {
			n, _ := redis.Int(replies[p], nil)
			total += n
		}
		return nil
	})
	return total, err
}

// deleteIndexed deletes the objects of ids of an indexed model with their
// index entries (lua/delete.lua per object, pipelined) and counts those that
// existed.
func (s *Schema[M, P]) deleteIndexed(ctx context.Context, st *Store, ids []string) (int, error) {
	units := make([]ops.Unit, len(ids))
	for i, id := range ids {
		units[i] = s.bare(st, id).deleteUnit()
	}
	res, err := st.exec(ctx, request{units: units})
	if err != nil {
		return 0, &Error{Op: "DeleteMany", Model: s.sc.name, Err: err}
	}
	n := 0
	for i, r := range res {
		if r.Err != nil {
			return n, &Error{Op: "DeleteMany", Model: s.sc.name, ID: ids[i], Err: scriptError(r.Err)}
		}
		k, _ := redis.Int(r.Replies[0], nil)
		n += k
	}
	return n, nil
}

// ExistsMany reports, for each id in order, whether its object exists
// (EXISTS, plus PEXPIRE of its keys when the model refreshes TTLs, as
// Exists does), ChunkSize ids per round trip. Errors: ErrInvalid for a bad
// id or a nil Store (nothing sent).
func (s *Schema[M, P]) ExistsMany(ctx context.Context, st *Store, ids []string, opts ...ManyOption) (_ []bool, oerr error) {
	ctx, o := st.begin(ctx, "ExistsMany", s.sc.name, "")
	o.count(len(ids))
	defer func() { o.end(oerr) }()
	const op = "ExistsMany"
	cfg := manyOptions(opts)
	if err := s.sc.needStore(op, st); err != nil {
		return nil, err
	}
	if err := s.checkIDs(op, ids); err != nil {
		return nil, err
	}
	out := make([]bool, 0, len(ids))
	err := chunks(ids, cfg.chunk, func(_ int, part []string) error {
		var cmds []ops.Cmd
		pos := make([]int, len(part))
		for i, id := range part {
			m := s.bare(st, id)
			pos[i] = len(cmds)
			cmds = append(cmds, ops.Cmd{Name: "EXISTS", Args: []any{m.key[0]}})
			cmds = append(cmds, m.refreshCmds()...)
		}
		replies, err := st.pipe(ctx, false, cmds)
		if err != nil {
			return &Error{Op: op, Model: s.sc.name, Err: err}
		}
		for _, p := range pos {
			n, _ := redis.Int(replies[p], nil)
			out = append(out, n == 1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
