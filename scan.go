package rapyer

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/ops"
)

// A query on a model without indexes, with Scan: there is no index to
// drive it, not even the shards' x:all, so the objects are found by SCAN
// over the model's keys, O(keys of the server) (see scanHits).

// scanCount is the COUNT of each SCAN of a key scan.
const scanCount = 1000

// scanHits returns the live objects that p's predicate matches, by id
// (unsorted): it walks SCAN MATCH <prefix>{<model>:*}:o:* (every shard;
// the prefix's glob characters escaped, every key parsed, so ids of any
// bytes work), and for the ids of each SCAN reply, unless the predicate is
// All, reads the fields the predicate names with one HMGET per object
// (with `_v`: an object gone since is dropped) and checks them in Go
// (index.Plan.Match); those HMGETs go in the round trip of the next SCAN.
// On a cluster each master is walked in turn (ops.Unit.Node). SCAN may
// return a key twice: ids are deduplicated. The result is kept
// in p, so that Iter's pages read the keyspace once.
func (p *plan) scanHits(ctx context.Context, st *Store) ([]index.Hit, error) {
	if p.scanned != nil {
		return p.scanned, nil
	}
	sc := p.sc
	prefix := st.cfg.prefix
	pattern := globEscape(prefix) + "{" + sc.name + ":*}:o:*"
	fields := p.Fields()
	hmget := make([]any, 0, 2+len(fields))
	hmget = append(hmget, nil, metaVersion)
	for _, f := range fields {
		hmget = append(hmget, f)
	}
	nodes, err := st.nodes() // one server: [""]; a cluster: every master, one after the other
	if err != nil {
		return nil, err
	}
	node, shards := 0, sc.shardsOn(st)
	heads := newShardHeads(st, sc)
	seen := map[string]bool{}
	hits := []index.Hit{}
	var pending []string // ids whose fields are read in the next round trip
	cursor, scanning := "0", true
	for scanning || len(pending) > 0 {
		units := make([]ops.Unit, 0, len(pending)+1)
		for _, id := range pending {
			args := append([]any(nil), hmget...)
			args[0] = heads.keys(id).arg
			units = append(units, ops.Unit{Cmds: []ops.Cmd{{Name: "HMGET", Args: args}}})
		}
		if scanning {
			units = append(units, ops.Unit{Node: nodes[node], Cmds: []ops.Cmd{{Name: "SCAN", Args: []any{cursor, "MATCH", pattern, "COUNT", scanCount}}}})
		}
		res, err := st.exec(ctx, request{units: units})
		if err != nil {
			return nil, err
		}
		for i, id := range pending {
			if res[i].Err != nil {
				return nil, fmt.Errorf("reading object %s: %w", quoteID(id), scriptError(res[i].Err))
			}
			vals, _ := redis.ByteSlices(res[i].Replies[0], nil)
			if len(vals) == 1+len(fields) && vals[0] != nil && p.MatchTexts(id, vals[1:]) {
				hits = append(hits, index.Hit{ID: id})
			}
		}
		pending = pending[:0]
		if !scanning {
			continue
		}
		r := res[len(res)-1]
		if r.Err != nil {
			return nil, r.Err
		}
		reply, err := redis.Values(r.Replies[0], nil)
		if err != nil || len(reply) != 2 {
			return nil, fmt.Errorf("%w: SCAN replied %v", ErrDecode, r.Replies[0])
		}
		cursor, _ = redis.String(reply[0], nil)
		keys, _ := redis.Strings(reply[1], nil)
		if cursor == "0" && node+1 < len(nodes) {
			node++ // this node is done: the next one from its start
		} else {
			scanning = cursor != "0"
		}
		for _, k := range keys {
			pk, ok := parseKey(prefix, k)
			if !ok || pk.kind != 'o' || pk.model != sc.name || checkID(pk.id) != nil || shardOf(pk.id, shards) != pk.shard || seen[pk.id] {
				continue
			}
			seen[pk.id] = true
			if len(fields) == 0 {
				hits = append(hits, index.Hit{ID: pk.id})
			} else {
				pending = append(pending, pk.id)
			}
		}
	}
	p.scanned = hits
	return hits, nil
}
