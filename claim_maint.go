package rapyer

import (
	"context"
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

// reindexClaims is Reindex's last pass on a cluster, for a model whose
// unique values are claimed (claim.go): each shard's script checked its
// own shard only, so every entry of every unique index is claimed for its
// object (one round trip reading the indexes, then claimAll). An entry
// whose value another object holds (validated as any claim) is taken out
// of the index (lua/unindex.lua) and returned as a conflict, with the
// stored text (one more round trip, only for conflicts). The claims taken
// are confirmed.
func (sc *schema) reindexClaims(ctx context.Context, st *Store) ([]index.Conflict, error) {
	const op = "Reindex"
	n, sp := sc.layout(st)
	uniq := sc.uniqueSpecs()
	var reads []ops.Unit
	type at struct {
		spec  indexSpec
		shard uint32
	}
	var where []at
	for _, u := range uniq {
		for sh := uint32(0); sh < uint32(n); sh++ {
			key := indexKey(st.cfg.prefix, sc.name, sh, sp, u.name)
			reads = append(reads, ops.Unit{Cmds: []ops.Cmd{{Name: "ZRANGE", Args: []any{key, 0, -1}}}})
			where = append(where, at{u, sh})
		}
	}
	res, err := st.exec(ctx, request{units: reads})
	if err != nil {
		return nil, err
	}
	var cs []*claim
	var from []at
	for i, r := range res {
		if r.Err != nil {
			return nil, r.Err
		}
		members, _ := redis.Strings(r.Replies[0], nil)
		for _, mb := range members {
			sk, id, ok := strings.Cut(mb, "\x00")
			if !ok || checkID(id) != nil {
				continue // not an entry of ours: Reindex's sweep pass handles x:i
			}
			m := &Model{}
			m.init(st, sc, id)
			cs = append(cs, &claim{m: m, field: where[i].spec.name, sk: sk, kind: where[i].spec.kind,
				key: claimKey(st.cfg.prefix, sc.name, where[i].spec.name, sk)})
			from = append(from, where[i])
		}
	}
	if len(cs) == 0 {
		return nil, nil
	}
	errs, err := st.claimAll(ctx, op, cs)
	if err != nil {
		st.settle(ctx, cs, errNotWritten)
		return nil, err
	}
	st.settle(ctx, cs, nil) // the entries stay: confirmed
	var out, texts []ops.Unit
	var lost []*claim
	for i, e := range errs {
		if e == nil {
			continue
		}
		c, a := cs[i], from[i]
		out = append(out, ops.ScriptUnit(lua.Unindex,
			[]string{indexKey(st.cfg.prefix, sc.name, a.shard, sp, c.field), revKey(st.cfg.prefix, sc.name, a.shard, sp)},
			[]any{c.field, c.sk, c.m.id}))
		texts = append(texts, ops.Unit{Cmds: []ops.Cmd{{Name: "HGET", Args: []any{c.m.key[0], c.field}}}})
		lost = append(lost, c)
	}
	if len(lost) == 0 {
		return nil, nil
	}
	res, err = st.exec(ctx, request{units: append(out, texts...)})
	if err != nil {
		return nil, err
	}
	conflicts := make([]index.Conflict, len(lost))
	for i, c := range lost {
		if err := res[i].Err; err != nil {
			return nil, err
		}
		text, _ := redis.String(res[len(lost)+i].Replies[0], nil)
		conflicts[i] = index.Conflict{ID: c.m.id, Field: c.field, Value: text}
	}
	return conflicts, nil
}

// sweepClaims is Sweep's pass over the claim keys of a model whose unique
// values are claimed: every record (HGETALL of each claim key, one round
// trip) whose owner does not hold the value (one HGET each, one round
// trip) is dropped when it is confirmed or older than the lease
// (lua/claim.lua's drop, which checks the record unchanged: one round
// trip). It returns how many records it dropped.
func (sc *schema) sweepClaims(ctx context.Context, st *Store) (int, error) {
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
	if err != nil {
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
