package rapyer

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// Multiplexed connections (auto-pipelining). Concurrent requests to one
// server share a few connections (lanes) instead of taking one each from the
// pool. On each connection:
//
//   - a request is a call: its commands, written contiguously (a Tx's
//     MULTI..EXEC, a unit's several commands are never interleaved with
//     another call's), and the count of replies it waits for;
//   - the caller that finds no write under way writes what is queued (its
//     own call) in one write, after letting the other callers at work on
//     the connection queue theirs (when replies are owed: submit); calls
//     that arrive while a write is under way queue up and go out together
//     in the next one, which the writer goroutine writes. A caller's write that the socket does not take at
//     once is finished by the writer goroutine: a caller never blocks in a
//     write (past its context), and the stream stays whole;
//   - a reader goroutine, always reading, hands each call its own replies,
//     in order; it waits for a reply owed at most the read timeout, and
//     notices a connection the server closed while idle;
//   - a caller whose context ends returns at once: a call not written yet is
//     never written, one already written has its replies read and dropped,
//     so the stream stays whole for the others;
//   - an error on the connection (a read or write failing, the server
//     closing it) fails every call queued or in flight on it with that error,
//     never a reply of another call; the next request dials a fresh one.
//
// Requests that need a connection of their own keep the pool: WATCH and
// what follows it (Modify, a checked Tx: Store.pinned), large requests
// (bulk loads and saves, which would hold the replies of every call behind
// theirs), and every request of a Store whose pool does not give rapyer's
// own connections (NewStore over plain redigo ones).

// muxMaxCmds is the largest request, in commands, that goes on a shared
// connection; larger ones take a connection of the pool.
const muxMaxCmds = 64

// errNotMux says the pool's connections cannot be multiplexed (they are
// not rapyer's): the Store then uses the pool for every request.
var errNotMux = errors.New("rapyer: connections not multiplexable")

// mux is the multiplexer of one server: its lanes, each at most one live
// connection. A cluster holds one per node.
type mux struct {
	dial    func(ctx context.Context) (redis.Conn, error)
	idle    time.Duration // a connection unused that long is closed before use (0: never)
	lanes   []lane
	next    atomic.Uint32
	off     atomic.Bool // the dial gave a connection that is not rapyer's
	closed  atomic.Bool
	retired atomic.Bool // a cluster node that left the map: each connection closes once idle
}

// lane holds one multiplexed connection, dialled when first needed and
// again after it broke.
type lane struct {
	pc      atomic.Pointer[pipeConn]
	mu      sync.Mutex
	dialing chan struct{} // closed when the dial under way ends
	dialErr error         // the last dial's error
}

// newMux returns a multiplexer of n connections dialled with pool's dial
// function (Dial and the pool options' settings; the connections are not
// counted in the pool's MaxActive). n <= 0 means one per CPU, at least 2.
func newMux(pool *redis.Pool, n int, idle time.Duration) *mux {
	if n <= 0 {
		n = max(2, runtime.GOMAXPROCS(0))
	}
	m := &mux{lanes: make([]lane, n), idle: idle}
	m.dial = func(ctx context.Context) (redis.Conn, error) {
		switch {
		case pool.DialContext != nil:
			return pool.DialContext(ctx)
		case pool.Dial != nil:
			return pool.Dial()
		}
		return nil, errNotMux
	}
	return m
}

// muxer returns the multiplexer that requests to the Store's server share,
// or nil when they each take a connection of the pool (multiplexing off,
// or the pool's connections are not rapyer's).
func (s *Store) muxer() *mux {
	m := s.mx
	if m == nil || s.connKind.Load() != connOurs || m.off.Load() {
		return nil
	}
	return m
}

// conn returns a live connection of the next lane, dialling one when the
// lane has none, or had one left unused past the idle timeout (which a
// server may have closed meanwhile: better a new one than a failed call).
func (m *mux) conn(ctx context.Context) (*pipeConn, error) {
	l := &m.lanes[m.next.Add(1)%uint32(len(m.lanes))]
	if pc := l.pc.Load(); pc != nil && !pc.dead.Load() && (m.idle <= 0 || !pc.retireIdle(m.idle)) {
		return pc, nil
	}
	return m.open(ctx, l)
}

// open dials l's connection; callers that come meanwhile wait for that
// dial (or their context) instead of dialling too.
func (m *mux) open(ctx context.Context, l *lane) (*pipeConn, error) {
	for {
		l.mu.Lock()
		if pc := l.pc.Load(); pc != nil && !pc.dead.Load() {
			l.mu.Unlock()
			return pc, nil
		}
		if m.closed.Load() {
			l.mu.Unlock()
			return nil, ErrClosed
		}
		if ch := l.dialing; ch != nil {
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			l.mu.Lock()
			err := l.dialErr
			l.mu.Unlock()
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return nil, err // the dial failed (not for its caller's context): so does this call
			}
			continue
		}
		ch := make(chan struct{})
		l.dialing = ch
		l.mu.Unlock()
		pc, err := m.dialPipe(ctx)
		l.mu.Lock()
		l.dialing, l.dialErr = nil, err
		if pc != nil {
			if m.closed.Load() {
				pc.fail(ErrClosed)
				pc, err = nil, ErrClosed
			} else {
				l.pc.Store(pc)
			}
		}
		l.mu.Unlock()
		close(ch)
		return pc, err
	}
}

func (m *mux) dialPipe(ctx context.Context) (*pipeConn, error) {
	c, err := m.dial(ctx)
	if err != nil {
		return nil, err
	}
	rc, ok := c.(*conn)
	if !ok {
		// Someone else's connection (a wrapper, plain redigo): its
		// concurrent use and its deadlines are not known. Per operation.
		_ = c.Close()
		m.off.Store(true)
		return nil, errNotMux
	}
	return newPipe(rc, m), nil
}

// close fails every call on the multiplexed connections with ErrClosed.
func (m *mux) close() {
	m.closed.Store(true)
	for i := range m.lanes {
		l := &m.lanes[i]
		l.mu.Lock()
		pc := l.pc.Load()
		l.mu.Unlock()
		if pc != nil {
			pc.fail(ErrClosed)
		}
	}
}

// link is where a request goes: a connection of the pool (pooled) or one
// the caller holds (pinned), or a multiplexed one shared with other
// requests (p). The executor takes one per request (Store.link) and makes
// its round trips on it.
type link struct {
	c      redis.Conn
	pinned bool
	pooled bool
	p      *pipeConn
	addr   string // the cluster node it goes to ("" on one server)
}

// link returns the connection for a request: pin's when set, else a
// multiplexed one when shared (and the Store multiplexes), else one of the
// pool, which release gives back.
func (s *Store) link(ctx context.Context, pin *pinned, shared bool) (link, error) {
	if pin != nil {
		if err := ctx.Err(); err != nil {
			return link{}, err
		}
		return link{c: pin.c, pinned: true, addr: pin.addr}, nil
	}
	if m := s.muxer(); m != nil && shared {
		if err := s.usable(ctx); err != nil {
			return link{}, err
		}
		p, err := m.conn(ctx)
		if err == nil {
			return link{p: p}, nil
		}
		if !errors.Is(err, errNotMux) {
			return link{}, err
		}
	}
	c, err := s.conn(ctx)
	if err != nil {
		return link{}, err
	}
	return link{c: c, pooled: true}, nil
}

func (l link) release() {
	if l.pooled {
		_ = l.c.Close()
	}
}

// do sends one command on a multiplexed connection: its reply, or its
// error reply as the error (as redigo's Do).
func (l link) do(ctx context.Context, cmd string, args []any) (any, error) {
	rs, err := l.p.command(ctx, cmd, args)
	if err != nil {
		return nil, netErr(ctx, err)
	}
	if e, ok := rs[0].(redis.Error); ok {
		return nil, e
	}
	return rs[0], nil
}

// shareable reports whether r may go on a multiplexed connection: not
// ending in WAIT (which blocks the connection: WithWait), small
// enough not to hold others' replies behind its own (at most muxMaxCmds
// commands and muxMaxBytes of arguments), and not filled while it is
// written (request.fill: a bulk load, whose writing overlaps the server's
// answers on a connection of its own).
func shareable(r *request) bool {
	if r.fill != nil || r.wait.on() || len(r.units) > muxMaxCmds {
		return false
	}
	n, size := 0, 0
	for i := range r.units {
		n += r.units[i].Size()
		size += unitBytes(&r.units[i])
	}
	return n+2 <= muxMaxCmds && size <= muxMaxBytes
}

// muxMaxBytes is the largest request, in bytes of arguments, that goes on
// a shared connection: a larger one would hold the replies queued behind
// it, and is written in one piece there, while a pooled connection's
// write stops as soon as its context ends. (A variable for the tests.)
var muxMaxBytes = 512 << 10

// unitBytes is the size of u's string and byte-slice arguments.
func unitBytes(u *ops.Unit) int {
	n := argBytes(u.Args)
	for _, k := range u.Keys {
		n += len(k)
	}
	for i := range u.Cmds {
		n += argBytes(u.Cmds[i].Args)
	}
	return n
}

func argBytes(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		}
	}
	return n
}

// stats reads each dialled connection's queue depth (Store.Stats).
func (m *mux) stats() []MuxStats {
	var out []MuxStats
	for i := range m.lanes {
		pc := m.lanes[i].pc.Load()
		if pc == nil || pc.dead.Load() {
			continue
		}
		pc.mu.Lock()
		out = append(out, MuxStats{Queued: len(pc.queue), Pending: len(pc.pending) - pc.head})
		pc.mu.Unlock()
	}
	return out
}
