package types

// Range reads of SortedSet: by rank, by score (Bound, ScoreOption), and the
// peeks at either end.

import (
	"context"
	"fmt"
	"math"

	"github.com/rapyer-go/rapyer/ops"
)

// PeekMin returns the n members with the lowest scores, lowest first,
// without removing them (ZRANGE 0 n-1 WITHSCORES with the existence check:
// one round trip); fewer when the set has fewer. The local copy is
// unchanged. Errors: rapyer.ErrInvalid (n < 1; nothing sent),
// rapyer.ErrNotFound, rapyer.ErrDecode.
func (z *SortedSet[T]) PeekMin(ctx context.Context, n int) ([]Member[T], error) {
	return z.peek(ctx, "SortedSet.PeekMin", n, false)
}

// PeekMax returns the n members with the highest scores, highest first,
// without removing them (ZRANGE 0 n-1 REV WITHSCORES); as PeekMin
// otherwise.
func (z *SortedSet[T]) PeekMax(ctx context.Context, n int) ([]Member[T], error) {
	return z.peek(ctx, "SortedSet.PeekMax", n, true)
}

func (z *SortedSet[T]) peek(ctx context.Context, op string, n int, rev bool) ([]Member[T], error) {
	if n < 1 {
		return nil, invalid(z, op, fmt.Errorf("count %d: want at least 1", n))
	}
	return z.byRank(ctx, op, 0, n, rev)
}

// RangeByRank returns the members at ascending ranks start (inclusive) to
// stop (exclusive), lowest first: the Python slice members[start:stop], with
// negative indexes counting from the end and clamping (ZRANGE WITHSCORES
// with stop-1, inclusive, and the existence check: one round trip).
// RangeByRank(ctx, -3, math.MaxInt) is the three highest members, in
// ascending order. The local copy is unchanged. Errors: rapyer.ErrNotFound,
// rapyer.ErrDecode.
func (z *SortedSet[T]) RangeByRank(ctx context.Context, start, stop int) ([]Member[T], error) {
	return z.byRank(ctx, "SortedSet.RangeByRank", start, stop, false)
}

// RevRangeByRank is RangeByRank over the descending order (rank 0 is the
// highest score): RevRangeByRank(ctx, 0, 10) is the top ten, highest first
// (ZRANGE ... REV WITHSCORES).
func (z *SortedSet[T]) RevRangeByRank(ctx context.Context, start, stop int) ([]Member[T], error) {
	return z.byRank(ctx, "SortedSet.RevRangeByRank", start, stop, true)
}

// byRank reads the Python slice [start:stop] of the order. ZRANGE resolves
// negative indexes and clamps as Python does; its stop is inclusive, so it
// gets stop-1, except for a stop of 0 (or MinInt), an empty slice whatever
// start is, sent as the empty range 1 0.
func (z *SortedSet[T]) byRank(ctx context.Context, op string, start, stop int, rev bool) ([]Member[T], error) {
	args := []any{start, stop - 1}
	if stop == 0 || stop == math.MinInt {
		args = []any{1, 0}
	}
	if rev {
		args = append(args, "REV")
	}
	args = append(args, "WITHSCORES")
	return ops.Read(ctx, op, z, "ZRANGE", z.pairs, args...)
}

// Bound is one end of a score range (RangeByScore): Incl(x) takes scores
// equal to x, Excl(x) does not; Inf and NegInf are the open ends. The zero
// Bound is Incl(0).
type Bound struct {
	score float64
	excl  bool
}

// Incl is a bound that includes score (±Inf allowed).
func Incl(score float64) Bound { return Bound{score: score} }

// Excl is a bound that excludes score (±Inf allowed: Excl(Inf) as the upper
// bound takes every finite score).
func Excl(score float64) Bound { return Bound{score: score, excl: true} }

// Inf is +Inf, inclusive: as the upper bound, no upper limit.
func Inf() Bound { return Bound{score: math.Inf(1)} }

// NegInf is -Inf, inclusive: as the lower bound, no lower limit.
func NegInf() Bound { return Bound{score: math.Inf(-1)} }

// String returns the bound as Redis's ZRANGE BYSCORE takes it ("3", "(3",
// "+inf").
func (b Bound) String() string {
	if b.excl {
		return "(" + formatScore(b.score)
	}
	return formatScore(b.score)
}

// arg returns the bound as sent; empty is true when no score satisfies it.
// An excluded infinity is sent as the largest finite double instead (the
// embedded server reads "(+inf" as inclusive): score > -Inf is
// score >= -MaxFloat64, score < +Inf is score <= MaxFloat64.
func (b Bound) arg(lower bool) (string, bool) {
	if !b.excl || !math.IsInf(b.score, 0) {
		return b.String(), false
	}
	switch {
	case lower && b.score < 0:
		return formatScore(-math.MaxFloat64), false
	case !lower && b.score > 0:
		return formatScore(math.MaxFloat64), false
	}
	return "", true // score > +Inf, score < -Inf
}

// ScoreOption adjusts RangeByScore: ScoreLimit, ScoreDesc.
type ScoreOption interface {
	applyScore(q *scoreQuery)
}

type scoreQuery struct {
	desc          bool
	limit         bool
	offset, count int
}

type scoreOption func(q *scoreQuery)

func (f scoreOption) applyScore(q *scoreQuery) { f(q) }

// ScoreLimit skips the first offset members of the range (in its order) and
// returns at most count of the rest, as LIMIT does: ScoreLimit(0, 0) returns
// nothing, an offset past the end nothing. Without it, the whole range.
// A negative offset or count gives rapyer.ErrInvalid. (rapyer.Limit is the
// query option; this one windows a sorted set's range.)
func ScoreLimit(offset, count int) ScoreOption {
	return scoreOption(func(q *scoreQuery) { q.limit, q.offset, q.count = true, offset, count })
}

// ScoreDesc orders the range from the highest score down (ties in
// descending member bytes); ScoreLimit then counts from the highest. The
// bounds keep their meaning: min is still the lower one. (rapyer.Desc is the
// query option; this one orders a sorted set's range.)
func ScoreDesc() ScoreOption {
	return scoreOption(func(q *scoreQuery) { q.desc = true })
}

// RangeByScore returns the members whose scores lie between min and max
// (each inclusive or exclusive, see Bound), lowest first or, with ScoreDesc,
// highest first, optionally windowed with ScoreLimit (ZRANGE min max BYSCORE
// [REV] [LIMIT] WITHSCORES with the existence check: one round trip). A min
// above max gives no member. The local copy is unchanged. Errors:
// rapyer.ErrInvalid (a NaN bound, a negative offset or count; nothing
// sent), rapyer.ErrNotFound, rapyer.ErrDecode.
func (z *SortedSet[T]) RangeByScore(ctx context.Context, min, max Bound, opts ...ScoreOption) ([]Member[T], error) {
	const op = "SortedSet.RangeByScore"
	var q scoreQuery
	for _, o := range opts {
		if o != nil {
			o.applyScore(&q)
		}
	}
	if math.IsNaN(min.score) || math.IsNaN(max.score) {
		return nil, invalid(z, op, fmt.Errorf("bound is NaN"))
	}
	if q.limit && (q.offset < 0 || q.count < 0) {
		return nil, invalid(z, op, fmt.Errorf("limit offset %d, count %d: want both at least 0", q.offset, q.count))
	}
	lo, none1 := min.arg(true)
	hi, none2 := max.arg(false)
	if none1 || none2 {
		lo, hi = "1", "0" // an empty range; the read still checks existence
	}
	args := []any{lo, hi, "BYSCORE"}
	if q.desc {
		args = []any{hi, lo, "BYSCORE", "REV"}
	}
	if q.limit {
		args = append(args, "LIMIT", q.offset, q.count)
	}
	args = append(args, "WITHSCORES")
	return ops.Read(ctx, op, z, "ZRANGE", z.pairs, args...)
}
