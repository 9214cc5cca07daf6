package bench

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The peer benchmarks (issue 12): rapyer beside raw redigo, go-redis v9 and
// rueidis on the same workloads and the same data (the hash of a Profile),
// the libraries interleaved within every run so that each line of output
// compares them under the same load of the machine. Every line reports, per
// library, "<lib>-ns/op" (or "<lib>-ops/s" under concurrency) and
// "<lib>-x-raw", its time per operation over raw redigo's (lower is
// faster). cmd/chart turns a results file into medians, ranges and a chart.
//
//	BenchmarkPeersSave             Save of one object (rapyer: Model.Save; peers: MULTI HSET HINCRBY _v EXEC)
//	BenchmarkPeersGet              Get of one object (rapyer: Schema.Get; peers: HGETALL, decoded)
//	BenchmarkPeersIncr             rapyer: Int.Incr(ctx, 1); peers: HINCRBY key age 1
//	BenchmarkPeersSaveMany/n=N     Schema.SaveMany of N; peers: one pipeline of N MULTI blocks
//	BenchmarkPeersGetMany/n=N      Schema.GetMany of N; peers: one pipeline of N HGETALL
//	BenchmarkPeersGetParallel/goroutines=G   Get from G goroutines at once, ops/s
//	BenchmarkPeersIncrParallel/goroutines=G  Incr from G goroutines at once, ops/s

// parallelGoroutines are the concurrency levels of the Parallel benchmarks.
var parallelGoroutines = []int{1, 8, 64, 256}

func BenchmarkPeersSave(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) {
		rotate(b, []op{saveLib(b, pe.env), saveRaw(b, pe.env), saveGoRedis(b, pe), saveRueidis(b, pe)})
	})
}

func BenchmarkPeersGet(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) { rotate(b, firsts(getOps(b, pe, 1))) })
}

func BenchmarkPeersIncr(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) { rotate(b, firsts(incrOps(b, pe, 1))) })
}

func BenchmarkPeersSaveMany(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) {
		for _, n := range bulkSizes {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				rotate(b, []op{saveManyLib(b, pe.env, n), saveManyRaw(b, pe.env, n),
					saveManyGoRedis(b, pe, n), saveManyRueidis(b, pe, n)})
			})
		}
	})
}

func BenchmarkPeersGetMany(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) {
		for _, n := range bulkSizes {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				rotate(b, []op{getManyLib(b, pe.env, n), getManyRaw(b, pe.env, n),
					getManyGoRedis(b, pe, n), getManyRueidis(b, pe, n)})
			})
		}
	})
}

func BenchmarkPeersGetParallel(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) { concurrently(b, pe, getOps) })
}

func BenchmarkPeersIncrParallel(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) { concurrently(b, pe, incrOps) })
}

// getOps returns, per library in peerLibs order, n Get operations, each on
// an object of its own saved by rapyer (the same hash for every library).
func getOps(b testing.TB, pe *peerEnv, n int) [][]op {
	ctx := b.Context()
	out := make([][]op, len(peerLibs))
	for i, p := range savedProfiles(b, pe.env, n) {
		id := p.ID()
		out[0] = append(out[0], func() error {
			got, err := Profiles.Get(ctx, pe.st, id)
			if err != nil {
				return err
			}
			if got.Age.Get() != sample.Age {
				return fmt.Errorf("object %d: wrong age %d", i, got.Age.Get())
			}
			return nil
		})
	}
	out[1] = onKeys(b, pe, n, func(k string) op { return getRedigo(pe, k) })
	out[2] = onKeys(b, pe, n, func(k string) op { return getGoRedis(b, pe, k) })
	out[3] = onKeys(b, pe, n, func(k string) op { return getRueidis(b, pe, k) })
	return out
}

// incrOps returns, per library in peerLibs order, n increments of the age
// field, each on an object of its own (a rapyer object is not shared
// between goroutines).
func incrOps(b testing.TB, pe *peerEnv, n int) [][]op {
	ctx := b.Context()
	out := make([][]op, len(peerLibs))
	for _, p := range savedProfiles(b, pe.env, n) {
		out[0] = append(out[0], func() error {
			_, err := p.Age.Incr(ctx, 1)
			return err
		})
	}
	out[1] = onKeys(b, pe, n, func(k string) op { return incrRedigo(pe, k) })
	out[2] = onKeys(b, pe, n, func(k string) op { return incrGoRedis(b, pe, k) })
	out[3] = onKeys(b, pe, n, func(k string) op { return incrRueidis(b, pe, k) })
	return out
}

// onKeys returns mk's operation on each of n objects saved for it, one
// object per operation.
func onKeys(b testing.TB, pe *peerEnv, n int, mk func(key string) op) []op {
	keys := savedKeys(b, pe.env, n)
	out := make([]op, len(keys))
	for i, k := range keys {
		out[i] = mk(k)
	}
	return out
}

// firsts returns the first operation of every library.
func firsts(ops [][]op) []op {
	out := make([]op, len(ops))
	for i, o := range ops {
		out[i] = o[0]
	}
	return out
}

// rotate runs one operation per library (in peerLibs order) per iteration,
// the order rotated by one every iteration so that each library takes each
// place equally often, timing each, and reports "<lib>-ns/op" and
// "<lib>-x-raw" (its time over redigo's). Its own ns/op is that of the
// round of all four.
func rotate(b *testing.B, ops []op) {
	b.Helper()
	if len(ops) != len(peerLibs) {
		b.Fatalf("rotate: %d operations for %d libraries", len(ops), len(peerLibs))
	}
	t := make([]time.Duration, len(ops))
	i := 0
	for b.Loop() {
		for j := range ops {
			k := (i + j) % len(ops)
			t0 := time.Now()
			if err := ops[k](); err != nil {
				b.Fatalf("%s: %v", peerLibs[k], err)
			}
			t[k] += time.Since(t0)
		}
		i++
	}
	for k, name := range peerLibs {
		b.ReportMetric(float64(t[k])/float64(i), name+"-ns/op")
		if k != 1 && t[1] > 0 {
			b.ReportMetric(float64(t[k])/float64(t[1]), name+"-x-raw")
		}
	}
}

// concurrently runs a sub-benchmark "goroutines=G" per concurrency level.
// Each library does b.N operations from G goroutines (each with its own
// object), in up to 4 rounds; within a round the libraries take turns,
// in an order rotated every round. It reports "<lib>-ops/s" (operations
// over the library's own wall time) and "<lib>-x-raw" (redigo's ops/s over
// the library's: its time per operation over redigo's).
func concurrently(b *testing.B, pe *peerEnv, build func(testing.TB, *peerEnv, int) [][]op) {
	for _, g := range parallelGoroutines {
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			g := min(g, b.N)
			ops := build(b, pe, g)
			rounds := min(4, b.N)
			t := make([]time.Duration, len(ops))
			b.ResetTimer()
			done := 0
			for r := range rounds {
				count := (b.N - done) / (rounds - r)
				done += count
				for j := range ops {
					k := (r + j) % len(ops)
					d, err := runConcurrent(ops[k], count)
					if err != nil {
						b.Fatalf("%s: %v", peerLibs[k], err)
					}
					t[k] += d
				}
			}
			b.StopTimer()
			for k, name := range peerLibs {
				b.ReportMetric(float64(b.N)/t[k].Seconds(), name+"-ops/s")
				if k != 1 && t[1] > 0 {
					b.ReportMetric(float64(t[k])/float64(t[1]), name+"-x-raw")
				}
			}
		})
	}
}

// runConcurrent runs count operations from len(ops) goroutines, goroutine
// g calling ops[g], and returns the wall time from the first start to the
// last return. The first error stops every goroutine.
func runConcurrent(ops []op, count int) (time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for _, f := range ops {
		wg.Go(func() {
			for next.Add(1) <= int64(count) {
				if err := f(); err != nil {
					next.Store(int64(count)) // the others stop at their next pick
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}
