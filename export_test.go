package rapyer

import (
	"strconv"

	"github.com/rapyer-go/rapyer/index"
)

// SetMuxMaxBytes sets the largest request, in bytes of arguments, sent on
// a multiplexed connection, until the returned function restores it.
func SetMuxMaxBytes(n int) (restore func()) {
	old := muxMaxBytes
	muxMaxBytes = n
	return func() { muxMaxBytes = old }
}

// ForgetNode makes the cluster Store st believe that the master at addr
// left the slot map: its slots given to another master of the map, as a
// LayoutRefresh would (the next request to one of them meets MOVED).
func ForgetNode(st *Store, addr string) {
	old := st.cl.slots.Load()
	var other string
	for _, a := range old {
		if a != "" && a != addr {
			other = a
			break
		}
	}
	var m [len(old)][]string
	for i, a := range old {
		if a == addr {
			a = other
		}
		m[i] = []string{a}
	}
	st.cl.layout(m, m)
}

// ShardsOf is the shard count of the model defined as name on st, 0 for
// a name not defined (tests read index keys raw, shard by shard).
func ShardsOf(st *Store, name string) int {
	r, ok := lookup(name)
	if !ok {
		return 0
	}
	return r.sc.shardsOn(st)
}

// ShardPrefixOf is the key prefix (tag included) of shard i of the model
// defined as name on st: {name:i} on one server, the spread tag on a
// cluster.
func ShardPrefixOf(st *Store, name string, i int) string {
	r, ok := lookup(name)
	if !ok || i >= r.sc.shardsOn(st) {
		return st.cfg.prefix + "{" + name + ":" + strconv.Itoa(i) + "}:"
	}
	_, sp := r.sc.layout(st)
	return shardPrefix(st.cfg.prefix, name, uint32(i), sp)
}

// ClaimKeyOf is the claim key of stored text of the named model's unique
// field (claim.go), and the text's sort key.
func ClaimKeyOf(st *Store, name, field, text string) (key, sortKey string) {
	r, _ := lookup(name)
	for _, sp := range r.sc.idx {
		if sp.name == field {
			sortKey, _ = index.SortKey(sp.kind, []byte(text))
		}
	}
	return claimKey(st.cfg.prefix, name, field, sortKey), sortKey
}

// ShardOfID is the shard of object id of the model defined as name on st.
func ShardOfID(st *Store, name, id string) int {
	return int(shardOf(id, ShardsOf(st, name)))
}
