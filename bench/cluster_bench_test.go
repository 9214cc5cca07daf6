package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
)

// Cluster benchmarks (issue 11, Performance), against the local cluster at
// REDIS_CLUSTER_ADDRS (skipped when unset; `make -C bench cluster` starts
// one, see README):
//
//	BenchmarkClusterSingle    Save, Get, Incr on the cluster paired with the
//	                          same on the one server at REDIS_URL: metric
//	                          x-server = cluster time / one-server time;
//	                          and raw HGETALL and EVALSHA of lua/int.lua
//	                          paired the same way (the cluster's own cost)
//	BenchmarkClusterMany      GetMany/SaveMany of 1000 Profiles (12 shards
//	                          on a cluster: every master) paired with raw
//	                          redigo pipelines grouped per node and sent
//	                          concurrently (rawCluster): metric x-raw; and
//	                          the same on the one server (REDIS_URL) with
//	                          its one-pipeline baseline, to tell the
//	                          cluster path's share from the rest
//	BenchmarkClusterConcurrent ops/s of 64 goroutines (Get, Incr) on a
//	                          1-master cluster (REDIS_CLUSTER1_ADDRS), the
//	                          3-master one and the one server, in turn;
//	                          metric cores = GOMAXPROCS beside it

// clusterEnv opens a Store on the cluster at addrs (comma-separated) with a
// random prefix, and the raw per-node pools; nil addrs skips.
func clusterEnv(b *testing.B, addrs string) *env {
	b.Helper()
	if addrs == "" {
		b.Skip("REDIS_CLUSTER_ADDRS not set (make -C bench cluster)")
	}
	e := &env{prefix: randPrefix()}
	seeds := strings.Split(addrs, ",")
	st, err := rapyer.OpenCluster(context.Background(), seeds, rapyer.WithPrefix(e.prefix))
	if err != nil {
		b.Fatal(err)
	}
	e.st = st
	e.raw = newRawCluster(b, seeds)
	b.Cleanup(func() {
		for _, p := range e.raw.pools {
			deletePrefix(b, p, e.prefix)
		}
		e.raw.close()
		_ = st.Close()
	})
	return e
}

// rawCluster is what a raw-redigo user of a cluster writes: the slot map
// read once (CLUSTER SLOTS through redisc), a pool per master set up like
// the Store's, keys grouped per node, one pipeline per node, the pipelines
// sent concurrently (one goroutine per node after the first).
type rawCluster struct {
	rc    *redisc.Cluster
	slots [redisc.HashSlots]string
	pools map[string]*redis.Pool
}

func newRawCluster(b *testing.B, seeds []string) *rawCluster {
	b.Helper()
	r := &rawCluster{pools: map[string]*redis.Pool{}}
	r.rc = &redisc.Cluster{
		StartupNodes: seeds,
		CreatePool: func(addr string, _ ...redis.DialOption) (*redis.Pool, error) {
			return &redis.Pool{MaxIdle: 1, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}, nil
		},
		LayoutRefresh: func(_, m [redisc.HashSlots][]string) {
			for i, nodes := range m {
				if len(nodes) > 0 {
					r.slots[i] = nodes[0]
				}
			}
		},
	}
	if err := r.rc.Refresh(); err != nil {
		b.Fatal(err)
	}
	for _, a := range r.slots {
		if a != "" && r.pools[a] == nil {
			r.pools[a] = rawPool("redis://" + a)
			warm(b, r.pools[a])
		}
	}
	return r
}

func (r *rawCluster) close() {
	for _, p := range r.pools {
		_ = p.Close()
	}
	_ = r.rc.Close()
}

// group returns the key indexes per master address.
func (r *rawCluster) group(keys []string) map[string][]int {
	g := map[string][]int{}
	for i, k := range keys {
		a := r.slots[redisc.Slot(k)]
		g[a] = append(g[a], i)
	}
	return g
}

// pipelines runs send then read on each node's group, concurrently.
func (r *rawCluster) pipelines(groups map[string][]int, send func(c redis.Conn, idx []int), read func(rs []any, idx []int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	one := func(addr string, idx []int) {
		c := r.pools[addr].Get()
		defer c.Close()
		send(c, idx)
		rs, err := redis.Values(c.Do(""))
		if err == nil {
			err = read(rs, idx)
		}
		if err != nil {
			mu.Lock()
			first = err
			mu.Unlock()
		}
	}
	var lead string
	for addr, idx := range groups {
		if lead == "" {
			lead = addr
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); one(addr, idx) }()
	}
	one(lead, groups[lead])
	wg.Wait()
	return first
}

// rawPool is the raw baselines' pool, set up like the Store's (as newEnv's).
func rawPool(url string) *redis.Pool {
	return &redis.Pool{
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
}

// BenchmarkClusterSingle: one object's Save, Get and Int.Incr on the
// cluster and on the one server, alternately (paired: x-server is the
// cluster's time over the server's; the target is <= 1.1).
func BenchmarkClusterSingle(b *testing.B) {
	ce := clusterEnv(b, os.Getenv("REDIS_CLUSTER_ADDRS"))
	url := os.Getenv("REDIS_URL")
	if url == "" {
		b.Skip("REDIS_URL not set (the one server to pair with)")
	}
	se := newEnv(b, url)
	for _, w := range []struct {
		name string
		op   func(testing.TB, *env) op
	}{{"Save", saveLib}, {"Get", getLib}, {"Incr", incrLib}} {
		b.Run(w.name, func(b *testing.B) {
			pairedAs(b, "cluster", "server", w.op(b, ce), w.op(b, se))
		})
	}
	// The same commands over raw redigo, on the key's master and on the
	// server: what the cluster costs without rapyer (a server in cluster
	// mode checks every key's slot, in scripts too).
	b.Run("Get/raw-hgetall", func(b *testing.B) {
		pairedAs(b, "cluster", "server", getRawOp(b, ce), getRawOp(b, se))
	})
	b.Run("Incr/raw-evalsha-same", func(b *testing.B) {
		same := func(e *env) op { return evalshaRaw(b, e, rapyerInt, decimalReply, "0", "1", "age", "add", "1", "0") }
		pairedAs(b, "cluster", "server", same(ce), same(se))
	})
}

// poolFor is the raw pool for key: on a cluster, its master's.
func (e *env) poolFor(key string) *redis.Pool {
	if e.raw != nil {
		return e.raw.pools[e.raw.slots[redisc.Slot(key)]]
	}
	return e.pool
}

// BenchmarkClusterMany: GetMany and SaveMany of 1000 Profiles of the
// 12-shard model (the cluster default) over the cluster's masters, paired
// with the raw pipelines per node (target: x-raw <= 1.3).
func BenchmarkClusterMany(b *testing.B) {
	e := clusterEnv(b, os.Getenv("REDIS_CLUSTER_ADDRS"))
	var se *env // the one server, when REDIS_URL is set
	if url := os.Getenv("REDIS_URL"); url != "" {
		se = newEnv(b, url)
	}
	const n = 1000
	b.Run("GetMany/1000/cluster", func(b *testing.B) {
		pairedAs(b, "rapyer", "raw", getManyLib(b, e, n), getManyRawCluster(b, e, n))
	})
	if se != nil {
		b.Run("GetMany/1000/server", func(b *testing.B) { paired(b, getManyLib(b, se, n), getManyRaw(b, se, n)) })
	}
	b.Run("SaveMany/1000/cluster", func(b *testing.B) {
		pairedAs(b, "rapyer", "raw", saveManyLib(b, e, n), saveManyRawCluster(e, n))
	})
	if se != nil {
		b.Run("SaveMany/1000/server", func(b *testing.B) { paired(b, saveManyLib(b, se, n), saveManyRaw(b, se, n)) })
	}
}

func getManyRawCluster(b testing.TB, e *env, n int) op {
	ps := savedProfiles(b, e, n)
	keys := make([]string, n)
	for i, p := range ps {
		keys[i] = p.Key()
	}
	return func() error {
		out := make([]profile, n)
		err := e.raw.pipelines(e.raw.group(keys), func(c redis.Conn, idx []int) {
			for _, i := range idx {
				_ = c.Send("HGETALL", keys[i])
			}
		}, func(rs []any, idx []int) error {
			for k, i := range idx {
				var err error
				if out[i], err = decodeProfile(rs[k], nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && out[n-1].Age != sample.Age {
			err = fmt.Errorf("wrong age")
		}
		return err
	}
}

func saveManyRawCluster(e *env, n int) op {
	keys, vs := rawKeys(e, n)
	return func() error {
		return e.raw.pipelines(e.raw.group(keys), func(c redis.Conn, idx []int) {
			for _, i := range idx {
				k := keys[i]
				_ = c.Send("MULTI")
				_ = c.Send("HSET", hsetArgs(k, &vs[i])...)
				_ = c.Send("HINCRBY", k, "_v", 1)
				_ = c.Send("EXEC")
			}
		}, func(rs []any, idx []int) error {
			for k, i := range idx {
				exec, err := redis.Values(rs[4*k+3], nil)
				if err != nil {
					return err
				}
				if vs[i].Version, err = redis.Int64(exec[1], nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// BenchmarkClusterConcurrent: ops/s of 64 goroutines, each on its own
// object, on a 1-master cluster (REDIS_CLUSTER1_ADDRS), the 3-master one
// (REDIS_CLUSTER_ADDRS) and the one server (REDIS_URL), one after the
// other per workload (CLUSTER_ROUNDS=N: N turns); the metric cores is
// GOMAXPROCS, the cores the client may use (the servers share them).
func BenchmarkClusterConcurrent(b *testing.B) {
	const g = 64
	type target struct {
		name string
		e    *env
	}
	var ts []target
	if a := os.Getenv("REDIS_CLUSTER1_ADDRS"); a != "" {
		ts = append(ts, target{"masters1", clusterEnv(b, a)})
	}
	ts = append(ts, target{"masters3", clusterEnv(b, os.Getenv("REDIS_CLUSTER_ADDRS"))})
	if url := os.Getenv("REDIS_URL"); url != "" {
		ts = append(ts, target{"server", newEnv(b, url)})
	}
	// -count N would run each target N times in a row; CLUSTER_ROUNDS=N
	// runs them in turn N times instead (run with -count 1).
	rounds, _ := strconv.Atoi(os.Getenv("CLUSTER_ROUNDS"))
	ids := make([][]string, len(ts))
	for k, t := range ts {
		ids[k] = make([]string, g)
		for i := range ids[k] {
			ids[k][i] = savedProfile(b, t.e).ID()
		}
	}
	for range max(rounds, 1) {
		for _, w := range []string{"Get", "Incr"} {
			for k, t := range ts {
				st, ids := t.e.st, ids[k]
				f := func(ctx context.Context, i int) error {
					if w == "Get" {
						_, err := Profiles.Get(ctx, st, ids[i])
						return err
					}
					p, err := Profiles.NewWithID(st, ids[i])
					if err == nil {
						_, err = p.Age.Incr(ctx, 1)
					}
					return err
				}
				b.Run(w+"/g"+strconv.Itoa(g)+"/"+t.name, func(b *testing.B) {
					concurrent(b, g, f)
					b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
				})
			}
		}
	}
}
