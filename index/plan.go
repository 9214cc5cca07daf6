package index

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Model describes one model's indexes to the engine, as plain values the
// root computes from its schema and the Store's key prefix.
type Model struct {
	// Name is the model's name, by address: it identifies the model, so
	// that a leaf built on another model's handle (Target.Model) is refused
	// even when both models share a name.
	Name   *string
	Fields []Field // the indexed fields, in schema order
	Shards []Shard // one per shard, in shard order
}

// Field is one indexed field of a model.
type Field struct {
	Name   string // dotted name
	Kind   byte   // serialize.SortKind of its encoding
	Unique bool
}

// Shard holds the keys of one shard of a model (all under its hash tag).
type Shard struct {
	Objects string   // the prefix of its object hashes' keys (ending "o:")
	Index   []string // the x:i key of each of Model.Fields
	Rev     string   // x:rev
	All     string   // x:all
}

// Query is what a query asks for, besides its predicate.
type Query struct {
	Order  string // the field to sort by; "": by id
	Desc   bool
	Limit  int // -1: every match
	Offset int
	Scan   bool // no index drives it: check every object
}

// Plan is a checked query: the normalised predicate and the options, with
// what every shard's script call shares. None reports a query that matches
// nothing (nothing to send).
type Plan struct {
	Query
	m       *Model
	root    *node    // nil: matches nothing
	sortPos int      // 1-based among m.Fields; 0: by id
	tail    []any    // the script's ARGV after the cursor: scan, predicate
	fields  []string // Fields, made when first needed (match.go)
}

// Compile checks pred and q against model m (nothing is sent). Errors wrap
// ErrInvalid: a bad predicate (see Leaf), an Order field without index, a
// query no index can drive without Scan (naming the fields that would need
// an index).
func Compile(m *Model, pred Pred, q Query) (*Plan, error) {
	p := &Plan{Query: q, m: m}
	pos := make(map[string]int, len(m.Fields))
	for i, x := range m.Fields {
		pos[x.Name] = i + 1
	}
	sortKind := "s"
	if q.Order != "" {
		p.sortPos = pos[q.Order]
		if p.sortPos == 0 {
			return nil, fmt.Errorf("%w: OrderBy(%q): the field has no index (add Index())", ErrInvalid, q.Order)
		}
		sortKind = string(m.Fields[p.sortPos-1].Kind)
	}
	root, err := normalize(m, pred.n, false)
	if err != nil {
		return nil, err
	}
	if root.op == pNone {
		return p, nil
	}
	var missing []string
	if !drivable(root, &missing) && !q.Scan {
		return nil, fmt.Errorf("%w: no index can drive this query: add Index() to field(s) %s, or pass Scan() to check every object", ErrInvalid, quoteList(missing))
	}
	if q.Limit == 0 {
		return p, nil
	}
	p.root = root
	p.tail = []any{p.sortPos, sortKind, boolArg(q.Desc), boolArg(q.Scan)}
	p.tail = encodePred(p.tail, root, pos)
	return p, nil
}

// None reports whether the plan matches nothing (nothing needs sending).
func (p *Plan) None() bool { return p.root == nil }

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// Hit is one match: its sort key ("" when sorting by id) and id.
type Hit struct{ SortKey, ID string }

// cmp orders hits in the query's output order.
func (p *Plan) cmp(a, b Hit) int {
	c := strings.Compare(a.SortKey, b.SortKey)
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if p.Desc {
		return -c
	}
	return c
}

// Script modes of lua/query.lua.
const (
	ModeFind  = "find"  // the matches, live ones only
	ModeLoad  = "load"  // the matches, without the liveness check (the caller loads them)
	ModeCount = "count" // how many live matches
)

// units builds one script call per shard. want: matches per shard (0:
// all); after: only matches after this hit (nil: from the start).
func (p *Plan) units(mode string, want int, after *Hit) []ops.Unit {
	units := make([]ops.Unit, len(p.m.Shards))
	for s, sh := range p.m.Shards {
		keys := make([]string, 0, len(p.m.Fields)+2)
		args := make([]any, 0, 12+len(p.m.Fields)+len(p.tail))
		args = append(args, sh.Objects, mode, len(p.m.Fields))
		for i, x := range p.m.Fields {
			keys = append(keys, sh.Index[i])
			args = append(args, x.Name)
		}
		keys = append(keys, sh.Rev, sh.All)
		args = append(args, p.tail[0], p.tail[1], p.tail[2], want)
		if after != nil {
			args = append(args, "1", after.SortKey, after.ID)
		} else {
			args = append(args, "0", "", "")
		}
		args = append(args, p.tail[3:]...)
		units[s] = ops.ScriptUnit(lua.Query, keys, args)
	}
	return units
}

// Search runs the query on every shard (one round trip, mode ModeFind or
// ModeLoad) and returns the merged matches in output order, offset and
// limit applied (want: the per-shard count, see Want; 0 for all; after:
// only matches after this hit, nil from the start). Errors: exec's, and
// the first script error.
func (p *Plan) Search(ctx context.Context, exec Exec, mode string, want, offset, limit int, after *Hit) ([]Hit, error) {
	res, err := exec(ctx, p.units(mode, want, after))
	if err != nil {
		return nil, err
	}
	var hits []Hit
	for _, r := range res {
		if r.Err != nil {
			return nil, r.Err
		}
		flat, _ := r.Replies[0].([]any)
		if len(flat) > 0 {
			if mark, _ := flat[0].([]byte); len(mark) > 0 && mark[0] == 0 {
				hits = appendMembers(hits, flat[1:], len(mark) > 1)
				continue
			}
		}
		for i := 0; i+1 < len(flat); i += 2 {
			sk, _ := flat[i].([]byte)
			id, _ := flat[i+1].([]byte)
			hits = append(hits, Hit{string(sk), string(id)})
		}
	}
	slices.SortFunc(hits, p.cmp)
	hits = hits[min(offset, len(hits)):]
	if limit >= 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// appendMembers appends the hits of a reply of index members (query.lua's
// "members" form): each is the sort key, "\0", the id; sorted: the hit's
// sort key is "\1" and the member's, else "" (by id).
func appendMembers(hits []Hit, ms []any, sorted bool) []Hit {
	for _, x := range ms {
		m, _ := x.([]byte)
		i := bytes.IndexByte(m, 0)
		if i < 0 {
			continue // not a member: never sent
		}
		var sk string
		if sorted {
			sk = "\x01" + string(m[:i])
		}
		hits = append(hits, Hit{sk, string(m[i+1:])})
	}
	return hits
}

// Count counts the live matches on every shard (one round trip), Offset
// and Limit applied. Errors: exec's, and the first script error.
func (p *Plan) Count(ctx context.Context, exec Exec) (int, error) {
	total, err := sumInts(ctx, exec, p.units(ModeCount, 0, nil))
	if err != nil {
		return 0, err
	}
	total = max(total-p.Offset, 0)
	if p.Limit >= 0 {
		total = min(total, p.Limit)
	}
	return total, nil
}

// Want is the per-shard match count of a query with this window (0: all).
func Want(offset, limit int) int {
	if limit < 0 || limit > math.MaxInt-offset {
		return 0
	}
	return offset + limit
}

// sumInts sends units (each replying one integer, one per shard) in one
// round trip and returns the sum. Errors: exec's, and the first unit's.
func sumInts(ctx context.Context, exec Exec, units []ops.Unit) (int, error) {
	res, err := exec(ctx, units)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, r := range res {
		if r.Err != nil {
			return 0, r.Err
		}
		n, _ := redis.Int(r.Replies[0], nil)
		total += n
	}
	return total, nil
}
