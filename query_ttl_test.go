package rapyer_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// Expired objects are never returned, and the query that meets their
// entries reclaims them.
func TestQueryExpired(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var keep, gone []*qm
		for i := 0; i < 10; i++ {
			p := addQM(t, ctx, qmsTTL, b.Store, "n"+strconv.Itoa(i), int64(20+i), nil)
			if i%2 == 0 {
				must(t, p.SetTTL(ctx, 50*time.Millisecond))
				gone = append(gone, p)
			} else {
				keep = append(keep, p)
			}
		}
		b.Elapse(150 * time.Millisecond)
		qt := qmsTTL.Fields()
		got, err := qmsTTL.FindIDs(ctx, b.Store, qt.Age.Gte(20), rapyer.Asc(&qt.Age))
		must(t, err)
		if !slices.Equal(got, idsOf(keep)) {
			t.Fatalf("after expiry: %v, want %v", got, idsOf(keep))
		}
		// The age index met every entry: the dead ones are gone from it, from
		// the other fields' indexes, x:all and x:rev.
		for _, f := range []string{"age", "name", "born", "group"} {
			if ids := indexIDs(t, b, "qmttl", f); len(ids) != len(keep) {
				t.Fatalf("index %s still holds %d entries", f, len(ids))
			}
		}
		if n := shardSum(t, b, "qmttl", "ZCARD", "all"); n != len(keep) {
			t.Fatalf("x:all holds %d", n)
		}
		if n := shardSum(t, b, "qmttl", "HLEN", "rev"); n != len(keep) {
			t.Fatalf("x:rev holds %d", n)
		}
		// Every query form skips the dead (a model-wide TTL running out).
		for _, p := range keep[:2] {
			must(t, p.SetTTL(ctx, 50*time.Millisecond))
		}
		b.Elapse(150 * time.Millisecond)
		n, err := qmsTTL.Count(ctx, b.Store, qt.Group.Eq("g"))
		must(t, err)
		objs, err := qmsTTL.Find(ctx, b.Store, rapyer.All())
		must(t, err)
		if n != 3 || len(objs) != 3 {
			t.Fatalf("Count %d, Find %d after the second expiry", n, len(objs))
		}
		if n := shardSum(t, b, "qmttl", "ZCARD", "all"); n != 3 {
			t.Fatalf("x:all holds %d", n)
		}
		_ = gone
	})
}

// Model-wide TTL, time moved forward: nothing survives, everything is
// reclaimed by one query.
func TestQueryModelTTL(t *testing.T) {
	short := rapyer.Define("qmshort", qmFields, rapyer.WithTTL(80*time.Millisecond))
	qs := short.Fields()
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for i := 0; i < 5; i++ {
			addQM(t, ctx, short, b.Store, "n"+strconv.Itoa(i), int64(i), nil)
		}
		b.Elapse(200 * time.Millisecond)
		got, err := short.Find(ctx, b.Store, qs.Name.Prefix("n"))
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("expired objects returned: %v", names(got))
		}
		for _, f := range []string{"name", "age", "group"} {
			if ids := indexIDs(t, b, "qmshort", f); len(ids) != 0 {
				t.Fatalf("index %s kept %d", f, len(ids))
			}
		}
		for _, k := range []string{"all", "rev"} {
			if n := shardSum(t, b, "qmshort", "EXISTS", k); n != 0 {
				t.Fatalf("x:%s left behind", k)
			}
		}
	})
}

// Round trips: FindIDs and Count one, Find two, on any shard count.
func TestQueryRoundTrips(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, sc := range []struct {
			s schemaQM
			q *qm
		}{{qms, q}, {qms16, q16}} {
			for i := 0; i < 20; i++ {
				addQM(t, ctx, sc.s, b.Store, "n"+strconv.Itoa(i), int64(i), nil)
			}
			pred := rapyer.And(sc.q.Age.Gte(5), sc.q.Note.NotEq("x"))
			for _, c := range []struct {
				name string
				run  func() error
				want int
			}{
				{"FindIDs", func() error { _, err := sc.s.FindIDs(ctx, b.Store, pred, rapyer.Limit(3)); return err }, 1},
				{"Count", func() error { _, err := sc.s.Count(ctx, b.Store, sc.q.Age.Gte(5)); return err }, 1},
				{"Find", func() error { _, err := sc.s.Find(ctx, b.Store, sc.q.Age.Gte(5), rapyer.Desc(&sc.q.Age)); return err }, 2},
				{"FindOne", func() error { _, err := sc.s.FindOne(ctx, b.Store, sc.q.Name.Eq("n3")); return err }, 2},
				{"none", func() error { _, err := sc.s.Find(ctx, b.Store, sc.q.Age.In()); return err }, 0},
			} {
				rt, cmds := b.Count(func() { must(t, c.run()) })
				if rt != c.want {
					t.Fatalf("%s on %s: %d round trips, want %d (%v)", c.name, sc.s.Name(), rt, c.want, cmds)
				}
			}
		}
	})
}

// Find refreshes the TTL of what it loads as Get does; FindIDs and Count
// read no object and refresh nothing.
func TestQueryTTLRefresh(t *testing.T) {
	const lowered = 100_000
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, c := range []struct {
			s       schemaQM
			refresh bool
		}{{qmsTTL, true}, {qmsNoRef, false}} {
			qq := c.s.Fields()
			p := addQM(t, ctx, c.s, b.Store, "Ann", 30, nil)
			lower := func() {
				for _, k := range p.Keys() {
					b.Do(t, "PEXPIRE", k, lowered)
				}
			}
			check := func(op string, refreshed bool) {
				t.Helper()
				for _, k := range p.Keys() {
					got := b.PTTL(t, k)
					if refreshed && got < 3_000_000 || !refreshed && (got > lowered || got < 0) {
						t.Fatalf("%s on %s: PTTL of %s is %d", op, c.s.Name(), k, got)
					}
				}
			}
			for _, o := range []struct {
				name  string
				run   func() error
				loads bool
			}{
				{"Find", func() error { _, err := c.s.Find(ctx, b.Store, qq.Age.Eq(30)); return err }, true},
				{"FindOne", func() error { _, err := c.s.FindOne(ctx, b.Store, qq.Age.Eq(30)); return err }, true},
				{"Iter", func() error {
					for _, err := range c.s.Iter(ctx, b.Store, qq.Age.Eq(30)) {
						return err
					}
					return nil
				}, true},
				{"Page", func() error { _, _, err := c.s.Page(ctx, b.Store, qq.Age.Eq(30)); return err }, true},
				{"FindIDs", func() error { _, err := c.s.FindIDs(ctx, b.Store, qq.Age.Eq(30)); return err }, false},
				{"Count", func() error { _, err := c.s.Count(ctx, b.Store, qq.Age.Eq(30)); return err }, false},
			} {
				lower()
				must(t, o.run())
				check(o.name, o.loads && c.refresh)
			}
		}
	})
}

// shardSum sums cmd's integer reply on the shard-wide key x:<name> of
// every shard of model (ZCARD, HLEN, EXISTS).
func shardSum(t *testing.T, b *testkit.Backend, model, cmd, name string) int {
	t.Helper()
	sum := 0
	for s := 0; s < rapyer.ShardsOf(b.Store, model); s++ {
		n, err := redis.Int(b.Do(t, cmd, xKey(b, model, s, name)))
		must(t, err)
		sum += n
	}
	return sum
}
