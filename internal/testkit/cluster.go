package testkit

import (
	"context"
	"os"
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
	b.ctr.perConn = map[*wireConn]int{}
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
	opts = append([]rapyer.Option{rapyer.WithPrefix(b.Prefix())}, opts...)
	var st *rapyer.Store
	var err error
	if b.rc != nil {
		st, err = rapyer.OpenCluster(Ctx(t), b.seeds, append(opts, rapyer.WithDialer(p.Dialer()))...)
	} else {
		st, err = rapyer.Open(Ctx(t), p.URL(b), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
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
