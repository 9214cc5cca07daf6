package rapyer

// SetMuxMaxBytes sets the largest request, in bytes of arguments, sent on
// a multiplexed connection, until the returned function restores it.
func SetMuxMaxBytes(n int) (restore func()) {
	old := muxMaxBytes
	muxMaxBytes = n
	return func() { muxMaxBytes = old }
}
