// Command chart turns the output of the peer benchmarks (BenchmarkPeers*,
// go test -bench, saved under bench/results/) into an SVG chart and
// Markdown tables: operations per second per library against goroutines
// for Get and Incr, and every workload's time per operation relative to
// raw redigo, as medians with the min–max of the repetitions (-count). It
// needs nothing but the Go standard library.
//
//	go run ./cmd/chart -svg peers.svg -md results/peers.md results/peers.txt
//
// Flags:
//
//	-backend  which backend's lines to read: redis (default) or embedded
//	-svg      where to write the chart (default peers.svg)
//	-md       where to write the tables (default: standard output)
//	-title    the chart's title (default: "rapyer and its peers" and the
//	          results file's date: line, when it has one)
//
// A results file with no BenchmarkPeers line of the backend is an error,
// and nothing is written.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chart", flag.ContinueOnError)
	backend := fs.String("backend", "redis", "backend whose lines are read (redis, embedded)")
	svgPath := fs.String("svg", "peers.svg", "chart output file")
	mdPath := fs.String("md", "", "Markdown tables output file (default: standard output)")
	title := fs.String("title", "", "chart title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: chart [-backend redis] [-svg out.svg] [-md out.md] results.txt...")
	}
	res := &results{Header: map[string]string{}}
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		r, err := parse(f, *backend)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		res.merge(r)
	}
	if len(res.Series) == 0 {
		return fmt.Errorf("no BenchmarkPeers lines for backend %q in %v", *backend, fs.Args())
	}
	if *title == "" {
		*title = "rapyer and its peers on " + *backend
		if d := res.Header["date"]; d != "" {
			*title += ", " + d
		}
	}
	var svgOut, mdOut bytes.Buffer
	if err := writeSVG(&svgOut, res, *title); err != nil {
		return err
	}
	if err := writeTables(&mdOut, res); err != nil {
		return err
	}
	if err := os.WriteFile(*svgPath, svgOut.Bytes(), 0o644); err != nil {
		return err
	}
	if *mdPath == "" {
		_, err := stdout.Write(mdOut.Bytes())
		return err
	}
	return os.WriteFile(*mdPath, mdOut.Bytes(), 0o644)
}

// merge adds r's series to res: samples of a series both hold are joined.
func (res *results) merge(r *results) {
	for k, v := range r.Header {
		if _, ok := res.Header[k]; !ok {
			res.Header[k] = v
		}
	}
	for _, s := range r.Series {
		found := false
		for _, old := range res.Series {
			if old.Workload == s.Workload && old.Param == s.Param && old.Parallel == s.Parallel {
				old.Samples = append(old.Samples, s.Samples...)
				found = true
				break
			}
		}
		if !found {
			res.Series = append(res.Series, s)
		}
	}
}
