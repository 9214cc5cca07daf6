package rapyer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
)

// A Store over Redis Cluster: the same Store, whose executor routes every
// unit to the master of its hash slot (see cluster_exec.go). The slot map
// comes from redisc (its LayoutRefresh hook, after CLUSTER SLOTS); the
// connections come from one pool per node that the Store keeps itself.
// (redisc's own pools, made through its CreatePool hook, serve only its
// CLUSTER SLOTS refreshes: redisc closes a pool when its node leaves the
// map or when two callers race to create it, which must not close a pool
// the Store's operations are using.)

// cluster is a Store's view of a cluster.
type cluster struct {
	rc    *redisc.Cluster
	owned bool // OpenCluster made rc: Close closes it
	// slots maps each hash slot to its master's address; nil until the
	// first refresh.
	slots atomic.Pointer[[redisc.HashSlots]string]
	// newPool makes the pool of one node.
	newPool func(addr string) (*redis.Pool, error)

	mu    sync.Mutex
	pools map[string]*redis.Pool // by node address
	// muxes: the multiplexers by master address (cluster_mux.go), read
	// without a lock on every request; replaced whole under mu.
	muxes atomic.Pointer[map[string]*mux]
	// refresh is rate-limited: at most one CLUSTER SLOTS per refreshEvery.
	refreshMu   sync.Mutex
	lastRefresh time.Time
	closed      bool
}

// refreshEvery bounds how often a redirection refreshes the slot map.
const refreshEvery = 100 * time.Millisecond

// OpenCluster returns a Store over the Redis Cluster reached through seeds
// (one or more of its nodes, "host:port" or redis:// and rediss:// URLs; the
// first URL's scheme and credentials serve every node, WithAuth and
// WithTLSConfig too) and checks it with Ping, which reads the slot map and
// loads rapyer's scripts on every master. Seeds that are not a cluster are
// an error wrapping ErrInvalid. The pool options apply per node.
//
// On a cluster every operation on one object is atomic as on one server (an
// object's keys share a hash tag); a Tx must stay within one hash slot (one
// object, or objects of one shard); a Batch and the calls over many objects
// are split per node, one pipeline per node sent concurrently; a query reads
// each shard on its node. Models default to 12 shards on a cluster (see
// WithDefaultShards). README, "Redis Cluster", says what fails how.
func OpenCluster(ctx context.Context, seeds []string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if len(seeds) == 0 {
		return nil, &Error{Op: "OpenCluster", Err: fmt.Errorf("%w: no seed address", ErrInvalid)}
	}
	var tmpl *target
	addrs := make([]string, len(seeds))
	for i, seed := range seeds {
		raw := seed
		if !strings.Contains(seed, "://") {
			raw = "redis://" + seed
		}
		t, err := cfg.target(raw)
		if err != nil {
			return nil, &Error{Op: "OpenCluster", Err: err}
		}
		u, _ := url.Parse(t.url)
		if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
			return nil, &Error{Op: "OpenCluster", Err: fmt.Errorf("%w: %s names database %s; a cluster has only database 0", ErrInvalid, t.shown, db)}
		}
		addrs[i] = u.Host
		if tmpl == nil {
			tmpl = t
		}
	}
	dcfg := cfg
	cl := &cluster{owned: true}
	cl.newPool = func(addr string) (*redis.Pool, error) {
		t, err := tmpl.at(addr)
		if err != nil {
			return nil, err
		}
		return &redis.Pool{
			MaxIdle:     dcfg.maxIdle,
			MaxActive:   dcfg.maxActive,
			IdleTimeout: dcfg.idleTimeout,
			Wait:        true,
			DialContext: func(ctx context.Context) (redis.Conn, error) {
				return dialTarget(ctx, t, &dcfg)
			},
		}, nil
	}
	cl.rc = &redisc.Cluster{
		StartupNodes: addrs,
		CreatePool: func(addr string, _ ...redis.DialOption) (*redis.Pool, error) {
			p, err := cl.newPool(addr)
			if p != nil {
				p.MaxIdle, p.MaxActive = 1, 0 // its refreshes only
			}
			return p, err
		},
		LayoutRefresh: cl.layout,
	}
	s, err := newStore(nil, true, cfg)
	if err != nil {
		return nil, err
	}
	s.cl = cl
	s.connKind.Store(connOurs)
	s.addr = "cluster " + strings.Join(addrs, ",")
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// NewClusterStore returns a Store over rc, without I/O: the slot map is read
// at the first operation (or Ping). The Store sets rc.LayoutRefresh (calling
// the function already set there, if any), so give it a Cluster before its
// first use; connections come from pools made with rc.CreatePool (with
// rc.DialOptions), one per node, kept by the Store. rc stays the caller's:
// Close closes the Store's pools, not rc. It returns an error wrapping
// ErrInvalid for a nil rc or one without CreatePool.
func NewClusterStore(rc *redisc.Cluster, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if rc == nil || rc.CreatePool == nil {
		return nil, &Error{Op: "NewClusterStore", Err: fmt.Errorf("%w: nil redisc.Cluster, or one without CreatePool", ErrInvalid)}
	}
	cl := &cluster{rc: rc}
	cl.newPool = func(addr string) (*redis.Pool, error) { return rc.CreatePool(addr, rc.DialOptions...) }
	prev := rc.LayoutRefresh
	rc.LayoutRefresh = func(old, new [redisc.HashSlots][]string) {
		cl.layout(old, new)
		if prev != nil {
			prev(old, new)
		}
	}
	s, err := newStore(nil, false, cfg)
	if err != nil {
		return nil, err
	}
	s.cl = cl
	s.addr = "cluster " + strings.Join(rc.StartupNodes, ",")
	return s, nil
}

// at is t for the node at addr (same scheme, credentials and options).
func (t *target) at(addr string) (*target, error) {
	u, err := url.Parse(t.url)
	if err != nil {
		return nil, err
	}
	u.Host = addr
	c := *t
	c.url = u.String()
	return &c, nil
}

// layout is redisc's LayoutRefresh hook: the masters by slot.
func (cl *cluster) layout(_, m [redisc.HashSlots][]string) {
	var slots [redisc.HashSlots]string
	for i, nodes := range m {
		if len(nodes) > 0 {
			slots[i] = nodes[0]
		}
	}
	cl.slots.Store(&slots)
	cl.retireMuxes(&slots)
}

// refresh reads the slot map again (CLUSTER SLOTS), at most once per
// refreshEvery unless force; concurrent callers wait for the one running.
func (cl *cluster) refresh(force bool) error {
	cl.refreshMu.Lock()
	defer cl.refreshMu.Unlock()
	if !force && time.Since(cl.lastRefresh) < refreshEvery && cl.slots.Load() != nil {
		return nil
	}
	cl.lastRefresh = time.Now()
	if err := cl.rc.Refresh(); err != nil {
		return err
	}
	if m := cl.slots.Load(); m == nil || m[0] == "" && m[redisc.HashSlots-1] == "" {
		return fmt.Errorf("%w: CLUSTER SLOTS listed no master", ErrUnavailable)
	}
	return nil
}

// addrOf is the master of slot, reading the map first when there is none.
func (cl *cluster) addrOf(slot int) (string, error) {
	m := cl.slots.Load()
	if m == nil || m[slot] == "" {
		if err := cl.refresh(m == nil); err != nil {
			return "", err
		}
		if m = cl.slots.Load(); m == nil || m[slot] == "" {
			return "", fmt.Errorf("%w: no master serves slot %d", ErrUnavailable, slot)
		}
	}
	return m[slot], nil
}

// masters lists the distinct masters of the map.
func (cl *cluster) masters() ([]string, error) {
	m := cl.slots.Load()
	if m == nil {
		if err := cl.refresh(true); err != nil {
			return nil, err
		}
		m = cl.slots.Load()
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range m {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// pool is the Store's pool for the node at addr, made when first needed.
func (cl *cluster) pool(addr string) (*redis.Pool, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return nil, ErrClosed
	}
	if p := cl.pools[addr]; p != nil {
		return p, nil
	}
	p, err := cl.newPool(addr)
	if err != nil {
		return nil, err
	}
	if cl.pools == nil {
		cl.pools = map[string]*redis.Pool{}
	}
	cl.pools[addr] = p
	return p, nil
}

// close closes the Store's pools, and rc when OpenCluster made it.
func (cl *cluster) close() error {
	cl.mu.Lock()
	cl.closed = true
	pools, muxes := cl.pools, cl.muxes.Swap(nil)
	cl.pools = nil
	cl.mu.Unlock()
	for _, m := range mapOf(muxes) {
		m.close()
	}
	var errs []error
	for _, p := range pools {
		errs = append(errs, p.Close())
	}
	if cl.owned {
		errs = append(errs, cl.rc.Close())
	}
	return errors.Join(errs...)
}

// connAt takes a connection to the node at addr, waiting no longer than ctx
// allows (the same checks as Store.conn).
func (s *Store) connAt(ctx context.Context, addr string) (redis.Conn, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	p, err := s.cl.pool(addr)
	if err != nil {
		return nil, err
	}
	return getConn(ctx, p)
}

// slotOf is the hash slot of a unit's route; -1 for a unit without keys.
func slotOf(route string) int {
	if route == "" {
		return -1
	}
	return redisc.Slot(route)
}
