package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// InsertMany creates every object, all or nothing: when any of their ids
// exists, nothing is written and the error wraps ErrExists naming the first
// such id. Up to ChunkSize objects this is one script (lua/insertmany.lua),
// one round trip, atomic. Beyond, a first pass checks every id (pipelined
// TYPE, one round trip per chunk) and then each chunk is one atomic
// script; an object inserted by another client between the check and its
// chunk fails that chunk alone (ErrExists), leaving earlier chunks written.
// The same id twice in objs is ErrInvalid. The TTL is set as Insert sets it.
// With indexes, the same script keeps every object's index entries and
// refuses the whole chunk when a unique value is taken, by a live object or
// by another object of the chunk (beyond one chunk the first pass checks ids
// only, so such a conflict fails its own chunk, after earlier ones).
//
// On a cluster a script stays in one hash slot: objects of several shards
// are checked first (as beyond one chunk), then each chunk is one script
// per shard, the shards' scripts sent per node concurrently: two round
// trips, all or nothing per shard. Objects of one shard (a model of one
// shard, or ids made by NewBeside) are one script, one round trip, as on
// one server.
//
// With a queue context (Batch, Tx) it is queued as one operation, every
// object in the queue's round trip; Later reads what it returns.
func (s *Schema[M, P]) InsertMany(ctx context.Context, objs []P, opts ...ManyOption) error {
	return s.insertMany(ctx, objs, opts, false)
}

// insertMany is InsertMany; fresh says every id was just generated
// (DuplicateMany's UUIDv7s), so that no object can exist yet and the
// first pass checking ids is skipped.
func (s *Schema[M, P]) insertMany(ctx context.Context, objs []P, opts []ManyOption, fresh bool) (oerr error) {
	const op = "InsertMany"
	ctx, st, cfg, o, err := s.manyStart(ctx, op, objs, opts)
	if err != nil || st == nil {
		return err
	}
	defer func() { o.end(oerr) }()
	seen := make(map[string]bool, len(objs))
	for _, p := range objs {
		m := p.base()
		if seen[m.key[0]] {
			return m.fail(op, fmt.Errorf("%w: id given twice", ErrInvalid))
		}
		seen[m.key[0]] = true
	}
	oneChunkQueued(ctx, &cfg, len(objs))
	if !fresh && (len(objs) > cfg.chunk || st.cl != nil && queueOf(ctx) == nil && severalSlots(objs)) {
		if err := s.noneExists(ctx, st, objs, cfg.chunk); err != nil {
			return err
		}
	}
	ms := make([]*Model, len(objs))
	for i, p := range objs {
		ms[i] = p.base()
	}
	claims, cshort, err := s.claimInsert(ctx, st, op, ms)
	if err != nil {
		return err
	}
	if claims == nil || queueOf(ctx) != nil {
		// Queued, each unit carries its objects' claims, made and settled
		// with the queue's (claim_queue.go).
		return chunks(objs, cfg.chunk, s.insertChunkOf(ctx, st, op, ms, claims))
	}
	insertChunk := s.insertChunkOf(ctx, st, op, nil, nil)
	// Each claim is settled by its object's outcome: confirmed when its
	// chunk was written, released when its chunk was not sent or its one
	// script (one slot) refused it, left pending when a chunk of several
	// slots failed (a part of it may have been written) or its outcome is
	// unknown (a network error).
	werrs := make([]error, len(objs))
	at := make(map[*Model]int, len(objs))
	for i, m := range ms {
		at[m], werrs[i] = i, errNotWritten
	}
	defer func() { st.settleEach(ctx, claims, werrs) }()
	err = chunks(objs, cfg.chunk, func(i int, part []P) error {
		err := insertChunk(i, part)
		hard, _ := shortOf(err) // a WAIT short of its count: written
		whole := hard != nil && refused(hard) && !severalSlots(part)
		for _, p := range part {
			werrs[at[p.base()]] = hard
			if hard != nil && !whole {
				werrs[at[p.base()]] = errUnknown
			}
		}
		return err
	})
	if err == nil && cshort != nil { // written; the claims not known replicated
		return &Error{Op: op, Model: s.sc.name, Err: cshort}
	}
	return err
}

// errUnknown is the outcome of a write that may or may not have run: its
// claims stay pending (settleEach).
var errUnknown = errors.New("rapyer: outcome unknown")

// claimInsert claims the unique values of InsertMany's objects (claim.go;
// nil claims when the model does not claim), all or nothing: a value
// given twice, or taken, refuses the whole call with ErrExists naming the
// object, field and value, the claims taken released and nothing written.
// short is a WAIT short of its count on the claims (they stand). With a
// queue context only a value given twice is checked: the claims come back
// untaken (claimMany).
func (s *Schema[M, P]) claimInsert(ctx context.Context, st *Store, op string, ms []*Model) (claims [][]*claim, short, err error) {
	if len(ms) == 0 || !ms[0].claiming() {
		return nil, nil, nil
	}
	seen := map[string]*Model{}
	for _, m := range ms {
		cs, err := m.claimsOf(op, s.sc.idx)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cs {
			k := c.field + "\x00" + c.sk
			if first, dup := seen[k]; dup {
				return nil, nil, m.fail(op, fmt.Errorf("%w: unique field %s: value %s given twice (objects %s and %s); nothing was written", ErrExists, c.field, c.text, first.id, m.id))
			}
			seen[k] = m
		}
	}
	claims, refusedBy, short, err := st.claimMany(ctx, op, ms)
	if err != nil {
		return nil, nil, manyErr(op, s.sc.name, err)
	}
	if e := firstErr(refusedBy); e != nil {
		st.settleEach(ctx, claims, werrsOr(make([]error, len(ms)), errNotWritten))
		return nil, nil, fmt.Errorf("%w; nothing was written", e)
	}
	return claims, short, nil
}

// severalSlots reports whether objs' keys are in more than one hash slot.
func severalSlots[P interface{ base() *Model }](objs []P) bool {
	for _, p := range objs[1:] {
		if slotOf(p.base().key[0]) != slotOf(objs[0].base().key[0]) {
			return true
		}
	}
	return false
}

// bySlot runs fn on objs as one group on one server; on a cluster, once per
// hash slot (shard) among them, in order of first appearance: a script
// may not span slots there.
func bySlot[P interface{ base() *Model }](st *Store, objs []P, fn func(group []P) error) error {
	if st.cl == nil {
		return fn(objs)
	}
	var order []int
	groups := map[int][]P{}
	for _, p := range objs {
		sl := slotOf(p.base().key[0])
		if _, ok := groups[sl]; !ok {
			order = append(order, sl)
		}
		groups[sl] = append(groups[sl], p)
	}
	for _, sl := range order {
		if err := fn(groups[sl]); err != nil {
			return err
		}
	}
	return nil
}

// insertChunkOf is InsertMany's work on one chunk: one lua/insertmany.lua
// call per hash slot among its objects (one on one server), sent in one
// request (per node, concurrently, on a cluster). Queued, each call
// carries the claims of its objects (claims[i] those of ms[i]), all or
// nothing for the whole InsertMany.
func (s *Schema[M, P]) insertChunkOf(ctx context.Context, st *Store, op string, ms []*Model, claims [][]*claim) func(_ int, part []P) error {
	claimsOf := make(map[*Model][]*claim, len(claims))
	for i, cs := range claims {
		claimsOf[ms[i]] = cs
	}
	return func(_ int, part []P) error {
		var groups [][]P
		_ = bySlot(st, part, func(g []P) error { groups = append(groups, g); return nil })
		units := make([]ops.Unit, len(groups))
		for g, group := range groups {
			u, err := s.insertUnit(op, group)
			if err != nil {
				return err
			}
			units[g] = u
		}
		heads := make([]*Model, len(groups))
		uc := unitClaims{whole: true}
		for g := range groups {
			heads[g] = groups[g][0].base()
			if len(claimsOf) > 0 {
				var cs []*claim
				for _, p := range groups[g] {
					cs = append(cs, claimsOf[p.base()]...)
				}
				uc.per = append(uc.per, cs)
			}
		}
		// One script per slot (one on one server), sent per node
		// concurrently; queued whole in a Batch or Tx.
		_, err := sendClaimed(ctx, st, op, s.sc.name, heads, units, uc, func(res []ops.Result, err error) (struct{}, error) {
			if err != nil {
				return struct{}{}, &Error{Op: op, Model: s.sc.name, Err: err}
			}
			for g := range res {
				if err := res[g].Err; err != nil {
					var claimed *Error
					if errors.As(err, &claimed) { // a claim refused (queued): nothing sent
						return struct{}{}, fmt.Errorf("%w; nothing was written", err)
					}
					part := groups[g]
					err = scriptError(err)
					var ce *causeError
					if asCause(err, &ce) && ce.sentinel == ErrExists {
						pos, why, _ := strings.Cut(ce.msg, " ")
						if i, perr := strconv.Atoi(pos); perr == nil && i >= 1 && i <= len(part) {
							return struct{}{}, part[i-1].base().fail(op, fmt.Errorf("%w: %s; nothing was written", ErrExists, why))
						}
					}
					return struct{}{}, &Error{Op: op, Model: s.sc.name, Err: err}
				}
			}
			for _, p := range part {
				p.base().version = 1
			}
			return struct{}{}, nil
		})
		return err
	}
}

// insertUnit is the lua/insertmany.lua call that creates part, objects of
// one slot.
func (s *Schema[M, P]) insertUnit(op string, part []P) (ops.Unit, error) {
	var keys, idxKeys []string
	ttl := part[0].base().ttlArg()
	nobj := 0
	for _, p := range part {
		nobj += len(p.base().keys())
	}
	args := []any{ttl, len(part)}
	for _, p := range part {
		m := p.base()
		pairs, _, err := m.encodeFields(op, m.fields, []any{metaVersion, 1}, nil)
		if err != nil {
			return ops.Unit{}, err
		}
		blocks, err := m.blocks(op, m.containers())
		if err != nil {
			return ops.Unit{}, err
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
	return ops.ScriptUnit(lua.InsertMany, append(keys, idxKeys...), args), nil
}

// noneExists checks, chunk by chunk, that no object of objs exists yet: a
// pipelined TYPE of each hash, "hash" an existing object (ErrExists),
// another type a key the script would refuse too (ErrWrongType).
func (s *Schema[M, P]) noneExists(ctx context.Context, st *Store, objs []P, chunk int) error {
	return chunks(objs, chunk, func(_ int, part []P) error {
		cmds := make([]ops.Cmd, len(part))
		for i, p := range part {
			cmds[i] = ops.Cmd{Name: "TYPE", Args: []any{p.base().key[0]}}
		}
		replies, err := st.pipe(ctx, false, cmds)
		if err != nil {
			return &Error{Op: "InsertMany", Model: s.sc.name, Err: err}
		}
		for i, r := range replies {
			switch t, _ := redis.String(r, nil); t {
			case "none":
			case "hash":
				return part[i].base().fail("InsertMany", fmt.Errorf("%w: nothing was written", ErrExists))
			default:
				return part[i].base().fail("InsertMany", fmt.Errorf("%w: key %s holds a %s, not a hash; nothing was written", ErrWrongType, part[i].base().key[0], t))
			}
		}
		return nil
	})
}
