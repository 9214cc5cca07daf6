package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
)

// BenchmarkConcurrent measures operations per second with g goroutines
// calling at once (g = 1, 8, 64, 256), against the Redis at REDIS_URL only
// (skipped when unset): Get and Int.Incr of BenchmarkGet and BenchmarkIncr,
// each goroutine on its own object. Per workload and g, interleaved:
//
//	rapyer        a Store from Open: multiplexed connections (the default)
//	rapyer-pool   a Store from Open with WithoutMultiplexing: a pooled
//	              connection per operation (what rapyer did before)
//	raw           redigo over a pool set up like the Store's (64 active,
//	              wait): HGETALL decoded with strconv, HINCRBY
//
// Metric ops/s: b.N operations over the wall time of all goroutines.
// With -count N, the three run in turn N times. At g = 1, paired-pool
// runs rapyer and rapyer-pool alternately (paired: its x-raw is
// multiplexed / pooled, under the same load).
func BenchmarkConcurrent(b *testing.B) {
	url := redisURL(b)
	e := newEnv(b, url)
	pooled, err := rapyer.Open(context.Background(), url, rapyer.WithPrefix(e.prefix), rapyer.WithoutMultiplexing())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pooled.Close() })
	const most = 256
	// Get reads ids[i], Incr adds to the objects of ids[most+i].
	ids := make([]string, 2*most)
	keys := make([]string, 2*most)
	for i := range ids {
		p := savedProfile(b, e)
		ids[i], keys[i] = p.ID(), p.Key()
	}
	warm(b, e.pool)
	get := func(st *rapyer.Store) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			p, err := Profiles.Get(ctx, st, ids[i])
			if err == nil && p.Age.Get() != sample.Age {
				err = fmt.Errorf("wrong age %d", p.Age.Get())
			}
			return err
		}
	}
	incr := func(st *rapyer.Store) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			p, err := Profiles.NewWithID(st, ids[most+i])
			if err == nil {
				_, err = p.Age.Incr(ctx, 1)
			}
			return err
		}
	}
	rawGet := func(ctx context.Context, i int) error {
		c := e.pool.Get()
		defer c.Close()
		v, err := getRaw(c, keys[i])
		if err == nil && v.Age != sample.Age {
			err = fmt.Errorf("wrong age %d", v.Age)
		}
		return err
	}
	rawIncr := func(ctx context.Context, i int) error {
		c := e.pool.Get()
		defer c.Close()
		_, err := redis.Int64(c.Do("HINCRBY", keys[most+i], "age", 1))
		return err
	}
	for _, w := range []struct {
		name string
		lib  func(*rapyer.Store) func(context.Context, int) error
		raw  func(context.Context, int) error
	}{
		{"Get", get, rawGet},
		{"Incr", incr, rawIncr},
	} {
		for _, g := range []int{1, 8, 64, 256} {
			b.Run(fmt.Sprintf("%s/g%d", w.name, g), func(b *testing.B) {
				b.Run("rapyer", func(b *testing.B) { concurrent(b, g, w.lib(e.st)) })
				b.Run("rapyer-pool", func(b *testing.B) { concurrent(b, g, w.lib(pooled)) })
				b.Run("raw", func(b *testing.B) { concurrent(b, g, w.raw) })
				if g == 1 {
					// One caller: multiplexed and pooled alternately (see
					// paired; here "rapyer" is multiplexed, "raw" pooled).
					ctx := b.Context()
					mux, pool := w.lib(e.st), w.lib(pooled)
					b.Run("paired-pool", func(b *testing.B) {
						paired(b, func() error { return mux(ctx, 0) }, func() error { return pool(ctx, 0) })
					})
				}
			})
		}
	}
}

// concurrent runs b.N calls of f over g goroutines (goroutine i passes i)
// and reports ops/s.
func concurrent(b *testing.B, g int, f func(ctx context.Context, i int) error) {
	b.Helper()
	b.ReportAllocs()
	ctx := b.Context()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	n := int64(b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range g {
		wg.Go(func() {
			for next.Add(1) <= n {
				if err := f(ctx, i); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/took.Seconds(), "ops/s")
}
