package types

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/serialize"
)

// Member is a member of a SortedSet with its score.
type Member[T any] struct {
	Value T
	Score float64
}

// SortedSet is a sorted-set field of T, stored as a Redis ZSET under its own
// key (a sibling of the object's hash, same hash tag): a priority queue or a
// leaderboard. Members are identities, so T must have a native codec (see
// Set); Define panics otherwise. Scores are float64 (NaN refused).
//
// Local, no I/O: Local, SetLocal. Remote: see List for the rules every
// operation follows.
type SortedSet[T comparable] struct {
	rapyer.Container
	elems  elems[T]
	items  []Member[T] // ascending score, then member bytes (Redis order)
	staged []Member[T]
	def    []Member[T]
}

// Named gives the handle its field name in the schema.
func (z *SortedSet[T]) Named(name string) *SortedSet[T] {
	z.Container.Init(name, rapyer.ZSetKind, (*zsetLocal[T])(z))
	return z
}

// Codec stores members with c, which must be native.
func (z *SortedSet[T]) Codec(c serialize.Codec[T]) *SortedSet[T] {
	z.elems.codec = c
	return z
}

// Default declares the members a new object (Schema.New) starts with.
func (z *SortedSet[T]) Default(ms ...Member[T]) *SortedSet[T] {
	z.def = append([]Member[T](nil), ms...)
	return z
}

// Local returns the local copy in ascending score order (not a copy of it:
// do not modify it).
func (z *SortedSet[T]) Local() []Member[T] { return z.items }

// SetLocal replaces the local copy (a member given twice keeps its last
// score); Save or Update writes it.
func (z *SortedSet[T]) SetLocal(ms ...Member[T]) {
	z.items = z.normalize(ms)
}

// normalize dedups members (last wins) and sorts them by score, then by the
// encoded member, as Redis orders them.
func (z *SortedSet[T]) normalize(ms []Member[T]) []Member[T] {
	pos := make(map[T]int, len(ms))
	out := make([]Member[T], 0, len(ms))
	for _, m := range ms {
		if i, ok := pos[m.Value]; ok {
			out[i].Score = m.Score
			continue
		}
		pos[m.Value] = len(out)
		out = append(out, m)
	}
	c := z.elems.of(z.Fallback())
	key := func(m Member[T]) string { b, _ := c.Encode(m.Value); return string(b) }
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score < out[j].Score
		}
		return key(out[i]) < key(out[j])
	})
	return out
}

// formatScore is a score as ZADD takes it.
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// parseScore reads a score as Redis replies it.
func parseScore(b []byte) (float64, error) {
	switch string(b) {
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("score %q is not a number", clip(b))
	}
	return f, nil
}

// zsetLocal is SortedSet's rapyer.ContainerLocal, kept off its method set.
type zsetLocal[T comparable] SortedSet[T]

func (z *zsetLocal[T]) Check() error { return z.elems.identity("member") }

func (z *zsetLocal[T]) Encode(fb serialize.Fallback) ([][]byte, error) {
	c := z.elems.of(fb)
	out := make([][]byte, 0, 2*len(z.items))
	for i, m := range z.items {
		if math.IsNaN(m.Score) {
			return nil, fmt.Errorf("member %d: score is NaN", i)
		}
		b, err := c.Encode(m.Value)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		out = append(out, b, []byte(formatScore(m.Score)))
	}
	return out, nil
}

func (z *zsetLocal[T]) Stage(flat [][]byte, fb serialize.Fallback) error {
	c := z.elems.of(fb)
	z.staged = make([]Member[T], 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		v, err := c.Decode(flat[i])
		if err != nil {
			return fmt.Errorf("member %d: %w", i/2, err)
		}
		s, err := parseScore(flat[i+1])
		if err != nil {
			return fmt.Errorf("member %d: %w", i/2, err)
		}
		z.staged = append(z.staged, Member[T]{Value: v, Score: s})
	}
	return nil
}

func (z *zsetLocal[T]) Commit()       { z.items, z.staged = z.staged, nil }
func (z *zsetLocal[T]) Reset()        { z.items, z.staged = nil, nil }
func (z *zsetLocal[T]) ApplyDefault() { z.items = (*SortedSet[T])(z).normalize(z.def) }
