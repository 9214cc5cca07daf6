//go:build unix

package bench

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter measures the CPU time (user + system) this process spends over
// the timed loop. Against a real Redis that is the client's cost alone: the
// round trip's wait and the server's work are excluded, and it varies far
// less than ns/op when other processes share the machine.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{start: processCPU()} }

// report adds the metric "cpu-ns/op". Call it right after the b.Loop loop:
// b.N then holds the number of iterations the loop ran.
func (m cpuMeter) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
