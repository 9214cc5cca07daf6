package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
)

// env is one server with two clients on it: a rapyer Store and a plain
// redigo pool configured like the Store's own (same dial options, same pool
// bounds), for the raw baselines.
type env struct {
	st     *rapyer.Store
	pool   *redis.Pool
	prefix string
	// with makes another Store like st, with opts added (hook_bench_test.go).
	with func(b *testing.B, opts ...rapyer.Option) *rapyer.Store
	// raw is a cluster's raw access, per node (cluster_bench_test.go).
	raw *rawCluster
}

// backends runs f as a sub-benchmark per server: "redis" (the real Redis at
// REDIS_URL; skipped when unset), "embedded" (a fresh in-process miniredis)
// and "stub" (canned replies without I/O, see stubConn: the client's CPU
// alone). On "embedded" the server runs in the benchmark's process, so its
// allocations count in B/op and allocs/op; on "redis" and "stub" they are
// the client's alone.
func backends(b *testing.B, f func(b *testing.B, e *env)) {
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			b.Skip("REDIS_URL not set")
		}
		f(b, newEnv(b, url))
	})
	b.Run("embedded", func(b *testing.B) {
		srv, err := embedded.Start()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = srv.Close() })
		f(b, newEnv(b, srv.URL()))
	})
	b.Run("stub", func(b *testing.B) { f(b, newStubEnv(b)) })
}

// newStubEnv is newEnv over stubConn: the Store through NewStore on a pool
// set up like the raw one, whose connections are rapyer's own (NewConn,
// what Open dials), so the stub measures what Open's users run.
func newStubEnv(b *testing.B) *env {
	b.Helper()
	pool := func(wrap func(net.Conn) redis.Conn) *redis.Pool {
		return &redis.Pool{
			MaxIdle:     16,
			MaxActive:   64,
			IdleTimeout: 5 * time.Minute,
			Wait:        true,
			Dial:        func() (redis.Conn, error) { return wrap(&stubConn{}), nil },
		}
	}
	libPool := pool(func(nc net.Conn) redis.Conn { return rapyer.NewConn(nc) })
	rawPool := pool(func(nc net.Conn) redis.Conn { return redis.NewConn(nc, 3*time.Second, 3*time.Second) })
	// Pooled: the stub answers a write with its replies and has nothing to
	// read otherwise, which a multiplexed connection's reader (always
	// reading) takes for a closed connection.
	st, err := rapyer.NewStore(libPool, rapyer.WithPrefix("bench:"), rapyer.WithoutMultiplexing())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = st.Close()
		_ = libPool.Close()
		_ = rawPool.Close()
	})
	with := func(b *testing.B, opts ...rapyer.Option) *rapyer.Store {
		st, err := rapyer.NewStore(libPool, append([]rapyer.Option{rapyer.WithPrefix("bench:")}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	return &env{st: st, pool: rawPool, prefix: "bench:", with: with}
}

// redisURL returns REDIS_URL, and skips b when it is unset (a benchmark of
// a real server only).
func redisURL(b *testing.B) string {
	b.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		b.Skip("REDIS_URL not set")
	}
	return url
}

// newEnv opens both clients on url with a random key prefix and, at cleanup,
// deletes every key under that prefix (SCAN + DEL; never FLUSH).
func newEnv(b testing.TB, url string) *env {
	b.Helper()
	prefix := randPrefix()
	ctx := context.Background()
	st, err := rapyer.Open(ctx, url, rapyer.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	// The same settings rapyer.Open gives its own pool (options.go defaults).
	pool := &redis.Pool{
		MaxIdle:     16,
		MaxActive:   64,
		IdleTimeout: 5 * time.Minute,
		Wait:        true,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialURLContext(ctx, url,
				redis.DialConnectTimeout(5*time.Second),
				redis.DialReadTimeout(3*time.Second),
				redis.DialWriteTimeout(3*time.Second),
			)
		},
	}
	b.Cleanup(func() {
		deletePrefix(b, pool, prefix)
		_ = pool.Close()
		_ = st.Close()
	})
	with := func(b *testing.B, opts ...rapyer.Option) *rapyer.Store {
		st, err := rapyer.Open(ctx, url, append([]rapyer.Option{rapyer.WithPrefix(prefix)}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st
	}
	return &env{st: st, pool: pool, prefix: prefix, with: with}
}

// randPrefix is a fresh key prefix for one environment's keys.
func randPrefix() string {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return "bench" + hex.EncodeToString(rnd[:]) + ":"
}

func deletePrefix(b testing.TB, pool *redis.Pool, prefix string) {
	c := pool.Get()
	defer c.Close()
	cursor := "0"
	for {
		r, err := redis.Values(c.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			b.Logf("cleanup of %s*: %v", prefix, err)
			return
		}
		cursor, _ = redis.String(r[0], nil)
		keys, _ := redis.Values(r[1], nil)
		if len(keys) > 0 {
			if _, err := c.Do("DEL", keys...); err != nil {
				b.Logf("cleanup of %s*: %v", prefix, err)
			}
		}
		if cursor == "0" {
			return
		}
	}
}

// warm makes sure the pool holds an open connection before timing starts.
func warm(b testing.TB, pool *redis.Pool) {
	b.Helper()
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("PING"); err != nil {
		b.Fatal(err)
	}
}
