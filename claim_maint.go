package rapyer

import (
	"context"
	"slices"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// uniqueSpecs lists the model's unique fields.
func (sc *schema) uniqueSpecs() []indexSpec {
	var out []indexSpec
	for _, sp := range sc.idx {
		if sp.unique {
			out = append(out, sp)
		}
	}
	return out
}

// reindexClaimed makes Reindex's calls for a chunk of ids of a model whose
// unique values are claimed (claim.go): each shard's script checks its own
// shard only, so the objects' unique values are read (one round trip) and
// claimed (claimAll) first; a value another object holds by its claim is
// passed to lua/reindex.lua as a conflict to leave out (while the object
// still holds that value). The function returned confirms the claims
// taken once the calls have run. A WAIT short of its count goes to wl
// (the walk goes on).
func (sc *schema) reindexClaimed(ctx context.Context, st *Store, ids []string, wl *waitLog) ([]ops.Unit, func(bool), error) {
	const op = "Reindex"
	uniq := sc.uniqueSpecs()
	names := make([]any, 0, 1+len(uniq))
	ms := make([]*Model, len(ids))
	reads := make([]ops.Unit, len(ids))
	for i, id := range ids {
		m := &Model{}
		m.init(st, sc, id)
		ms[i] = m
		names = append(names[:0], m.key[0])
		for _, u := range uniq {
			names = append(names, u.name)
		}
		reads[i] = ops.Unit{Cmds: []ops.Cmd{{Name: "HMGET", Args: slices.Clone(names)}}}
	}
	res, err := st.exec(ctx, request{units: reads})
	if err != nil {
		return nil, nil, err
	}
	var cs []*claim
	var owner []int
	for i, r := range res {
		if r.Err != nil {
			continue // the script reports what is wrong with the hash
		}
		vals, _ := redis.Values(r.Replies[0], nil)
		for j, u := range uniq {
			if j >= len(vals) || vals[j] == nil {
				continue
			}
			b, _ := redis.Bytes(vals[j], nil)
			if c := ms[i].claimOf(u, b); c != nil {
				cs, owner = append(cs, c), append(owner, i)
			}
		}
	}
	skips := make([][]any, len(ids))
	if len(cs) > 0 {
		errs, short, err := st.claimAll(ctx, op, cs)
		wl.keep(short)
		if err != nil {
			st.settle(ctx, cs, errNotWritten)
			return nil, nil, err
		}
		// Left out only for an owner found holding the value: a claim
		// pending for a write under way may yet fail, and the script
		// checks the object's own shard anyway.
		for k, e := range errs {
			if e != nil && cs[k].heldBy != "" {
				skips[owner[k]] = append(skips[owner[k]], cs[k].field, cs[k].sk)
			}
		}
	}
	units := make([]ops.Unit, len(ids))
	for i, id := range ids {
		units[i] = sc.reindexUnit(st, id, skips[i])
	}
	return units, func(ok bool) {
		werr := errUnknown
		if ok {
			werr = nil
		}
		st.settle(ctx, cs, werr)
	}, nil
}

// sweepClaims is Sweep's pass over the claim keys of a model whose unique
// values are claimed: every record (HGETALL of each claim key, one round
// trip) whose owner does not hold the value (one HGET each, one round
// trip) is dropped when it is confirmed or older than the lease
// (lua/claim.lua's drop, which checks the record unchanged: one round
// trip). It returns how many records it dropped. A WAIT short of its
// count on the drops goes to wl.
func (sc *schema) sweepClaims(ctx context.Context, st *Store, wl *waitLog) (int, error) {
	uniq := sc.uniqueSpecs()
	reads := make([]ops.Unit, 0, len(uniq)*claimBuckets)
	var keys []string
	var specs []indexSpec
	for _, u := range uniq {
		for b := uint32(0); b < claimBuckets; b++ {
			key := claimKeyAt(st.cfg.prefix, sc.name, u.name, b)
			reads = append(reads, ops.Unit{Cmds: []ops.Cmd{{Name: "HGETALL", Args: []any{key}}}})
			keys, specs = append(keys, key), append(specs, u)
		}
	}
	res, err := st.exec(ctx, request{units: reads})
	if err != nil {
		return 0, err
	}
	type rec struct {
		c   *claim
		rec string
	}
	var recs []rec
	var owners []ops.Unit
	for i, r := range res {
		if r.Err != nil {
			return 0, r.Err
		}
		kv, _ := redis.Strings(r.Replies[0], nil)
		for j := 0; j+1 < len(kv); j += 2 {
			_, owner, ok := strings.Cut(kv[j+1], ":")
			if !ok || checkID(owner) != nil {
				continue // not a record of ours: left alone
			}
			m := &Model{}
			m.init(st, sc, owner)
			c := &claim{m: m, field: specs[i].name, sk: kv[j], kind: specs[i].kind, key: keys[i], expect: kv[j+1]}
			recs = append(recs, rec{c, kv[j+1]})
			owners = append(owners, ops.Unit{Cmds: []ops.Cmd{{Name: "HGET", Args: []any{m.key[0], c.field}}}})
		}
	}
	if len(recs) == 0 {
		return 0, nil
	}
	res, err = st.exec(ctx, request{units: owners})
	if err != nil {
		return 0, err
	}
	var drops []ops.Unit
	lease := st.claimLease().Milliseconds()
	for i, r := range res {
		if r.Err != nil {
			return 0, r.Err
		}
		c := recs[i].c
		b, _ := redis.Bytes(r.Replies[0], nil)
		if sk, ok := index.SortKey(c.kind, b); b != nil && ok && sk == c.sk {
			continue // held: not stale
		}
		drops = append(drops, ops.ScriptUnit(lua.Claim, []string{c.key}, []any{"drop", c.sk, c.m.id, recs[i].rec, lease}))
	}
	if len(drops) == 0 {
		return 0, nil
	}
	res, err = st.exec(ctx, request{units: drops})
	if err = wl.keep(err); err != nil {
		return 0, err
	}
	dropped := 0
	for _, r := range res {
		if r.Err != nil {
			return dropped, r.Err
		}
		if n, _ := redis.Int(r.Replies[0], nil); n == 1 {
			dropped++
		}
	}
	return dropped, nil
}
