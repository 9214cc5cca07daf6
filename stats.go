package rapyer

import (
	"time"

	"github.com/gomodule/redigo/redis"
)

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
	// Multiplexed lists the Store's multiplexed connections (none with
	// WithoutMultiplexing, or before the first operation dials them), each
	// with its queue depth.
	Multiplexed []MuxStats
}

// MuxStats is one multiplexed connection's queue: Queued requests wait to
// be written, Pending ones were written and wait for their replies. On a
// cluster Addr is the node's address ("host:port"; a Store multiplexes per
// master), "" on one server.
type MuxStats struct {
	Addr            string
	Queued, Pending int
}

// Stats returns the figures of the Store's connection pool (for a Store
// over a caller's pool, NewStore, that pool's; on a cluster, the sums over
// its per-node pools) and its multiplexed connections' queues (on a
// cluster, every node's, sorted by address): no I/O, one
// lock of each pool and connection. A nil Store has zero Stats.
func (s *Store) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	var st Stats
	add := func(p *redis.Pool) {
		ps := p.Stats()
		st.Active += ps.ActiveCount
		st.Idle += ps.IdleCount
		st.InUse += ps.ActiveCount - ps.IdleCount
		st.Waits += ps.WaitCount
		st.WaitTime += ps.WaitDuration
	}
	if s.pool != nil {
		add(s.pool)
	}
	if s.cl != nil {
		s.cl.mu.Lock()
		for _, p := range s.cl.pools {
			add(p)
		}
		s.cl.mu.Unlock()
		st.Multiplexed = s.cl.muxStats()
	}
	if s.mx != nil {
		st.Multiplexed = s.mx.stats()
	}
	return st
}
