package types

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
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
// Set); Define panics otherwise, naming the field. Scores are float64: NaN
// is refused (rapyer.ErrInvalid, nothing sent), ±Inf is allowed.
//
// Order. Members are ordered by score, and members with equal scores by
// their encoded bytes (Redis's order: for an int64 member "10" comes before
// "9"). A rank is the 0-based position in ascending order (Rank), or in
// descending order (RevRank).
//
// Rank ranges (RangeByRank, RevRangeByRank) are Python slices, like
// List.Range: start is inclusive, stop exclusive, a negative index counts
// from the end, and indexes outside the set are clamped, so
// RangeByRank(ctx, 0, 3) is the three lowest members and
// RevRangeByRank(ctx, 0, 3) the three highest; math.MaxInt as stop means
// "to the end". Score ranges (RangeByScore) take typed bounds: Incl, Excl,
// Inf, NegInf.
//
// Local, no I/O: Local, SetLocal. Remote: every method taking a context is
// one round trip that re-arms the object's TTL when the model refreshes it
// and returns rapyer.ErrNotFound (writing nothing) when the object does not
// exist. Writes (Add, AddMany, IncrScore, PopMin, PopMax, Remove, Clear) are
// one call of lua/zset.lua and apply their effect to the local copy as the
// server reported it; ReadAll and Load replace the local copy with the stored
// set; the other reads (Score, Rank, RevRank, PeekMin, PeekMax, the ranges,
// Len) see part of the set and leave the local copy as it is. The local
// copy follows the server only as far as this handle saw (another client's
// writes are not seen): ReadAll or Load resynchronise it. A member stored by
// someone else that does not decode gives rapyer.ErrDecode naming the field.
type SortedSet[T comparable] struct {
	rapyer.Container
	elems  elems[T]
	items  []Member[T] // ascending score, then member bytes (Redis order)
	staged []Member[T]
	def    []Member[T]
}

// Named gives the handle its field name in the schema.
func (z *SortedSet[T]) Named(name string) *SortedSet[T] {
	ops.InitContainer(z, name, ops.ZSetKind, (*zsetLocal[T])(z))
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

// Local returns the local copy in ascending order (score, then member
// bytes), not a copy of it: do not modify it.
func (z *SortedSet[T]) Local() []Member[T] { return z.items }

// SetLocal replaces the local copy (a member given twice keeps its last
// score); Save or Update writes it.
func (z *SortedSet[T]) SetLocal(ms ...Member[T]) {
	z.items = z.normalize(ms)
}

// Add sets v's score, adding v when it is not a member (ZADD inside
// lua/zset.lua: one round trip), and reports whether v was added. The local
// copy gets v with score. Errors: rapyer.ErrInvalid (score NaN, or v does
// not encode; nothing sent), rapyer.ErrNotFound.
func (z *SortedSet[T]) Add(ctx context.Context, v T, score float64) (bool, error) {
	return zadd(ctx, z, "SortedSet.Add", []Member[T]{{Value: v, Score: score}}, func(n int) bool { return n == 1 })
}

// AddMany sets the score of every member of ms, adding those that are not
// members, and returns how many were added (one ZADD inside lua/zset.lua,
// sent in slices of 2000 members beyond that; one round trip). A member
// given twice keeps its last score and counts once. With no member, it only
// checks that the object exists. The local copy gets every member with its
// score. Errors: rapyer.ErrInvalid (a NaN score, or a member that does not
// encode, named by position; nothing sent), rapyer.ErrNotFound.
func (z *SortedSet[T]) AddMany(ctx context.Context, ms ...Member[T]) (int, error) {
	if len(ms) == 0 {
		return ops.Read(ctx, "SortedSet.AddMany", z, "ZCARD", existsReply)
	}
	return zadd(ctx, z, "SortedSet.AddMany", ms, func(n int) int { return n })
}

// zadd adds ms (at least one) and returns result(n), n the number added:
// the decode computes the method's own return value (Add's bool), so that a
// queued call's result is of the type Later expects.
func zadd[T comparable, R any](ctx context.Context, z *SortedSet[T], op string, ms []Member[T], result func(n int) R) (R, error) {
	var zero R
	args := make([]any, 1, 1+2*len(ms))
	args[0] = "zadd"
	for i, m := range ms {
		b, err := z.encodeMember(op, i, len(ms), m.Value)
		if err != nil {
			return zero, err
		}
		if math.IsNaN(m.Score) {
			return zero, invalid(z, op, fmt.Errorf("%sscore is NaN", position(i, len(ms))))
		}
		args = append(args, formatScore(m.Score), b)
	}
	ms = slices.Clone(ms) // the local copy gets what was sent, even queued
	return ops.Script(ctx, op, z, lua.ZSet, func(r any, err error) (R, error) {
		n, err := redis.Int(r, err)
		if err != nil {
			return zero, err
		}
		z.upsert(ms)
		return result(n), nil
	}, args...)
}

// IncrScore adds d to v's score (v starts at 0 when it is not a member) and
// returns the new score: ZINCRBY inside lua/zset.lua, after the existence
// check, one round trip. The local copy gets v with the new score. Errors:
// rapyer.ErrInvalid when d is NaN or v does not encode (nothing sent), or
// when the result would be NaN (+Inf plus -Inf; nothing written);
// rapyer.ErrNotFound.
func (z *SortedSet[T]) IncrScore(ctx context.Context, v T, d float64) (float64, error) {
	const op = "SortedSet.IncrScore"
	b, err := z.encodeMember(op, 0, 1, v)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(d) {
		return 0, invalid(z, op, fmt.Errorf("increment is NaN"))
	}
	return ops.Script(ctx, op, z, lua.ZSet, func(r any, err error) (float64, error) {
		s, err := scoreReply(r, err)
		if err != nil {
			return 0, err
		}
		z.upsert([]Member[T]{{Value: v, Score: s.A}})
		return s.A, nil
	}, "incr", formatScore(d), b)
}

// Score returns v's stored score, and false when v is not a member (ZSCORE
// with the existence check: one round trip). The local copy is unchanged.
// Errors: rapyer.ErrInvalid (v does not encode; nothing sent),
// rapyer.ErrNotFound.
func (z *SortedSet[T]) Score(ctx context.Context, v T) (float64, bool, error) {
	const op = "SortedSet.Score"
	b, err := z.encodeMember(op, 0, 1, v)
	if err != nil {
		return 0, false, err
	}
	s, err := ops.Read(ctx, op, z, "ZSCORE", scoreReply, b)
	return s.A, s.B, err
}

// Rank returns v's 0-based position in ascending order (the lowest score
// has rank 0), and false when v is not a member (ZRANK with the existence
// check: one round trip). The local copy is unchanged. Errors:
// rapyer.ErrInvalid (v does not encode; nothing sent), rapyer.ErrNotFound.
func (z *SortedSet[T]) Rank(ctx context.Context, v T) (int, bool, error) {
	return z.rank(ctx, "SortedSet.Rank", "ZRANK", v)
}

// RevRank returns v's 0-based position in descending order (the highest
// score has rank 0), and false when v is not a member (ZREVRANK with the
// existence check: one round trip). The local copy is unchanged. Errors:
// rapyer.ErrInvalid (v does not encode; nothing sent), rapyer.ErrNotFound.
func (z *SortedSet[T]) RevRank(ctx context.Context, v T) (int, bool, error) {
	return z.rank(ctx, "SortedSet.RevRank", "ZREVRANK", v)
}

func (z *SortedSet[T]) rank(ctx context.Context, op, command string, v T) (int, bool, error) {
	b, err := z.encodeMember(op, 0, 1, v)
	if err != nil {
		return 0, false, err
	}
	r, err := ops.Read(ctx, op, z, command, rankReply, b)
	return r.A, r.B, err
}

// PopMin removes and returns the n members with the lowest scores, lowest
// first (ZPOPMIN inside lua/zset.lua: one round trip); fewer when the set
// has fewer, none (and no error) when it is empty. The popped members leave
// the local copy. Errors: rapyer.ErrInvalid (n < 1; nothing sent),
// rapyer.ErrNotFound, rapyer.ErrDecode (a popped member does not decode: it
// was removed all the same, and the local copy is unchanged).
func (z *SortedSet[T]) PopMin(ctx context.Context, n int) ([]Member[T], error) {
	return z.pop(ctx, "SortedSet.PopMin", "popmin", n)
}

// PopMax removes and returns the n members with the highest scores, highest
// first (ZPOPMAX inside lua/zset.lua: one round trip); as PopMin otherwise.
func (z *SortedSet[T]) PopMax(ctx context.Context, n int) ([]Member[T], error) {
	return z.pop(ctx, "SortedSet.PopMax", "popmax", n)
}

func (z *SortedSet[T]) pop(ctx context.Context, op, verb string, n int) ([]Member[T], error) {
	if n < 1 {
		return nil, invalid(z, op, fmt.Errorf("count %d: want at least 1", n))
	}
	return ops.Script(ctx, op, z, lua.ZSet, func(r any, err error) ([]Member[T], error) {
		ms, err := z.pairs(r, err)
		if err != nil {
			return nil, err
		}
		z.drop(ms)
		return ms, nil
	}, verb, n)
}

// Remove removes the members vs and returns how many were members (ZREM
// inside lua/zset.lua, in slices of 4000 members; one round trip). With no
// member, it only checks that the object exists. The members leave the
// local copy. Errors: rapyer.ErrInvalid (a member that does not encode;
// nothing sent), rapyer.ErrNotFound.
func (z *SortedSet[T]) Remove(ctx context.Context, vs ...T) (int, error) {
	const op = "SortedSet.Remove"
	if len(vs) == 0 {
		return ops.Read(ctx, op, z, "ZCARD", existsReply)
	}
	args := make([]any, 1, 1+len(vs))
	args[0] = "zrem"
	for i, v := range vs {
		b, err := z.encodeMember(op, i, len(vs), v)
		if err != nil {
			return 0, err
		}
		args = append(args, b)
	}
	gone := make([]Member[T], len(vs))
	for i, v := range vs {
		gone[i].Value = v
	}
	return ops.Script(ctx, op, z, lua.ZSet, func(r any, err error) (int, error) {
		n, err := redis.Int(r, err)
		if err != nil {
			return 0, err
		}
		z.drop(gone)
		return n, nil
	}, args...)
}

// ReadAll reads the whole stored set (ZRANGE 0 -1 WITHSCORES with the existence
// check: one round trip), makes it the local copy and returns it in
// ascending order. Errors: rapyer.ErrNotFound, rapyer.ErrDecode (the local
// copy is then unchanged).
func (z *SortedSet[T]) ReadAll(ctx context.Context) ([]Member[T], error) {
	// Load's read and decode, returning the new local copy.
	return ops.Read(ctx, "SortedSet.Load", z, "", func(r any, err error) ([]Member[T], error) {
		flat, err := ops.FlatReply(r, err)
		if err != nil {
			return nil, err
		}
		if err := ops.Apply(z, flat); err != nil {
			return nil, err
		}
		return z.items, nil
	})
}

// encodeMember encodes v, reporting rapyer.ErrInvalid (naming its position
// when there are several).
func (z *SortedSet[T]) encodeMember(op string, i, n int, v T) ([]byte, error) {
	b, err := z.elems.encode(ops.Fallback(z), v)
	if err != nil {
		return nil, invalid(z, op, fmt.Errorf("%s%v", position(i, n), err))
	}
	return b, nil
}

func position(i, n int) string {
	if n == 1 {
		return ""
	}
	return "member " + strconv.Itoa(i) + ": "
}

// pairs decodes a flat member, score reply (ZRANGE WITHSCORES, ZPOPMIN).
// Its errors become rapyer.ErrDecode naming the field (FieldRead,
// FieldScript).
func (z *SortedSet[T]) pairs(r any, err error) ([]Member[T], error) {
	flat, err := ops.FlatReply(r, err)
	if err != nil {
		return nil, err
	}
	if len(flat)%2 != 0 {
		return nil, fmt.Errorf("odd member, score reply of %d items", len(flat))
	}
	c := z.elems.of(ops.Fallback(z))
	out := make([]Member[T], 0, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		v, err := c.Decode(flat[i])
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", clip(flat[i]), err)
		}
		s, err := parseScore(flat[i+1])
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", clip(flat[i]), err)
		}
		out = append(out, Member[T]{Value: v, Score: s})
	}
	return out, nil
}

// scoreReply is a score that may be missing (ZSCORE of a non-member): the
// score and whether there is one.
func scoreReply(r any, err error) (rapyer.Pair[float64, bool], error) {
	var p rapyer.Pair[float64, bool]
	if err == nil && r == nil {
		return p, nil
	}
	b, err := redis.Bytes(r, err)
	if err != nil {
		return p, err
	}
	f, err := parseScore(b)
	if err != nil {
		return p, err
	}
	return rapyer.Pair[float64, bool]{A: f, B: true}, nil
}

// rankReply is ZRANK's reply: the rank and whether there is one (nil for a
// non-member).
func rankReply(r any, err error) (rapyer.Pair[int, bool], error) {
	var p rapyer.Pair[int, bool]
	if err == nil && r == nil {
		return p, nil
	}
	n, err := redis.Int(r, err)
	if err != nil {
		return p, err
	}
	return rapyer.Pair[int, bool]{A: n, B: true}, nil
}

// existsReply is the decode of a write with nothing to write (Add, Remove
// with no member): the ZCARD only checks that the object exists.
func existsReply(r any, err error) (int, error) {
	_, err = redis.Int(r, err)
	return 0, err
}

// upsert gives the local copy the members ms with their scores.
func (z *SortedSet[T]) upsert(ms []Member[T]) {
	all := make([]Member[T], 0, len(z.items)+len(ms))
	z.items = z.normalize(append(append(all, z.items...), ms...))
}

// drop removes the values of ms from the local copy.
func (z *SortedSet[T]) drop(ms []Member[T]) {
	if len(ms) == 0 || len(z.items) == 0 {
		return
	}
	gone := make(map[T]struct{}, len(ms))
	for _, m := range ms {
		gone[m.Value] = struct{}{}
	}
	z.items = slices.DeleteFunc(z.items, func(m Member[T]) bool {
		_, ok := gone[m.Value]
		return ok
	})
}

// normalize dedups members (last wins) and sorts them by score, then by the
// encoded member, as Redis orders them.
func (z *SortedSet[T]) normalize(ms []Member[T]) []Member[T] {
	type keyed struct {
		m Member[T]
		k string
	}
	pos := make(map[T]int, len(ms))
	ks := make([]keyed, 0, len(ms))
	for _, m := range ms {
		if i, ok := pos[m.Value]; ok {
			ks[i].m.Score = m.Score
			continue
		}
		pos[m.Value] = len(ks)
		ks = append(ks, keyed{m: m})
	}
	c := z.elems.of(ops.Fallback(z))
	for i := range ks {
		b, _ := c.Encode(ks[i].m.Value)
		ks[i].k = string(b)
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if r := cmp.Compare(a.m.Score, b.m.Score); r != 0 {
			return r
		}
		return strings.Compare(a.k, b.k)
	})
	out := make([]Member[T], len(ks))
	for i := range ks {
		out[i] = ks[i].m
	}
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

// zsetLocal is SortedSet's ops.Local, kept off its method set.
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
