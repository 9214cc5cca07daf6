package rapyer

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

// ShardHead returns the key head of shard i of the model named model on st,
// "<prefix>{tag}:", the part of its keys before o:, f:, l: or x: (the tag
// is {model:i} on one server, a spread tag on a cluster: keys.go). Tests
// build key names with it rather than assuming one server's layout.
func ShardHead(st *Store, model string, i int) string {
	r, ok := lookup(model)
	if !ok {
		panic("ShardHead: no model " + model)
	}
	_, sp := r.sc.layout(st)
	return shardPrefix(st.cfg.prefix, model, uint32(i), sp)
}

// ShardsOn returns the model's shard count on st.
func ShardsOn(st *Store, model string) int {
	r, ok := lookup(model)
	if !ok {
		panic("ShardsOn: no model " + model)
	}
	return r.sc.shardsOn(st)
}
