package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// libs are the libraries of the peer benchmarks, in the order they are
// drawn; "redigo" (raw redigo) is the baseline of every ratio.
var libs = []string{"rapyer", "redigo", "goredis", "rueidis"}

const baseline = "redigo"

// sample is one line of output: per library, its time per operation in
// nanoseconds (sequential workloads) or its operations per second
// (concurrent ones).
type sample map[string]float64

// series is every line of one benchmark (workload and parameter) on one
// backend, in the order they were read.
type series struct {
	Workload string // "Save", "Get", "GetMany 100", ...
	Param    int    // goroutines for a Parallel workload, else 0
	Parallel bool   // the values are ops/s, not ns/op
	Samples  []sample
}

// results is a parsed results file.
type results struct {
	Header map[string]string // goos, goarch, cpu, pkg as go test prints them
	Series []*series         // in the order first seen
}

// procsSuffix is the "-N" go test appends to a benchmark name (GOMAXPROCS).
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads go test -bench output and keeps the BenchmarkPeers* lines of
// backend. Lines of other benchmarks, other backends and everything else
// are skipped; a Peers line it cannot read is an error naming its line.
func parse(r io.Reader, backend string) (*results, error) {
	res := &results{Header: map[string]string{}}
	index := map[string]*series{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(k, "Benchmark") && !strings.Contains(k, " ") {
			res.Header[k] = strings.TrimSpace(v)
			continue
		}
		if !strings.HasPrefix(line, "BenchmarkPeers") {
			continue
		}
		f := strings.Fields(line)
		parts := strings.Split(procsSuffix.ReplaceAllString(f[0], ""), "/")
		if len(parts) < 2 || parts[1] != backend {
			continue
		}
		s, err := readSeries(parts, f[1:])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		key := s.Workload + "/" + strconv.Itoa(s.Param)
		if old, ok := index[key]; ok {
			old.Samples = append(old.Samples, s.Samples...)
			continue
		}
		index[key] = s
		res.Series = append(res.Series, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// readSeries reads one line: parts is the name split at "/" (the "-N"
// suffix gone), fields what follows the name: the iteration count, then
// value and unit pairs.
func readSeries(parts, fields []string) (*series, error) {
	name := strings.TrimPrefix(parts[0], "BenchmarkPeers")
	s := &series{Workload: name}
	if p, ok := strings.CutSuffix(name, "Parallel"); ok {
		s.Workload, s.Parallel = p, true
	}
	for _, p := range parts[2:] {
		switch {
		case strings.HasPrefix(p, "goroutines="):
			g, err := strconv.Atoi(strings.TrimPrefix(p, "goroutines="))
			if err != nil || g < 1 {
				return nil, fmt.Errorf("%s: bad goroutine count %q", parts[0], p)
			}
			s.Param = g
		default: // "n=100" and the like
			_, v, ok := strings.Cut(p, "=")
			if !ok {
				v = p
			}
			s.Workload += " " + v
		}
	}
	unit := "-ns/op"
	if s.Parallel {
		unit = "-ops/s"
	}
	if len(fields) < 1 || len(fields)%2 != 1 {
		return nil, fmt.Errorf("%s: not an iteration count and value/unit pairs", parts[0])
	}
	smp := sample{}
	for i := 1; i+1 < len(fields); i += 2 {
		lib, ok := strings.CutSuffix(fields[i+1], unit)
		if !ok || !slices.Contains(libs, lib) {
			continue
		}
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: bad %s value %q", parts[0], fields[i+1], fields[i])
		}
		smp[lib] = v
	}
	for _, lib := range libs {
		if _, ok := smp[lib]; !ok {
			return nil, fmt.Errorf("%s: no %s%s metric", parts[0], lib, unit)
		}
	}
	s.Samples = []sample{smp}
	return s, nil
}

// ratio is lib's time per operation over the baseline's in one sample: for
// ns/op lib / redigo, for ops/s redigo / lib. Below 1 is faster than raw
// redigo.
func (s *series) ratio(smp sample, lib string) float64 {
	if s.Parallel {
		return smp[baseline] / smp[lib]
	}
	return smp[lib] / smp[baseline]
}

// stat is a median with its range over the samples.
type stat struct{ Med, Min, Max float64 }

func summarize(vs []float64) stat {
	if len(vs) == 0 {
		return stat{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Med: m, Min: s[0], Max: s[len(s)-1]}
}

// values summarizes lib's raw values (ns/op or ops/s).
func (s *series) values(lib string) stat {
	vs := make([]float64, len(s.Samples))
	for i, smp := range s.Samples {
		vs[i] = smp[lib]
	}
	return summarize(vs)
}

// ratios summarizes lib's ratio to the baseline, sample by sample.
func (s *series) ratios(lib string) stat {
	vs := make([]float64, len(s.Samples))
	for i, smp := range s.Samples {
		vs[i] = s.ratio(smp, lib)
	}
	return summarize(vs)
}

// versus summarizes lib's ops/s over other's, sample by sample (above 1:
// lib is faster), for the targets against rueidis.
func (s *series) versus(lib, other string) stat {
	vs := make([]float64, len(s.Samples))
	for i, smp := range s.Samples {
		vs[i] = s.ratio(smp, other) / s.ratio(smp, lib)
	}
	return summarize(vs)
}

// label is the series' name in tables and on the chart.
func (s *series) label() string {
	if s.Parallel {
		return fmt.Sprintf("%s ×%d", s.Workload, s.Param)
	}
	return s.Workload
}
