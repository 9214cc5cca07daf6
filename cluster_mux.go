package rapyer

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/mna/redisc"
)

// Multiplexing on a cluster: one multiplexer (mux.go) per master address,
// made at the first request for that address and closed with the Store.
// A request to a node takes the same way as on one server (Store.link):
// small requests (a group of a node, a Tx, an ASKING-prefixed unit: each
// one call, written contiguously) share that node's multiplexed
// connections; large and filled ones, pinned sequences (WATCH, blocking
// commands) and every request of a Store whose connections are not
// rapyer's take a connection of the node's pool.
//
// A node that leaves the slot map (a demoted master, a removed node) has
// its multiplexer retired: taken out of the Store's map (a later request to
// that address, after a MOVED naming it, makes a new one) and each of its
// connections closed as soon as no call is queued on it or awaits a reply,
// so that calls already sent there end normally.

// muxAt is the multiplexer of the node at addr, made when first needed;
// nil when the Store does not multiplex (WithoutMultiplexing, or its
// connections are not rapyer's).
func (s *Store) muxAt(addr string) (*mux, error) {
	if s.cfg.muxConns < 0 || s.connKind.Load() == connPlain {
		return nil, nil
	}
	cl := s.cl
	if m := mapOf(cl.muxes.Load())[addr]; m != nil {
		if m.off.Load() {
			return nil, nil
		}
		return m, nil
	}
	p, err := cl.pool(addr)
	if err != nil {
		return nil, err
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return nil, ErrClosed
	}
	old := mapOf(cl.muxes.Load())
	m := old[addr]
	if m == nil {
		m = newMux(p, s.cfg.muxConns, s.cfg.idleTimeout)
		next := maps.Clone(old)
		if next == nil {
			next = map[string]*mux{}
		}
		next[addr] = m
		cl.muxes.Store(&next)
	}
	return m, nil
}

// mapOf is *p, nil for nil.
func mapOf(p *map[string]*mux) map[string]*mux {
	if p == nil {
		return nil
	}
	return *p
}

// linkAt is Store.link for a request to the node at addr: one of its
// multiplexed connections when shared, else one of its pool.
func (s *Store) linkAt(ctx context.Context, addr string, shared bool) (link, error) {
	if shared {
		m, err := s.muxAt(addr)
		if err != nil {
			return link{}, err
		}
		if m != nil {
			if err := s.usable(ctx); err != nil {
				return link{}, err
			}
			p, err := m.conn(ctx)
			if err == nil {
				return link{p: p, addr: addr}, nil
			}
			if !errors.Is(err, errNotMux) {
				return link{}, err
			}
		}
	}
	c, err := s.connAt(ctx, addr)
	if err != nil {
		return link{}, err
	}
	return link{c: c, pooled: true, addr: addr}, nil
}

// retireMuxes takes the multiplexers of addresses that are no longer
// masters in m out of the map and retires them (see above).
func (cl *cluster) retireMuxes(m *[redisc.HashSlots]string) {
	cl.mu.Lock()
	var gone []*mux
	if old := mapOf(cl.muxes.Load()); old != nil {
		next := make(map[string]*mux, len(old))
		for addr, mx := range old {
			if slices.Contains(m[:], addr) {
				next[addr] = mx
			} else {
				gone = append(gone, mx)
			}
		}
		if len(gone) > 0 {
			cl.muxes.Store(&next)
		}
	}
	cl.mu.Unlock()
	for _, mx := range gone {
		mx.retire()
	}
}

// retire closes m's connections as each becomes idle: now for those with
// nothing queued or awaited, after their last reply for the others.
func (m *mux) retire() {
	m.retired.Store(true)
	for i := range m.lanes {
		if pc := m.lanes[i].pc.Load(); pc != nil {
			pc.breakIf(errRetired, true)
		}
	}
}

// muxStats lists the multiplexed connections of every node, each with its
// address.
func (cl *cluster) muxStats() []MuxStats {
	ms := mapOf(cl.muxes.Load())
	var out []MuxStats
	for a, m := range ms {
		for _, st := range m.stats() {
			st.Addr = a
			out = append(out, st)
		}
	}
	slices.SortStableFunc(out, func(x, y MuxStats) int { return cmp.Compare(x.Addr, y.Addr) })
	return out
}
