package main

import (
	"fmt"
	"io"
	"strings"
)

// writeTables writes res as Markdown: time per operation and ratios to raw
// redigo for the sequential workloads, ops/s and ratios for the concurrent
// ones, each a median with the min–max of the repetitions.
func writeTables(w io.Writer, res *results) error {
	var b strings.Builder
	var seq, par []*series
	for _, s := range res.Series {
		if s.Parallel {
			par = append(par, s)
		} else {
			seq = append(seq, s)
		}
	}
	head := func(first string, ls []string, extra ...string) {
		b.WriteString("| " + first + " |")
		for _, l := range ls {
			b.WriteString(" " + names[l] + " |")
		}
		for _, e := range extra {
			b.WriteString(" " + e + " |")
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(ls)+len(extra)) + "\n")
	}
	others := []string{"rapyer", "goredis", "rueidis"}
	if len(seq) > 0 {
		fmt.Fprintf(&b, "One call at a time: time per operation, median of %d runs\n\n", runs(seq))
		head("workload", libs)
		for _, s := range seq {
			b.WriteString("| " + s.label() + " |")
			for _, l := range libs {
				b.WriteString(" " + duration(s.values(l).Med) + " |")
			}
			b.WriteString("\n")
		}
		b.WriteString("\nThe same, relative to raw redigo (time per operation; below 1 is faster): median (min–max)\n\n")
		head("workload", others)
		for _, s := range seq {
			b.WriteString("| " + s.label() + " |")
			for _, l := range others {
				b.WriteString(" " + ratioCell(s.ratios(l)) + " |")
			}
			b.WriteString("\n")
		}
	}
	if len(par) > 0 {
		fmt.Fprintf(&b, "\nConcurrent calls: operations per second, median of %d runs; rapyer's ops/s over rueidis's, median (min–max)\n\n", runs(par))
		head("workload × goroutines", libs, "rapyer / rueidis")
		for _, s := range par {
			b.WriteString("| " + s.label() + " |")
			for _, l := range libs {
				b.WriteString(fmt.Sprintf(" %.0f |", s.values(l).Med))
			}
			b.WriteString(" " + ratioCell(s.versus("rapyer", "rueidis")) + " |\n")
		}
		b.WriteString("\nThe same, as time per operation relative to raw redigo (redigo's ops/s over the library's; below 1 is faster): median (min–max)\n\n")
		head("workload × goroutines", others)
		for _, s := range par {
			b.WriteString("| " + s.label() + " |")
			for _, l := range others {
				b.WriteString(" " + ratioCell(s.ratios(l)) + " |")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runs is the smallest number of repetitions among ss.
func runs(ss []*series) int {
	n := 0
	for i, s := range ss {
		if i == 0 || len(s.Samples) < n {
			n = len(s.Samples)
		}
	}
	return n
}

func ratioCell(st stat) string {
	return fmt.Sprintf("**%.2f** (%.2f–%.2f)", st.Med, st.Min, st.Max)
}

// duration writes nanoseconds as µs or ms.
func duration(ns float64) string {
	if ns >= 1e6 {
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
	return fmt.Sprintf("%.1f µs", ns/1e3)
}
