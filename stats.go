package rapyer

import "time"

// Stats are a Store's connection figures, as Store.Stats reads them.
type Stats struct {
	// Active is how many connections are open, in use or idle; Idle how
	// many of them wait in the pool unused; InUse is Active - Idle.
	Active, Idle, InUse int
	// Waits counts the times a caller had to wait for a connection (every
	// one in use, WithPoolSize's maxActive reached); WaitTime is the total
	// time they waited. Both only grow. redigo counts them approximately.
	Waits    int64
	WaitTime time.Duration
	// Per-connection queue depth (commands written and waiting for their
	// replies) belongs here once connections are multiplexed (issue 14,
	// item 4, with the multiplexing work): until then a connection serves
	// one caller at a time and has no queue.
}

// Stats returns the figures of the Store's connection pool (for a Store
// over a caller's pool, NewStore, that pool's): no I/O, one lock of the
// pool. A nil Store, and for now a Store over Redis Cluster (one pool per
// node, not summed here yet), have zero Stats.
func (s *Store) Stats() Stats {
	if s == nil || s.pool == nil {
		return Stats{}
	}
	ps := s.pool.Stats()
	return Stats{
		Active:   ps.ActiveCount,
		Idle:     ps.IdleCount,
		InUse:    ps.ActiveCount - ps.IdleCount,
		Waits:    ps.WaitCount,
		WaitTime: ps.WaitDuration,
	}
}
