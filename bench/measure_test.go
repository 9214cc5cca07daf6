package bench

import (
	"testing"
	"time"
)

// op is one operation under measurement; setup happens before it is built.
type op func() error

// measure runs f in the b.Loop loop and reports allocations and cpu-ns/op.
func measure(b *testing.B, f op) {
	b.Helper()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// paired runs lib and raw alternately, one of each per iteration (their
// order swapped every iteration), timing each, and reports "rapyer-ns/op",
// "raw-ns/op" and their ratio "x-raw". Both see the same moment of the
// machine, so the ratio holds when other processes come and go, which the
// separate sub-benchmarks (taken seconds apart) cannot promise. Its ns/op
// and allocs/op are those of the pair.
func paired(b *testing.B, lib, raw op) { pairedAs(b, "rapyer", "raw", lib, raw) }

// pairedAs is paired with the metrics named after x and y: "x-ns/op",
// "y-ns/op" and the ratio "x-y" (x's time over y's).
func pairedAs(b *testing.B, x, y string, lib, raw op) {
	b.Helper()
	b.ReportAllocs()
	var tLib, tRaw time.Duration
	i := 0
	for b.Loop() {
		first, second := lib, raw
		if i%2 == 1 {
			first, second = raw, lib
		}
		t0 := time.Now()
		if err := first(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := second(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if i%2 == 0 {
			tLib, tRaw = tLib+t1.Sub(t0), tRaw+t2.Sub(t1)
		} else {
			tRaw, tLib = tRaw+t1.Sub(t0), tLib+t2.Sub(t1)
		}
		i++
	}
	if i > 0 && tRaw > 0 {
		b.ReportMetric(float64(tLib)/float64(i), x+"-ns/op")
		b.ReportMetric(float64(tRaw)/float64(i), y+"-ns/op")
		b.ReportMetric(float64(tLib)/float64(tRaw), "x-"+y)
	}
}
