// Package testkit runs one test body on every backend: the embedded server
// always, and a real Redis when REDIS_URL is set. Same assertions on both;
// the differences (how time passes, how keys are isolated) live here.
package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
)

// Backend is one server under test with a Store on it whose connections
// count the round trips and commands they send.
type Backend struct {
	Name  string // "embedded", "redis" or "cluster"
	Store *rapyer.Store

	srv    *embedded.Server // nil for a real Redis
	url    string
	prefix string
	ctr    *counter
	raw    redis.Conn
	rc     *redisc.Cluster // the "cluster" backend's raw access
	seeds  []string        // the "cluster" backend's nodes
}

// ioTimeout is the read and write timeout of the test Stores' connections:
// generous, so that a loaded machine (the race detector on two busy cores)
// does not turn a slow reply into an i/o timeout. Each test step is bounded
// by its context instead (Ctx), whose deadline a Store uses when sooner.
const ioTimeout = 60 * time.Second

// runEmbedded runs f as the "embedded" subtest, on a fresh in-process
// server.
func runEmbedded(t *testing.T, f func(t *testing.T, b *Backend), opts []rapyer.Option) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		srv := embedded.StartT(t)
		f(t, newBackend(t, "embedded", srv.URL(), srv, opts))
	})
}

// Run runs f as a subtest per backend. opts are added to the Store's options
// (after the per-test key prefix and the generous timeouts, so a test may
// set its own).
func Run(t *testing.T, f func(t *testing.T, b *Backend), opts ...rapyer.Option) {
	t.Helper()
	runEmbedded(t, f, opts)
	if url := os.Getenv("REDIS_URL"); url != "" {
		t.Run("redis", func(t *testing.T) {
			f(t, newBackend(t, "redis", url, nil, opts))
		})
	}
	runCluster(t, f, opts)
}

func newBackend(t *testing.T, name, url string, srv *embedded.Server, opts []rapyer.Option) *Backend {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b := &Backend{Name: name, srv: srv, url: url, prefix: "rt" + hex.EncodeToString(rnd[:]) + ":", ctr: &counter{}}
	if name == "cluster" {
		return b.clusterInit(t, opts)
	}
	raw, err := redis.DialURL(url, redis.DialReadTimeout(ioTimeout), redis.DialWriteTimeout(ioTimeout))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b.raw = raw
	b.Store = b.store(t, opts)
	t.Cleanup(func() {
		b.cleanup(t)
		_ = raw.Close()
	})
	return b
}

// StopClock stops the embedded server's wall clock (its TTLs then move only
// with FastForward); on a real server it does nothing. A test that counts
// the process's allocations calls it, since the clock's goroutine allocates.
func (b *Backend) StopClock() {
	if b.srv != nil {
		b.srv.StopClock()
	}
}

// NewStore returns another Store on the backend's server, with the test's
// key prefix, whose round trips and commands count with the first's: a Store
// that has just connected (Ping done).
func (b *Backend) NewStore(t *testing.T, opts ...rapyer.Option) *rapyer.Store {
	t.Helper()
	return b.store(t, opts)
}

func (b *Backend) store(t *testing.T, opts []rapyer.Option) *rapyer.Store {
	t.Helper()
	if b.rc != nil {
		return b.clusterStore(t, opts)
	}
	url, name := b.url, b.Name
	pool := &redis.Pool{
		MaxIdle: 8, MaxActive: 32, Wait: true,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return rapyer.Dial(ctx, url, rapyer.WithReadTimeout(ioTimeout), rapyer.WithWriteTimeout(ioTimeout),
				rapyer.WithDialer(countingDialer(b.ctr)))
		},
	}
	base := []rapyer.Option{rapyer.WithPrefix(b.prefix), rapyer.WithReadTimeout(ioTimeout), rapyer.WithWriteTimeout(ioTimeout)}
	base = append(base, EnvOptions()...)
	st, err := rapyer.NewStore(pool, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = st.Close()
		_ = pool.Close()
	})
	return st
}

// EnvOptions returns the Store options the environment asks for every
// test Store: RAPYER_MUX=off runs the suite without multiplexed
// connections (rapyer.WithoutMultiplexing). Tests that open their own
// Store add them too.
func EnvOptions() []rapyer.Option {
	if os.Getenv("RAPYER_MUX") == "off" {
		return []rapyer.Option{rapyer.WithoutMultiplexing()}
	}
	return nil
}

// cleanup deletes this test's keys (by prefix, never FLUSH).
func (b *Backend) cleanup(t *testing.T) {
	if b.rc != nil {
		b.clusterCleanup(t)
		return
	}
	cursor := "0"
	for i := 0; i < 100000; i++ {
		r, err := redis.Values(b.raw.Do("SCAN", cursor, "MATCH", b.prefix+"*", "COUNT", 1000))
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		cursor, _ = redis.String(r[0], nil)
		keys, _ := redis.Strings(r[1], nil)
		for _, k := range keys {
			_, _ = b.raw.Do("DEL", k)
		}
		if cursor == "0" {
			return
		}
	}
}

// Prefix returns the key prefix of this test's Store.
func (b *Backend) Prefix() string { return b.prefix }

// URL returns the server's URL.
func (b *Backend) URL() string { return b.url }

// Do sends a command on an uncounted connection and fails the test on a
// connection error (error replies are returned).
func (b *Backend) Do(t testing.TB, cmd string, args ...any) (any, error) {
	t.Helper()
	if b.rc != nil {
		return b.clusterDo(t, cmd, args...)
	}
	r, err := b.raw.Do(cmd, args...)
	if _, isReply := err.(redis.Error); err != nil && !isReply {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return r, err
}

// PTTL returns the PTTL of key in milliseconds (-2 missing, -1 no expiry).
func (b *Backend) PTTL(t testing.TB, key string) int64 {
	t.Helper()
	n, err := redis.Int64(b.Do(t, "PTTL", key))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// HGet returns a hash field as stored (ok false when absent).
func (b *Backend) HGet(t testing.TB, key, field string) (string, bool) {
	t.Helper()
	v, err := redis.String(b.Do(t, "HGET", key, field))
	if err == redis.ErrNil {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// Elapse lets d pass for the server's TTLs: FastForward on the embedded
// server, a real sleep on Redis (keep d short there).
func (b *Backend) Elapse(d time.Duration) {
	if b.srv != nil {
		b.srv.FastForward(d)
		return
	}
	time.Sleep(d)
}

// Count resets the counters, runs f and returns the round trips and the
// commands f sent (names upper-cased; EVALSHA shows as EVALSHA).
func (b *Backend) Count(f func()) (roundTrips int, cmds []string) {
	b.ctr.reset()
	f()
	return b.ctr.read()
}

// CountWrites runs f and returns the socket writes made meanwhile (every
// connection's, each Write one: a multiplexed batch is one, however many
// requests it carries) and the commands they sent.
func (b *Backend) CountWrites(f func()) (writes int, cmds []string) {
	b.ctr.reset()
	f()
	_, cmds = b.ctr.read()
	b.ctr.mu.Lock()
	defer b.ctr.mu.Unlock()
	return b.ctr.writes, cmds
}

// Trips returns the round trips counted since the last Count began (or since
// the backend was made), without resetting them.
func (b *Backend) Trips() int {
	n, _ := b.ctr.read()
	return n
}

// Ctx returns a context for one test step, the bound of its I/O: 2 minutes,
// room for the heaviest tests (800 contended Modify calls) under -race on a
// loaded machine, where 30 s was too short.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type counter struct {
	mu   sync.Mutex
	rts  int
	cmds []string
	// perCaller, on a cluster, counts round trips per goroutine: a
	// request split per node goes out concurrently, its first node's group
	// on the caller's goroutine and each other on a goroutine of its own,
	// so the round trips a caller waits for in sequence are the most any
	// one goroutine made (per connection would miss a request that
	// follows another on a different node: a unique value's claim, then
	// the object's write).
	perCaller map[uint64]int
	writing   atomic.Int32 // Writes under way (their commands not counted yet)
	writes    int          // socket writes (each Write of a connection)
}

func (c *counter) reset() {
	// A write before the reset counts its commands once the socket took
	// them, which may be after its replies came back: let it finish, or
	// its commands would land in the count that starts now.
	c.settle()
	c.mu.Lock()
	c.rts, c.cmds, c.writes = 0, nil, 0
	if c.perCaller != nil {
		c.perCaller = map[uint64]int{}
	}
	c.mu.Unlock()
}

// settle waits (a second at most) for the writes under way to count their
// commands: a write's commands are counted once the socket took them,
// which may be just after their replies came back (the caller saw them
// first).
func (c *counter) settle() {
	for i := 0; c.writing.Load() > 0 && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
}

func (c *counter) read() (int, []string) {
	c.settle()
	c.mu.Lock()
	defer c.mu.Unlock()
	rts := c.rts
	if c.perCaller != nil {
		rts = 0
		for _, n := range c.perCaller {
			rts = max(rts, n)
		}
	}
	return rts, append([]string(nil), c.cmds...)
}

func (c *counter) sent(cmd string, flush bool) {
	c.mu.Lock()
	if cmd != "" {
		c.cmds = append(c.cmds, strings.ToUpper(cmd))
	}
	if flush {
		c.rts++
	}
	c.mu.Unlock()
}

// trip counts a round trip (one server).
func (c *counter) wrote() {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
}

func (c *counter) trip() {
	c.mu.Lock()
	c.rts++
	if c.perCaller != nil {
		c.perCaller[goid()]++
	}
	c.mu.Unlock()
}

// goid is the calling goroutine's id, read from its stack header
// ("goroutine 123 [running]:"); for counting only.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n])
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return id
}
