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
