package testkit

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
)

// The "cluster" backend: a Redis Cluster named by REDIS_CLUSTER_ADDRS
// (host:port,host:port,...; .ci/with-cluster starts one), with a Store
// made by rapyer.OpenCluster. Raw commands (Do) go to the key's master
// through redisc (following redirections); commands without a key (SCRIPT,
// CONFIG, INFO, ...) go to every master and the first master's reply is
// returned.

// ClusterAddrs returns the nodes of the cluster under test, nil when
// REDIS_CLUSTER_ADDRS is not set.
func ClusterAddrs() []string {
	v := os.Getenv("REDIS_CLUSTER_ADDRS")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// runCluster runs f as the "cluster" subtest when a cluster is given.
func runCluster(t *testing.T, f func(t *testing.T, b *Backend), opts []rapyer.Option) {
	t.Helper()
	if ClusterAddrs() == nil {
		return
	}
	t.Run("cluster", func(t *testing.T) {
		f(t, newBackend(t, "cluster", "", nil, opts))
	})
}

func (b *Backend) clusterInit(t *testing.T, opts []rapyer.Option) *Backend {
	t.Helper()
	b.seeds = ClusterAddrs()
	b.ctr.perCaller = map[uint64]int{}
	b.rc = &redisc.Cluster{
		StartupNodes: b.seeds,
		DialOptions:  []redis.DialOption{redis.DialReadTimeout(ioTimeout), redis.DialWriteTimeout(ioTimeout)},
		CreatePool: func(addr string, o ...redis.DialOption) (*redis.Pool, error) {
			return &redis.Pool{MaxIdle: 4, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr, o...) }}, nil
		},
	}
	if err := b.rc.Refresh(); err != nil {
		t.Fatalf("cluster: %v", err)
	}
	b.Store = b.store(t, opts)
	t.Cleanup(func() {
		b.cleanup(t)
		_ = b.rc.Close()
	})
	return b
}

func (b *Backend) clusterStore(t *testing.T, opts []rapyer.Option) *rapyer.Store {
	t.Helper()
	base := []rapyer.Option{rapyer.WithPrefix(b.prefix), rapyer.WithReadTimeout(ioTimeout), rapyer.WithWriteTimeout(ioTimeout),
		rapyer.WithDialer(countingDialer(b.ctr))}
	base = append(base, EnvOptions()...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := rapyer.OpenCluster(ctx, b.seeds, append(base, opts...)...)
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Seeds returns the cluster backend's node addresses (nil on others).
func (b *Backend) Seeds() []string { return b.seeds }

// keyless commands go to every master.
var keyless = map[string]bool{
	"SCRIPT": true, "CONFIG": true, "INFO": true, "DBSIZE": true, "PING": true,
	"FLUSHALL": true, "FLUSHDB": true, "FUNCTION": true, "SLOWLOG": true, "CLIENT": true,
	"DEBUG": true, "MEMORY": true, "ACL": true, "TIME": true,
}

func (b *Backend) clusterDo(t testing.TB, cmd string, args ...any) (any, error) {
	t.Helper()
	if strings.EqualFold(cmd, "KEYS") { // every master's, together
		var all []any
		err := b.rc.EachNode(false, func(_ string, c redis.Conn) error {
			r, err := redis.Values(c.Do(cmd, args...))
			all = append(all, r...)
			return err
		})
		if err != nil {
			t.Fatalf("%s %v: %v", cmd, args, err)
		}
		return all, nil
	}
	if keyless[strings.ToUpper(cmd)] || len(args) == 0 {
		var first any
		var ferr error
		n := 0
		err := b.rc.EachNode(false, func(_ string, c redis.Conn) error {
			r, err := c.Do(cmd, args...)
			if _, isReply := err.(redis.Error); err != nil && !isReply {
				return err
			}
			if n == 0 {
				first, ferr = r, err
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("%s %v: %v", cmd, args, err)
		}
		return first, ferr
	}
	c := b.rc.Get()
	defer c.Close()
	rc, err := redisc.RetryConn(c, 5, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rc.Do(cmd, args...)
	if _, isReply := err.(redis.Error); err != nil && !isReply {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return r, err
}

func (b *Backend) clusterCleanup(t *testing.T) {
	err := b.rc.EachNode(false, func(_ string, c redis.Conn) error {
		cursor := "0"
		for i := 0; i < 100000; i++ {
			r, err := redis.Values(c.Do("SCAN", cursor, "MATCH", b.prefix+"*", "COUNT", 1000))
			if err != nil {
				return err
			}
			cursor, _ = redis.String(r[0], nil)
			keys, _ := redis.Strings(r[1], nil)
			for _, k := range keys {
				_, _ = c.Do("DEL", k)
			}
			if cursor == "0" {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		t.Logf("cleanup: %v", err)
	}
}

// StoreVia opens a Store on the backend's server through the proxy p, with
// the backend's key prefix (so the test kit cleans up) and opts: by URL on
// one server; on a cluster every node's connections go through p.
func (b *Backend) StoreVia(t *testing.T, p *Proxy, opts ...rapyer.Option) *rapyer.Store {
	t.Helper()
	if b.rc != nil {
		return b.open(t, b.url, append(opts, rapyer.WithDialer(p.Dialer())))
	}
	return b.open(t, p.URL(b), opts)
}

// OpenStore opens another Store on the backend's server as a program
// would, with the backend's key prefix and opts (a test's own pool size,
// hook, multiplexing): rapyer.Open by URL on one server, rapyer.OpenCluster
// over the nodes on a cluster. Its round trips are not counted; it is
// closed at the test's end.
func (b *Backend) OpenStore(t *testing.T, opts ...rapyer.Option) *rapyer.Store {
	t.Helper()
	return b.open(t, b.url, opts)
}

// open opens a Store with the backend's prefix and opts: by url on one
// server, over the seeds on a cluster.
func (b *Backend) open(t *testing.T, url string, opts []rapyer.Option) *rapyer.Store {
	t.Helper()
	opts = append([]rapyer.Option{rapyer.WithPrefix(b.Prefix())}, opts...)
	var st *rapyer.Store
	var err error
	if b.rc != nil {
		st, err = rapyer.OpenCluster(Ctx(t), b.seeds, opts...)
	} else {
		st, err = rapyer.Open(Ctx(t), url, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Dial returns a new raw connection (not counted, closed at the test's
// end) to the server that holds key: the server on one server, the key's
// master on a cluster (no redirection followed). For a test that writes
// behind rapyer's back from another goroutine.
func (b *Backend) Dial(t *testing.T, key string) redis.Conn {
	t.Helper()
	var c redis.Conn
	var err error
	if b.rc != nil {
		c = b.rc.Get()
		err = redisc.BindConn(c, key)
	} else {
		c, err = redis.DialURL(b.url, redis.DialReadTimeout(ioTimeout), redis.DialWriteTimeout(ioTimeout))
	}
	if err != nil {
		t.Fatalf("%s: dial for %s: %v", b.Name, key, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// PlainStore returns a Store over plain redigo connections (redis.DialURL,
// not rapyer.Dial) with prefix: NewStore over a redis.Pool on one server,
// NewClusterStore over a redisc.Cluster on a cluster.
func (b *Backend) PlainStore(t *testing.T, prefix string) *rapyer.Store {
	t.Helper()
	if b.rc != nil {
		rc := &redisc.Cluster{
			StartupNodes: b.seeds,
			CreatePool: func(addr string, o ...redis.DialOption) (*redis.Pool, error) {
				return &redis.Pool{Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr, o...) }}, nil
			},
		}
		st, err := rapyer.NewClusterStore(rc, rapyer.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close(); _ = rc.Close() })
		return st
	}
	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.DialURL(b.url) }}
	st, err := rapyer.NewStore(pool, rapyer.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(); _ = pool.Close() })
	return st
}

// RunCluster runs f on the cluster backend only: for behaviour that exists
// on a cluster alone (slot migration, redirections). Without
// REDIS_CLUSTER_ADDRS it logs that it did not run.
func RunCluster(t *testing.T, f func(t *testing.T, b *Backend), opts ...rapyer.Option) {
	t.Helper()
	if ClusterAddrs() == nil {
		t.Log("no cluster (REDIS_CLUSTER_ADDRS): make test-cluster runs this")
		return
	}
	runCluster(t, f, opts)
}

// NodeDo sends a command to the node at addr (not routed).
func (b *Backend) NodeDo(t testing.TB, addr, cmd string, args ...any) (any, error) {
	t.Helper()
	return nodeDo(t, addr, cmd, args...)
}

func nodeDo(t testing.TB, addr, cmd string, args ...any) (any, error) {
	t.Helper()
	c, err := redis.Dial("tcp", addr, redis.DialReadTimeout(ioTimeout))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Do(cmd, args...)
}

// MigrateSlot moves slot from its master to another master step by step,
// as redis-cli --cluster reshard does, with pause between keys so that an
// object's keys stay split across the two nodes for a while: SETSLOT
// IMPORTING on the target, MIGRATING on the source, MIGRATE of each key,
// then SETSLOT NODE on every master. It returns the source and target.
func (b *Backend) MigrateSlot(t testing.TB, slot int, pause time.Duration) (src, dst string) {
	t.Helper()
	var masters []string
	if err := b.rc.EachNode(false, func(addr string, _ redis.Conn) error {
		masters = append(masters, addr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return migrateSlot(t, masters, slot, pause)
}

// migrateSlot is MigrateSlot among masters (their addresses).
func migrateSlot(t testing.TB, masters []string, slot int, pause time.Duration) (src, dst string) {
	t.Helper()
	ids := map[string]string{}
	for _, a := range masters {
		id, err := redis.String(nodeDo(t, a, "CLUSTER", "MYID"))
		if err != nil {
			t.Fatal(err)
		}
		ids[a] = id
		owner, err := slotOwner(a, slot)
		if err != nil {
			t.Fatal(err)
		}
		if owner {
			src = a
		}
	}
	for _, a := range masters {
		if a != src {
			dst = a
			break
		}
	}
	if src == "" || dst == "" {
		t.Fatalf("slot %d: no owner or no other master among %v", slot, masters)
	}
	must := func(r any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("migrating slot %d from %s to %s: %v", slot, src, dst, err)
		}
	}
	must(nodeDo(t, dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src]))
	must(nodeDo(t, src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst]))
	host, port, _ := strings.Cut(dst, ":")
	for {
		keys, err := redis.Strings(nodeDo(t, src, "CLUSTER", "GETKEYSINSLOT", slot, 1))
		must(nil, err)
		if len(keys) == 0 {
			break
		}
		must(nodeDo(t, src, "MIGRATE", host, port, "", 0, 5000, "KEYS", keys[0]))
		time.Sleep(pause)
	}
	for _, a := range []string{dst, src} {
		must(nodeDo(t, a, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst]))
	}
	for _, a := range masters {
		if a != src && a != dst {
			must(nodeDo(t, a, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst]))
		}
	}
	return src, dst
}

// slotOwner reports whether the node at addr serves slot (CLUSTER SLOTS
// as that node sees it).
func slotOwner(addr string, slot int) (bool, error) {
	c, err := redis.Dial("tcp", addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	myid, err := redis.String(c.Do("CLUSTER", "MYID"))
	if err != nil {
		return false, err
	}
	ranges, err := redis.Values(c.Do("CLUSTER", "SLOTS"))
	if err != nil {
		return false, err
	}
	for _, r := range ranges {
		v, _ := redis.Values(r, nil)
		if len(v) < 3 {
			continue
		}
		lo, _ := redis.Int(v[0], nil)
		hi, _ := redis.Int(v[1], nil)
		node, _ := redis.Values(v[2], nil)
		if slot >= lo && slot <= hi && len(node) >= 3 {
			id, _ := redis.String(node[2], nil)
			return id == myid, nil
		}
	}
	return false, nil
}

// Masters returns the cluster's master addresses as its slot map names
// them (the addresses a cluster Store's Stats show); nil on other backends.
func (b *Backend) Masters(t testing.TB) []string {
	t.Helper()
	if b.rc == nil {
		return nil
	}
	var out []string
	if err := b.rc.EachNode(false, func(addr string, _ redis.Conn) error {
		out = append(out, addr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TxAcross runs fn in a Tx on the backend's Store and returns the Tx's
// round trips, commands and error, for a test whose Tx holds objects of
// several models: on one server that is one MULTI/EXEC. On a cluster those
// objects are in several hash slots by design, so it first asserts the
// cluster's answer: the Tx is refused with ErrInvalid naming two of keys
// (one hash slot), before anything is sent (no round trip) and with nothing
// changed (state, when not nil, reads the same before and after); then it
// runs fn in a Batch instead (split per node, each operation atomic alone)
// and returns that, so that the test's assertions on the results hold on
// every backend.
func (b *Backend) TxAcross(t *testing.T, ctx context.Context, fn func(q context.Context) error, state func() string, keys ...string) (int, []string, error) {
	t.Helper()
	var err error
	if b.rc == nil {
		rts, cmds := b.Count(func() { err = b.Store.Tx(ctx, fn) })
		return rts, cmds, err
	}
	before := ""
	if state != nil {
		before = state()
	}
	rts, cmds := b.Count(func() { err = b.Store.Tx(ctx, fn) })
	if !errors.Is(err, rapyer.ErrInvalid) || !strings.Contains(err.Error(), "one hash slot") {
		t.Fatalf("a Tx over several hash slots on a cluster: error %v, want ErrInvalid (one hash slot)", err)
	}
	named := 0
	for _, k := range keys {
		if strings.Contains(err.Error(), strconv.Quote(k)) {
			named++
		}
	}
	if named < 2 && len(keys) >= 2 {
		t.Fatalf("refused Tx: %v names %d of %q, want two", err, named, keys)
	}
	if rts != 0 || len(cmds) != 0 {
		t.Fatalf("refused Tx sent %d round trips %v, want none", rts, cmds)
	}
	if state != nil {
		if after := state(); after != before {
			t.Fatalf("refused Tx changed the state:\n%s\nwant\n%s", after, before)
		}
	}
	rts, cmds = b.Count(func() { err = b.Store.Batch(ctx, fn) })
	return rts, cmds, err
}

// MasterOf returns the address of the master that serves key's hash slot
// (as the masters' own CLUSTER SLOTS say); "" on other backends.
func (b *Backend) MasterOf(t testing.TB, key string) string {
	t.Helper()
	if b.rc == nil {
		return ""
	}
	slot := redisc.Slot(key)
	for _, a := range b.Masters(t) {
		ok, err := slotOwner(a, slot)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return a
		}
	}
	t.Fatalf("no master serves slot %d of %s", slot, key)
	return ""
}
