package main

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path, backend string) *results {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parse(f, backend)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestParse(t *testing.T) {
	res := parseFile(t, "testdata/two-runs.txt", "redis")
	var got []string
	for _, s := range res.Series {
		got = append(got, s.label())
	}
	if strings.Join(got, ",") != "Get,GetMany 100,Incr ×64,Incr ×8" {
		t.Fatalf("series %q", got)
	}
	if res.Header["date"] != "2026-12-06 18:00 UTC" || res.Header["cpu"] != "test CPU" {
		t.Errorf("header %v", res.Header)
	}
	get, incr64 := res.Series[0], res.Series[2]
	if len(get.Samples) != 2 || get.Parallel || !incr64.Parallel || incr64.Param != 64 {
		t.Fatalf("get %+v, incr64 %+v", get, incr64)
	}
	tests := []struct {
		name string
		got  stat
		want stat
	}{
		{"Get rapyer ns/op", get.values("rapyer"), stat{70000, 60000, 80000}},
		{"Get rapyer x-raw", get.ratios("rapyer"), stat{1.4, 1.2, 1.6}},
		{"Get rueidis x-raw", get.ratios("rueidis"), stat{1.5, 1, 2}},
		{"Incr ×64 rapyer ops/s", incr64.values("rapyer"), stat{6000, 5000, 7000}},
		{"Incr ×64 rapyer x-raw (redigo's ops/s over rapyer's)", incr64.ratios("rapyer"), stat{(2 + 10.0/7) / 2, 10.0 / 7, 2}},
		{"Incr ×64 rapyer over rueidis", incr64.versus("rapyer", "rueidis"), stat{0.1125, 0.1, 0.125}},
	}
	for _, tt := range tests {
		if !near(tt.got.Med, tt.want.Med) || !near(tt.got.Min, tt.want.Min) || !near(tt.got.Max, tt.want.Max) {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseBackend(t *testing.T) {
	res := parseFile(t, "testdata/two-runs.txt", "embedded")
	if len(res.Series) != 1 || res.Series[0].label() != "Get" || len(res.Series[0].Samples) != 1 {
		t.Fatalf("embedded: %+v", res.Series)
	}
}

func TestParseBadLines(t *testing.T) {
	const ok = "BenchmarkPeersGet/redis-2 10 1 ns/op 1 rapyer-ns/op 1 redigo-ns/op 1 goredis-ns/op 1 rueidis-ns/op"
	tests := []struct{ name, line, want string }{
		{"missing library", "BenchmarkPeersGet/redis-2 10 1 ns/op 1 rapyer-ns/op 1 redigo-ns/op 1 goredis-ns/op", "no rueidis-ns/op metric"},
		{"bad value", strings.Replace(ok, "1 rapyer-ns/op", "x rapyer-ns/op", 1), `bad rapyer-ns/op value "x"`},
		{"zero value", strings.Replace(ok, "1 redigo-ns/op", "0 redigo-ns/op", 1), `bad redigo-ns/op value "0"`},
		{"odd fields", ok + " 3", "not an iteration count"},
		{"bad goroutines", "BenchmarkPeersGetParallel/redis/goroutines=x-2 10 1 ns/op", `bad goroutine count "goroutines=x"`},
		{"ns/op for a parallel line", strings.Replace(ok, "PeersGet/", "PeersGetParallel/", 1), "no rapyer-ops/s metric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(strings.NewReader("goos: linux\n"+tt.line+"\n"), "redis")
			if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming line 2 and %q", err, tt.want)
			}
		})
	}
}

// countSVG checks that the chart is well-formed XML and counts its
// elements by name.
func countSVG(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[string]int{}
	d := xml.NewDecoder(f)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("%s is not well-formed: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	svgPath, mdPath := filepath.Join(dir, "c.svg"), filepath.Join(dir, "c.md")
	if err := run([]string{"-svg", svgPath, "-md", mdPath, "testdata/two-runs.txt"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	n := countSVG(t, svgPath)
	// 4 libraries × 2 concurrency levels of Incr; Get has none (its panel
	// says "no data"). Bars: 3 libraries × 4 series, plus the background
	// and the 4 legend swatches.
	if n["svg"] != 1 || n["circle"] != 8 || n["polyline"] != 4 || n["rect"] != 3*4+1+4 {
		t.Errorf("elements %v", n)
	}
	svg, _ := os.ReadFile(svgPath)
	for _, want := range []string{"rapyer and its peers on redis, 2026-12-06 18:00 UTC", "medians of 2 runs", "rapyer Incr ×64: 1.71x raw redigo (1.43–2.00)", "no data"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	md, _ := os.ReadFile(mdPath)
	for _, want := range []string{
		"| Get | 70.0 µs | 50.0 µs | 45.0 µs | 75.0 µs |",
		"| Get | **1.40** (1.20–1.60) | **0.90** (0.80–1.00) | **1.50** (1.00–2.00) |",
		"| Incr ×64 | 6000 | 10000 | 20000 | 55000 | **0.11** (0.10–0.12) |",
		"median of 2 runs",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("tables lack %q:\n%s", want, md)
		}
	}
}

func TestRunNothingToDraw(t *testing.T) {
	dir := t.TempDir()
	svgPath := filepath.Join(dir, "c.svg")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"-svg", svgPath}, "usage"},
		{"missing file", []string{"-svg", svgPath, filepath.Join(dir, "none.txt")}, "none.txt"},
		{"no line of the backend", []string{"-svg", svgPath, "-backend", "cluster", "testdata/two-runs.txt"}, `backend "cluster"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
			if _, err := os.Stat(svgPath); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s written: %v", svgPath, err)
			}
		})
	}
}
