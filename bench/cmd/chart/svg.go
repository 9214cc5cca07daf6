package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// colors of the libraries, one per entry of libs.
var colors = map[string]string{
	"rapyer":  "#d62728",
	"redigo":  "#7f7f7f",
	"goredis": "#1f77b4",
	"rueidis": "#2ca02c",
}

// names are the libraries as the legend spells them.
var names = map[string]string{
	"rapyer":  "rapyer",
	"redigo":  "raw redigo",
	"goredis": "go-redis v9",
	"rueidis": "rueidis",
}

const (
	width     = 1000
	lineTop   = 105 // top of the two ops/s panels
	lineH     = 260 // their plot height
	barTop    = 470 // top of the ratio panel
	barH      = 300 // its plot height
	svgHeight = 860
)

// svg is a small SVG writer: every method appends one element.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, a ...any) { fmt.Fprintf(&s.b, format, a...) }

func esc(t string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(t))
	return b.String()
}

func (s *svg) text(x, y float64, anchor, style, t string) {
	s.f(`<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, style, esc(t))
}

func (s *svg) line(x1, y1, x2, y2 float64, style string) {
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>`+"\n", x1, y1, x2, y2, style)
}

// writeSVG draws res: ops/s against goroutines for Get and Incr (medians,
// with the min–max of the repetitions as whiskers), then every workload's
// time per operation relative to raw redigo (log scale, bars from 1).
func writeSVG(w io.Writer, res *results, title string) error {
	s := &svg{}
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, svgHeight, width, svgHeight)
	s.f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	s.text(width/2, 24, "middle", `font-size="16" font-weight="bold"`, title)
	s.text(width/2, 42, "middle", `fill="#555"`, subtitle(res))
	legend(s, 46)
	for i, wl := range []string{"Get", "Incr"} {
		opsPanel(s, res, wl, 70+float64(i)*480, lineTop, 400, lineH)
	}
	ratioPanel(s, res, 70, barTop, width-100, barH)
	s.f("</svg>\n")
	_, err := io.WriteString(w, s.b.String())
	return err
}

// subtitle names the machine, the versions and the repetitions, from the
// results file's header lines, and says what the marks are.
func subtitle(res *results) string {
	var parts []string
	for _, k := range []string{"machine", "go", "redis"} {
		if v := res.Header[k]; v != "" {
			parts = append(parts, v)
		}
	}
	parts = append(parts, fmt.Sprintf("medians of %d runs, whiskers min–max", runs(res.Series)))
	return strings.Join(parts, "; ")
}

func legend(s *svg, y float64) {
	x := 250.0
	for _, lib := range libs {
		s.f(`<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`+"\n", x, y+6, colors[lib])
		s.text(x+20, y+18, "start", "", names[lib])
		x += 130
	}
}

// opsPanel draws the ops/s of workload wl (its Parallel series) against
// goroutines on a log2 axis.
func opsPanel(s *svg, res *results, wl string, x0, y0, w, h float64) {
	var ss []*series
	for _, sr := range res.Series {
		if sr.Parallel && sr.Workload == wl {
			ss = append(ss, sr)
		}
	}
	s.text(x0+w/2, y0-12, "middle", `font-size="14" font-weight="bold"`, wl+": ops/s vs goroutines (higher is better)")
	if len(ss) == 0 {
		s.text(x0+w/2, y0+h/2, "middle", "", "no data")
		return
	}
	slices.SortFunc(ss, func(a, b *series) int { return a.Param - b.Param })
	top := 0.0
	for _, sr := range ss {
		for _, lib := range libs {
			top = max(top, sr.values(lib).Max)
		}
	}
	step := niceStep(top / 5)
	top = math.Ceil(top/step) * step
	maxG := math.Log2(float64(ss[len(ss)-1].Param))
	xOf := func(g int) float64 {
		if maxG == 0 {
			return x0 + w/2
		}
		return x0 + 20 + (w-40)*math.Log2(float64(g))/maxG
	}
	yOf := func(v float64) float64 { return y0 + h - h*v/top }
	for v := 0.0; v <= top+step/2; v += step {
		s.line(x0, yOf(v), x0+w, yOf(v), `stroke="#e0e0e0"`)
		s.text(x0-6, yOf(v)+4, "end", "", human(v))
	}
	s.line(x0, y0+h, x0+w, y0+h, `stroke="black"`)
	s.line(x0, y0, x0, y0+h, `stroke="black"`)
	for _, sr := range ss {
		s.text(xOf(sr.Param), y0+h+16, "middle", "", fmt.Sprint(sr.Param))
	}
	s.text(x0+w/2, y0+h+34, "middle", "", "goroutines (log scale)")
	for _, lib := range libs {
		var pts []string
		for _, sr := range ss {
			st := sr.values(lib)
			x := xOf(sr.Param)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, yOf(st.Med)))
			s.line(x, yOf(st.Min), x, yOf(st.Max), fmt.Sprintf(`stroke="%s" stroke-width="1.5"`, colors[lib]))
			s.f(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s</title></circle>`+"\n",
				x, yOf(st.Med), colors[lib], esc(fmt.Sprintf("%s %s: median %.0f ops/s (%.0f–%.0f)", names[lib], sr.label(), st.Med, st.Min, st.Max)))
		}
		s.f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), colors[lib])
	}
}

// ratioPanel draws, per series, the median ratio of every library but the
// baseline to raw redigo as a bar from 1 on a log2 axis, with the range as
// a whisker.
func ratioPanel(s *svg, res *results, x0, y0, w, h float64) {
	s.text(x0+w/2, y0-12, "middle", `font-size="14" font-weight="bold"`,
		"Time per operation relative to raw redigo (dashed line; log scale; below it is faster)")
	others := slices.DeleteFunc(slices.Clone(libs), func(l string) bool { return l == baseline })
	lo, hi := 1.0, 1.0
	for _, sr := range res.Series {
		for _, lib := range others {
			st := sr.ratios(lib)
			lo, hi = min(lo, st.Min), max(hi, st.Max)
		}
	}
	lo, hi = math.Floor(math.Log2(lo)), math.Ceil(math.Log2(hi))
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	yOf := func(r float64) float64 { return y0 + h - h*(math.Log2(r)-lo)/(hi-lo) }
	for e := lo; e <= hi; e++ {
		r := math.Exp2(e)
		s.line(x0, yOf(r), x0+w, yOf(r), `stroke="#e0e0e0"`)
		s.text(x0-6, yOf(r)+4, "end", "", fmt.Sprintf("%gx", r))
	}
	s.line(x0, y0, x0, y0+h, `stroke="black"`)
	n := len(res.Series)
	if n == 0 {
		s.text(x0+w/2, y0+h/2, "middle", "", "no data")
		return
	}
	gw := w / float64(n)
	bw := gw * 0.8 / float64(len(others))
	for i, sr := range res.Series {
		gx := x0 + float64(i)*gw + gw*0.1
		for j, lib := range others {
			st := sr.ratios(lib)
			x := gx + float64(j)*bw
			ya, yb := yOf(1), yOf(st.Med)
			s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
				x, min(ya, yb), bw-1, math.Max(math.Abs(ya-yb), 1), colors[lib],
				esc(fmt.Sprintf("%s %s: %.2fx raw redigo (%.2f–%.2f)", names[lib], sr.label(), st.Med, st.Min, st.Max)))
			s.line(x+bw/2, yOf(st.Min), x+bw/2, yOf(st.Max), `stroke="black" stroke-width="1"`)
		}
		lx, ly := gx+gw*0.4, y0+h+14
		s.f(`<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-35 %.1f %.1f)">%s</text>`+"\n",
			lx, ly, lx, ly, esc(sr.label()))
	}
	s.line(x0, yOf(1), x0+w, yOf(1), `stroke="#7f7f7f" stroke-width="2" stroke-dasharray="6,4"`)
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// human writes an ops/s figure as 0, 950, 20k, 1.5M.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case v >= 1e3:
		return fmt.Sprintf("%gk", math.Round(v/1e2)/10)
	}
	return fmt.Sprintf("%g", v)
}
