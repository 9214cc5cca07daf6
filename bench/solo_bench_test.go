package bench

import (
	"os"
	"slices"
	"strconv"
	"testing"
)

// BenchmarkPeersSolo runs one library alone (PEERS_SOLO: rapyer, the
// default, redigo, goredis or rueidis), against the Redis at REDIS_URL only
// (skipped when unset), from 64 and 256 goroutines each on an object of its
// own, the workloads of the Parallel peer benchmarks:
//
//	get          Get (rapyer: Schema.Get; peers: HGETALL, decoded)
//	incr         rapyer: Int.Incr; peers: HINCRBY
//	incr-script  rapyer: Int.Incr; peers: EVALSHA of lua/intadd.lua
//
// It reports ops/s, "cpu-us/op" (this process's CPU time per operation:
// the client's, its goroutines and system calls included) and, when the
// server is a process of this machine, "srv-cpu-us/op" (its main thread's
// CPU time per operation, network reads and writes included). Nothing is
// interleaved, so ops/s compares nothing (the Parallel benchmarks compare);
// the CPU figures vary far less with the machine's load, and tell where a
// library's time goes. With one library per process, -cpuprofile and
// perf stat (system calls per operation) see that library alone:
//
//	PEERS_SOLO=rueidis .ci/with-redis sh -c 'cd bench && go test -run "^$" -bench "PeersSolo/get/goroutines=64" -benchtime 200000x -cpuprofile cpu.out'
func BenchmarkPeersSolo(b *testing.B) {
	url := redisURL(b)
	lib := os.Getenv("PEERS_SOLO")
	if lib == "" {
		lib = "rapyer"
	}
	k := slices.Index(peerLibs, lib)
	if k < 0 {
		b.Fatalf("PEERS_SOLO=%q: want one of %v", lib, peerLibs)
	}
	pe := newPeerEnv(b, url)
	srv := serverCPU(b, pe.env)
	workloads := []struct {
		name  string
		build func(testing.TB, *peerEnv, int) [][]op
	}{{"get", getOps}, {"incr", incrOps}, {"incr-script", incrScriptOps}}
	for _, w := range workloads {
		for _, g := range []int{64, 256} {
			b.Run(w.name+"/goroutines="+strconv.Itoa(g), func(b *testing.B) {
				ops := w.build(b, pe, g)[k]
				b.ResetTimer()
				cpu0, srv0 := processCPU(), int64(0)
				if srv != nil {
					srv0 = srv()
				}
				d, err := runConcurrent(ops, b.N)
				cpu := processCPU() - cpu0
				var srvNs int64
				if srv != nil {
					srvNs = srv() - srv0
				}
				b.StopTimer()
				if err != nil {
					b.Fatalf("%s: %v", lib, err)
				}
				n := float64(b.N)
				b.ReportMetric(n/d.Seconds(), "ops/s")
				if cpu > 0 {
					b.ReportMetric(float64(cpu)/1e3/n, "cpu-us/op")
				}
				if srv != nil {
					b.ReportMetric(float64(srvNs)/1e3/n, "srv-cpu-us/op")
				}
			})
		}
	}
}
