//go:build !unix

package bench

import (
	"testing"
	"time"
)

// cpuMeter reports nothing where getrusage is missing.
type cpuMeter struct{}

func startCPU() cpuMeter { return cpuMeter{} }

func (cpuMeter) report(*testing.B) {}

// processCPU is unknown here: 0 (BenchmarkPeersSolo then reports no
// cpu-us/op).
func processCPU() time.Duration { return 0 }
