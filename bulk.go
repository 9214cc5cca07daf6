package rapyer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gomodule/redigo/redis"
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
	wait        waitSpec              // WithWait (wait.go)
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
	// Lean, each HGETALL's reply is decoded in place as it is read, where
	// the executor offers it (request.raw, called concurrently for
	// different objects on a cluster); a strict decode failure is kept
	// for the loop below, at its object's turn.
	var raw func(int, []byte) bool
	var rawErrs []error
	if lean {
		rawErrs = make([]error, len(ids))
		raw = func(i int, b []byte) bool {
			done, missing, err := objs[i].base().applyRaw(op, b, tolerant)
			switch {
			case !done:
			case err != nil:
				rawErrs[i] = err
			case missing:
				objs[i] = nil
			}
			return done
		}
	}
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
	res, err := st.exec(ctx, request{units: units, fill: fill, raw: raw, sent: func() {
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
			if _, ok := rs[0].(rawTaken); ok {
				if rawErrs[i] != nil {
					return nil, rawErrs[i]
				}
				continue // decoded, or found missing (nil)
			}
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

// manyStart begins SaveMany and InsertMany: objs checked and bound to one
// Store, the options read, the operation begun for the hooks (o). A nil
// Store means the call is over with err: bad input, or no objects (queued
// as nothing in a Batch or Tx).
func (s *Schema[M, P]) manyStart(ctx context.Context, op string, objs []P, opts []ManyOption) (context.Context, *Store, manyConfig, *opState, error) {
	cfg := manyOptions(opts)
	st, err := s.boundMany(op, objs)
	if err != nil || st == nil {
		if err == nil {
			_, err = queuedNone(ctx, op, s.sc.name, struct{}{})
		}
		return ctx, nil, cfg, nil, err
	}
	if ctx, err = st.perCall(ctx, cfg.wait); err != nil {
		return ctx, nil, cfg, nil, &Error{Op: op, Model: s.sc.name, Err: err}
	}
	ctx, o := st.begin(ctx, op, s.sc.name, "")
	o.count(len(objs))
	return ctx, st, cfg, o, nil
}

// DeleteMany removes the objects with the given ids (DEL of every key of
// each, or lua/delete.lua per object for a model with indexes; ChunkSize
// objects per round trip) and returns how many existed.
// Errors: ErrInvalid for a bad id or a nil Store (nothing sent).
//
// With a queue context (Batch, Tx) it is queued as one operation, every
// object in the queue's round trip; Later reads what it returns.
func (s *Schema[M, P]) DeleteMany(ctx context.Context, st *Store, ids []string, opts ...ManyOption) (_ int, oerr error) {
	ctx, o := st.begin(ctx, "DeleteMany", s.sc.name, "")
	o.count(len(ids))
	defer func() { o.end(oerr) }()
	const op = "DeleteMany"
	cfg := manyOptions(opts)
	if err := s.sc.needStore(op, st); err != nil {
		return 0, err
	}
	ctx, err := st.perCall(ctx, cfg.wait)
	if err != nil {
		return 0, &Error{Op: op, Model: s.sc.name, Err: err}
	}
	if err := s.checkIDs(op, ids); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		_, err := queuedNone(ctx, op, s.sc.name, 0)
		return 0, err
	}
	oneChunkQueued(ctx, &cfg, len(ids))
	total := 0
	err = chunks(ids, cfg.chunk, func(_ int, part []string) error {
		n, err := s.deleteChunk(ctx, st, part)
		total += n
		return err
	})
	return total, err
}

// deleteChunk deletes the objects of ids in one round trip (or queues
// that as one call) and counts those that existed: per object, DEL of its
// hash (whose reply says whether it existed) then DEL of its containers,
// each command in the object's slot, all in one unit; with indexes,
// lua/delete.lua per object, which removes its index entries too.
func (s *Schema[M, P]) deleteChunk(ctx context.Context, st *Store, ids []string) (int, error) {
	const op = "DeleteMany"
	var units []ops.Unit
	var ms []*Model
	var pos []int // without indexes: the hash DEL of each object
	if len(s.sc.idx) > 0 {
		for _, id := range ids {
			m := s.bare(st, id)
			ms, units = append(ms, m), append(units, m.deleteUnit())
		}
	} else {
		cmds := make([]ops.Cmd, 0, 2*len(ids))
		for _, id := range ids {
			m := s.bare(st, id)
			pos = append(pos, len(cmds))
			cmds = append(cmds, ops.Cmd{Name: "DEL", Args: []any{m.key[0]}})
			if len(m.keys()) > 1 {
				rest := make([]any, 0, len(m.keys())-1)
				for _, k := range m.keys()[1:] {
					rest = append(rest, k)
				}
				cmds = append(cmds, ops.Cmd{Name: "DEL", Args: rest})
			}
			if len(ms) == 0 {
				ms = []*Model{m}
			}
		}
		units = []ops.Unit{{Cmds: cmds}}
	}
	return sendMany(ctx, st, op, s.sc.name, ms, units, func(res []ops.Result, err error) (int, error) {
		if err != nil {
			return 0, &Error{Op: op, Model: s.sc.name, Err: err}
		}
		n := 0
		if pos != nil {
			if err := res[0].Err; err != nil {
				return 0, &Error{Op: op, Model: s.sc.name, Err: scriptError(err)}
			}
			for _, p := range pos {
				k, _ := redis.Int(res[0].Replies[p], nil)
				n += k
			}
			return n, nil
		}
		for i, r := range res {
			if r.Err != nil {
				return n, &Error{Op: op, Model: s.sc.name, ID: ids[i], Err: scriptError(r.Err)}
			}
			k, _ := redis.Int(r.Replies[0], nil)
			n += k
		}
		return n, nil
	})
}

// ExistsMany reports, for each id in order, whether its object exists
// (EXISTS, plus PEXPIRE of its keys when the model refreshes TTLs, as
// Exists does), ChunkSize ids per round trip. Errors: ErrInvalid for a bad
// id or a nil Store (nothing sent).
//
// With a queue context (Batch, Tx) it is queued as one operation, every
// object in the queue's round trip; Later reads what it returns.
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
	if len(ids) == 0 {
		_, err := queuedNone(ctx, op, s.sc.name, []bool{})
		return []bool{}, err
	}
	oneChunkQueued(ctx, &cfg, len(ids))
	out := make([]bool, 0, len(ids))
	err := chunks(ids, cfg.chunk, func(_ int, part []string) error {
		var cmds []ops.Cmd
		pos := make([]int, len(part))
		var first *Model
		for i, id := range part {
			m := s.bare(st, id)
			if first == nil {
				first = m
			}
			pos[i] = len(cmds)
			cmds = append(cmds, ops.Cmd{Name: "EXISTS", Args: []any{m.key[0]}})
			cmds = append(cmds, m.refreshCmds()...)
		}
		got, err := sendMany(ctx, st, op, s.sc.name, []*Model{first}, []ops.Unit{{Cmds: cmds, Read: true}}, func(res []ops.Result, err error) ([]bool, error) {
			if err == nil {
				err = res[0].Err
			}
			if err != nil {
				return nil, &Error{Op: op, Model: s.sc.name, Err: scriptError(err)}
			}
			part := make([]bool, len(pos))
			for i, p := range pos {
				n, _ := redis.Int(res[0].Replies[p], nil)
				part[i] = n == 1
			}
			return part, nil
		})
		out = append(out, got...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
