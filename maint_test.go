package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// personIndexed lists the indexed fields of personFields.
var personIndexed = []string{"name", "email", "age", "score", "born", "vip", "home.city"}

// personFieldsBut is personFields with the named fields not indexed (none:
// all of personFields' indexes; "*": no index at all).
func personFieldsBut(plain ...string) func(p *person) rapyer.Fields {
	skip := map[string]bool{}
	for _, n := range plain {
		skip[n] = true
	}
	str := func(h *rapyer.Scalar[string], name string, unique bool) rapyer.Field {
		h = h.Named(name)
		switch {
		case skip["*"] || skip[name]:
		case unique:
			h = h.Unique()
		default:
			h = h.Index()
		}
		return h
	}
	return func(p *person) rapyer.Fields {
		age := p.Age.Named("age")
		score := p.Score.Named("score")
		born := p.Born.Named("born")
		vip := p.Vip.Named("vip")
		if !skip["*"] && !skip["age"] {
			age.Index()
		}
		if !skip["*"] && !skip["score"] {
			score.Index()
		}
		if !skip["*"] && !skip["born"] {
			born.Index()
		}
		if !skip["*"] && !skip["vip"] {
			vip.Index()
		}
		return rapyer.Fields{
			str(&p.Name.Scalar, "name", false),
			str(&p.Email.Scalar, "email", true),
			age, score, born, vip,
			rapyer.Nested("home", str(&p.Home.City.Scalar, "city", false)),
			p.Note.Named("note"),
		}
	}
}

// xKey is the name of the shard-wide key x:<name> of model (keys.go), with
// the shard's tag on the backend ({model:i}, or spread on a cluster).
func xKey(b *testkit.Backend, model string, shard int, name string) string {
	return rapyer.ShardPrefixOf(b.Store, model, shard) + "x:" + name
}

// shardsOf is the model's shard count on the backend (a model without
// WithShards has 12 on a cluster), or shards for a name not defined.
func shardsOf(b *testkit.Backend, model string, shards int) int {
	if n := rapyer.ShardsOf(b.Store, model); n > 0 {
		return n
	}
	return shards
}

// indexState reads every index key of model raw: one line per x:i member
// ("<shard> i <field> <sortkey> <id>", sort key in hex), x:all id and x:rev
// entry (its fields sorted), sorted. Two models holding the same objects
// have the same state.
func indexState(t *testing.T, b *testkit.Backend, model string, shards int, fields []string) []string {
	t.Helper()
	var out []string
	for s := 0; s < shardsOf(b, model, shards); s++ {
		for _, f := range fields {
			ms, err := redis.Strings(b.Do(t, "ZRANGE", xKey(b, model, s, "i:"+f), 0, -1))
			must(t, err)
			for _, m := range ms {
				sk, id, _ := strings.Cut(m, "\x00")
				out = append(out, fmt.Sprintf("%d i %s %x %s", s, f, sk, id))
			}
		}
		all, err := redis.Strings(b.Do(t, "ZRANGE", xKey(b, model, s, "all"), 0, -1))
		must(t, err)
		for _, id := range all {
			out = append(out, fmt.Sprintf("%d all %s", s, id))
		}
		rev, err := redis.StringMap(b.Do(t, "HGETALL", xKey(b, model, s, "rev")))
		must(t, err)
		for id, e := range rev {
			var parts []string
			for f, k := range parseRev(e) {
				parts = append(parts, fmt.Sprintf("%s=%x", f, k))
			}
			sort.Strings(parts)
			out = append(out, fmt.Sprintf("%d rev %s %s", s, id, strings.Join(parts, ",")))
		}
	}
	sort.Strings(out)
	return out
}

// parseRev reads an x:rev entry: "field\0sortkey\0"...
func parseRev(e string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(e, "\x00")
	for i := 0; i+1 < len(parts); i += 2 {
		out[parts[i]] = parts[i+1]
	}
	return out
}

// indexSize counts the members of every index key of model (x:i, x:all,
// x:rev).
func indexSize(t *testing.T, b *testkit.Backend, model string, shards int, fields []string) int {
	t.Helper()
	n := 0
	for s := 0; s < shardsOf(b, model, shards); s++ {
		for _, f := range fields {
			c, err := redis.Int(b.Do(t, "ZCARD", xKey(b, model, s, "i:"+f)))
			must(t, err)
			n += c
		}
		c, err := redis.Int(b.Do(t, "ZCARD", xKey(b, model, s, "all")))
		must(t, err)
		h, err := redis.Int(b.Do(t, "HLEN", xKey(b, model, s, "rev")))
		must(t, err)
		n += c + h
	}
	return n
}

func sameState(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: index state differs\ngot  %q\nwant %q", what, got, want)
	}
}

// samePeople gives the objects of ps copies under schema s with the same
// ids and values (unsaved).
func samePeople(t *testing.T, s *rapyer.Schema[person, *person], st *rapyer.Store, ps []*person) []*person {
	t.Helper()
	out := make([]*person, len(ps))
	for i, p := range ps {
		q, err := s.NewWithID(st, p.ID())
		must(t, err)
		copyField(&q.Name.Scalar, &p.Name.Scalar)
		copyField(&q.Email.Scalar, &p.Email.Scalar)
		copyField(&q.Age.Scalar, &p.Age.Scalar)
		copyField(&q.Score.Scalar, &p.Score.Scalar)
		copyField(&q.Born.Scalar, &p.Born.Scalar)
		copyField(&q.Vip.Scalar, &p.Vip.Scalar)
		copyField(&q.Home.City.Scalar, &p.Home.City.Scalar)
		copyField(&q.Note.Scalar, &p.Note.Scalar)
		out[i] = q
	}
	return out
}

// copyField gives dst src's local value, or makes it absent.
func copyField[T any](dst, src *rapyer.Scalar[T]) {
	if v, ok := src.Lookup(); ok {
		dst.Set(v)
	} else {
		dst.Clear()
	}
}

func TestSweepExpired(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, shards := range []int{1, 4} {
			name := "sweep" + strconv.Itoa(shards)
			s := rapyer.Define(name, personFields, rapyer.WithTTL(time.Hour), rapyer.WithShards(shards))
			for i := 0; i < 5; i++ {
				must(t, newPerson(s, b.Store, "Live", fmt.Sprintf("live%d@x", i), int64(i)).Save(ctx))
			}
			before := indexState(t, b, name, shards, personIndexed)
			size := indexSize(t, b, name, shards, personIndexed)
			const doomed = 23
			for i := 0; i < doomed; i++ {
				p := newPerson(s, b.Store, "Doomed", fmt.Sprintf("d%d@x", i), int64(100+i))
				must(t, p.Save(ctx))
				must(t, p.SetTTL(ctx, 50*time.Millisecond))
			}
			if got := indexSize(t, b, name, shards, personIndexed); got != size+doomed*9 {
				t.Fatalf("%d shards: index size %d with the doomed, want %d", shards, got, size+doomed*9)
			}
			b.Elapse(150 * time.Millisecond)
			var n int
			rt, _ := b.Count(func() {
				var err error
				n, err = s.Sweep(ctx, b.Store, rapyer.ChunkSize(4))
				must(t, err)
			})
			if n != doomed {
				t.Fatalf("%d shards: Sweep reclaimed %d, want %d", shards, n, doomed)
			}
			// 28 ids over the shards, 4 per call, one call per shard per
			// round trip.
			if rt < 2 || rt > 8 {
				t.Fatalf("%d shards: Sweep in %d round trips", shards, rt)
			}
			if got := indexSize(t, b, name, shards, personIndexed); got != size {
				t.Fatalf("%d shards: index size %d after Sweep, want %d", shards, got, size)
			}
			sameState(t, "after Sweep", indexState(t, b, name, shards, personIndexed), before)
			n, err := s.Sweep(ctx, b.Store)
			must(t, err)
			if n != 0 {
				t.Fatalf("second Sweep reclaimed %d", n)
			}
			// The live objects are untouched and still indexed.
			sameState(t, "after a second Sweep", indexState(t, b, name, shards, personIndexed), before)
		}
		// A model without indexes has nothing to sweep, and sends nothing.
		rt, _ := b.Count(func() {
			n, err := users.Sweep(ctx, b.Store)
			must(t, err)
			if n != 0 {
				t.Fatalf("Sweep of an unindexed model: %d", n)
			}
		})
		if rt != 0 {
			t.Fatalf("Sweep of an unindexed model: %d round trips", rt)
		}
	})
}

// TestSweepDeadNotExpired: entries of objects removed behind rapyer's back
// (a raw DEL) are reclaimed too.
func TestSweepDeadNotExpired(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		s := rapyer.Define("sweepdel", personFields, rapyer.WithShards(16))
		var keep []*person
		for i := 0; i < 40; i++ {
			p := newPerson(s, b.Store, "P", fmt.Sprintf("p%d@x", i), int64(i))
			must(t, p.Save(ctx))
			if i%3 == 0 {
				b.Do(t, "DEL", p.Key())
			} else {
				keep = append(keep, p)
			}
		}
		n, err := s.Sweep(ctx, b.Store)
		must(t, err)
		if n != 14 {
			t.Fatalf("Sweep reclaimed %d, want 14", n)
		}
		ref := rapyer.Define("sweepdelref", personFields, rapyer.WithShards(16))
		must(t, ref.SaveMany(ctx, samePeople(t, ref, b.Store, keep)))
		sameState(t, "after Sweep", indexState(t, b, "sweepdel", 16, personIndexed), indexState(t, b, "sweepdelref", 16, personIndexed))
	})
}

func TestReindex(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, shards := range []int{1, 3} {
			name := "reidx" + strconv.Itoa(shards)
			plain := rapyer.Define(name, personFieldsBut("*"), rapyer.WithShards(shards), rapyer.Redefine())
			full := rapyer.Define(name, personFields, rapyer.WithShards(shards), rapyer.Redefine())
			noAge := rapyer.Define(name, personFieldsBut("age"), rapyer.WithShards(shards), rapyer.Redefine())
			ref := rapyer.Define(name+"ref", personFields, rapyer.WithShards(shards))
			// A model whose name extends this one's: never touched.
			other := rapyer.Define(name+"x", personFieldsBut("*"), rapyer.WithShards(shards))
			must(t, newPerson(other, b.Store, "Other", "o@x", 1).Save(ctx))

			// Objects written before any index, with ids full of glob
			// characters and key-format lookalikes.
			ids := []string{"a*b", "q?", "[x]", `back\slash`, "}:o:trick", "x:i:name", "{brace}", "plain", "sp ace", "ü"}
			var ps []*person
			for i, id := range ids {
				p, err := plain.NewWithID(b.Store, id)
				must(t, err)
				p.Name.Set([]string{"Ann", "Bob", "Cid"}[i%3])
				p.Email.Set(fmt.Sprintf("u%d@x", i))
				p.Age.Set(int64(i*7 - 20))
				p.Score.Set(float64(i) / 4)
				p.Born.Set(time.Unix(int64(i)*1000, 0))
				p.Vip.Set(i%2 == 0)
				p.Home.City.Set("Lyon")
				must(t, p.Save(ctx))
				ps = append(ps, p)
			}
			must(t, ref.SaveMany(ctx, samePeople(t, ref, b.Store, ps)))
			want := indexState(t, b, name+"ref", shards, personIndexed)
			if got := indexSize(t, b, name, shards, personIndexed); got != 0 {
				t.Fatalf("unindexed saves made %d index members", got)
			}

			n, err := full.Reindex(ctx, b.Store, rapyer.ChunkSize(4))
			must(t, err)
			if n != len(ids) {
				t.Fatalf("Reindex changed %d objects, want %d", n, len(ids))
			}
			sameState(t, "after Reindex", indexState(t, b, name, shards, personIndexed), want)
			n, err = full.Reindex(ctx, b.Store)
			must(t, err)
			if n != 0 {
				t.Fatalf("second Reindex changed %d objects", n)
			}
			if got := indexSize(t, b, name+"x", shards, personIndexed); got != 0 {
				t.Fatalf("Reindex indexed another model's objects: %d members", got)
			}

			// Writes keep the rebuilt indexes as they keep their own.
			_, err = full.Delete(ctx, b.Store, "q?")
			must(t, err)
			_, err = ref.Delete(ctx, b.Store, "q?")
			must(t, err)
			want = indexState(t, b, name+"ref", shards, personIndexed)
			sameState(t, "after Delete", indexState(t, b, name, shards, personIndexed), want)

			// Dropping an index: its keys and x:rev mentions go.
			n, err = noAge.Reindex(ctx, b.Store)
			must(t, err)
			if n != len(ids)-1 {
				t.Fatalf("Reindex without age changed %d objects", n)
			}
			for sh := 0; sh < shards; sh++ {
				if ex, _ := redis.Int(b.Do(t, "EXISTS", xKey(b, name, sh, "i:age"))); ex != 0 {
					t.Fatal("the dropped index's key is still there")
				}
				rev, err := redis.StringMap(b.Do(t, "HGETALL", xKey(b, name, sh, "rev")))
				must(t, err)
				for id, e := range rev {
					if _, ok := parseRev(e)["age"]; ok {
						t.Fatalf("x:rev of %q still lists age", id)
					}
				}
			}
			// Meanwhile an object is deleted: the age index knows nothing
			// of it when it is declared again.
			_, err = noAge.Delete(ctx, b.Store, "plain")
			must(t, err)
			_, err = ref.Delete(ctx, b.Store, "plain")
			must(t, err)
			n, err = full.Reindex(ctx, b.Store)
			must(t, err)
			if n != len(ids)-2 {
				t.Fatalf("Reindex of a declared-again index changed %d objects", n)
			}
			want = indexState(t, b, name+"ref", shards, personIndexed)
			sameState(t, "index declared again", indexState(t, b, name, shards, personIndexed), want)

			// Orphan members (a live object's wrong value, a dead id) are
			// removed; so is a member x:rev does not back.
			sh := 0
			if shards > 1 {
				sh = 2
			}
			b.Do(t, "ZADD", xKey(b, name, sh, "i:name"), 0, "zzz\x00"+ids[0])
			b.Do(t, "ZADD", xKey(b, name, sh, "i:name"), 0, "Ann\x00ghost")
			b.Do(t, "ZADD", xKey(b, name, sh, "i:age"), 0, "\x03\x00ghost2")
			n, err = full.Reindex(ctx, b.Store)
			must(t, err)
			if n != 0 {
				t.Fatalf("Reindex with orphans changed %d objects", n)
			}
			sameState(t, "orphans removed", indexState(t, b, name, shards, personIndexed), want)

			// A value written behind rapyer's back: its entry moves.
			moved, err := full.Get(ctx, b.Store, ids[2])
			must(t, err)
			b.Do(t, "HSET", moved.Key(), "age", "999", "name", "Zed")
			r, err := ref.Get(ctx, b.Store, ids[2])
			must(t, err)
			r.Age.Set(999)
			r.Name.Set("Zed")
			must(t, r.Update(ctx, &r.Age, &r.Name))
			n, err = full.Reindex(ctx, b.Store)
			must(t, err)
			if n != 1 {
				t.Fatalf("Reindex after a raw write changed %d objects", n)
			}
			want = indexState(t, b, name+"ref", shards, personIndexed)
			sameState(t, "raw write", indexState(t, b, name, shards, personIndexed), want)

			// No index at all: every index key of the model goes.
			_, err = plain.Reindex(ctx, b.Store)
			must(t, err)
			keys, err := redis.Strings(b.Do(t, "KEYS", b.Prefix()+"{"+name+":*}:x:*"))
			must(t, err)
			if len(keys) != 0 {
				t.Fatalf("index keys left with no index declared: %q", keys)
			}
		}
	})
}

func TestReindexUniqueConflicts(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		plain := rapyer.Define("reuniq", personFieldsBut("*"), rapyer.WithShards(4), rapyer.Redefine())
		full := rapyer.Define("reuniq", personFields, rapyer.WithShards(4), rapyer.Redefine())
		var ps []*person
		for i := 0; i < 6; i++ {
			email := fmt.Sprintf("u%d@x", i)
			if i >= 3 {
				email = "dup@x"
			}
			p := newPerson(plain, b.Store, "P", email, int64(i))
			must(t, p.Save(ctx))
			ps = append(ps, p)
		}
		n, err := full.Reindex(ctx, b.Store)
		var ue *rapyer.UniqueError
		if !errors.Is(err, rapyer.ErrExists) || !errors.As(err, &ue) || len(ue.Conflicts) != 2 {
			t.Fatalf("Reindex with duplicates: %v", err)
		}
		if n != 6 {
			t.Fatalf("Reindex changed %d objects, want 6", n)
		}
		wantErr(t, err, rapyer.ErrExists, "email", "dup@x", "reuniq")
		// Exactly one of the three holders is in the email index, and the
		// two others have every other entry.
		holders := map[string]bool{}
		for _, id := range indexIDs(t, b, "reuniq", "email") {
			holders[id] = true
		}
		left := map[string]bool{}
		for _, c := range ue.Conflicts {
			if c.Field != "email" || c.Value != "dup@x" || holders[c.ID] {
				t.Fatalf("conflict %+v (holders %v)", c, holders)
			}
			left[c.ID] = true
		}
		if len(holders) != 4 || len(left) != 2 {
			t.Fatalf("email index holds %v, left out %v", holders, left)
		}
		if got := len(indexIDs(t, b, "reuniq", "age")); got != 6 {
			t.Fatalf("age index holds %d ids, want 6", got)
		}
		// Again: the same conflicts, nothing changed.
		n, err = full.Reindex(ctx, b.Store)
		if !errors.As(err, &ue) || len(ue.Conflicts) != 2 || n != 0 {
			t.Fatalf("second Reindex: %d, %v", n, err)
		}
		// Resolved: the next Reindex completes the index.
		for _, p := range ps[3:] {
			if left[p.ID()] {
				_, err := plain.Delete(ctx, b.Store, p.ID())
				must(t, err)
			}
		}
		_, err = full.Reindex(ctx, b.Store)
		must(t, err)
	})
}

// TestReindexGlobPrefix: a key prefix holding glob characters matches
// itself only.
func TestReindexGlobPrefix(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.PlainStore(t, b.Prefix()+`g*?[a]\`)
		plain := rapyer.Define("reglob", personFieldsBut("*"), rapyer.Redefine())
		full := rapyer.Define("reglob", personFields, rapyer.Redefine())
		for i := 0; i < 3; i++ {
			must(t, newPerson(plain, st, "G", fmt.Sprintf("g%d@x", i), 1).Save(ctx))
		}
		// Keys the pattern would match if its glob characters counted.
		st2 := b.PlainStore(t, b.Prefix()+`gXYaa\`)
		must(t, newPerson(plain, st2, "H", "h@x", 1).Save(ctx))
		n, err := full.Reindex(ctx, st)
		must(t, err)
		if n != 3 {
			t.Fatalf("Reindex under a glob prefix changed %d objects, want 3", n)
		}
		n, err = full.Reindex(ctx, st2)
		must(t, err)
		if n != 1 {
			t.Fatalf("Reindex under the other prefix changed %d objects, want 1", n)
		}
	})
}

// TestReindexLeavesTTL: Reindex and Sweep do not touch the objects' TTLs
// (the TTL matrix exempts them).
func TestReindexLeavesTTL(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		plain := rapyer.Define("rettl", personFieldsBut("*"), rapyer.WithTTL(time.Hour), rapyer.Redefine())
		full := rapyer.Define("rettl", personFields, rapyer.WithTTL(time.Hour), rapyer.Redefine())
		p := newPerson(plain, b.Store, "T", "t@x", 1)
		must(t, p.Save(ctx))
		b.Do(t, "PEXPIRE", p.Key(), 100_000)
		_, err := full.Reindex(ctx, b.Store)
		must(t, err)
		_, err = full.Sweep(ctx, b.Store)
		must(t, err)
		if got := b.PTTL(t, p.Key()); got > 100_000 || got < 0 {
			t.Fatalf("PTTL %d after Reindex and Sweep", got)
		}
		for _, k := range []string{"i:name", "all", "rev"} {
			if got := b.PTTL(t, xKey(b, "rettl", rapyer.ShardOfID(b.Store, "rettl", p.ID()), k)); got != -1 {
				t.Fatalf("index key %s has PTTL %d", k, got)
			}
		}
	})
}

// TestMaintenanceNotQueueable: Sweep and Reindex run at once or not at all;
// in a Batch or Tx they fail with ErrInvalid and the queue sends nothing.
func TestMaintenanceNotQueueable(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for name, f := range map[string]func(q context.Context) error{
			"Sweep":   func(q context.Context) error { _, err := people.Sweep(q, b.Store); return err },
			"Reindex": func(q context.Context) error { _, err := people.Reindex(q, b.Store); return err },
		} {
			var inner error
			err := b.Store.Tx(ctx, func(q context.Context) error {
				inner = f(q)
				return inner
			})
			if !errors.Is(inner, rapyer.ErrInvalid) || !errors.Is(err, rapyer.ErrInvalid) {
				t.Fatalf("%s queued: %v / %v", name, inner, err)
			}
		}
		_, err := people.Sweep(ctx, nil)
		wantErr(t, err, rapyer.ErrInvalid)
		_, err = people.Reindex(ctx, nil)
		wantErr(t, err, rapyer.ErrInvalid)
	})
}

// TestIndexedBulkInsertMany: InsertMany of an indexed model indexes every
// object as Insert does, unique constraints and expired ids' stale entries
// included.
func TestIndexedBulkInsertMany(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		s := rapyer.Define("bulkidx", personFields, rapyer.WithShards(4), rapyer.WithTTL(time.Hour))
		ref := rapyer.Define("bulkidxref", personFields, rapyer.WithShards(4), rapyer.WithTTL(time.Hour))
		var ps []*person
		for i := 0; i < 10; i++ {
			ps = append(ps, newPerson(s, b.Store, "B", fmt.Sprintf("b%d@x", i), int64(i)))
		}
		must(t, s.InsertMany(ctx, ps))
		must(t, ref.SaveMany(ctx, samePeople(t, ref, b.Store, ps)))
		sameState(t, "after InsertMany", indexState(t, b, "bulkidx", 4, personIndexed), indexState(t, b, "bulkidxref", 4, personIndexed))

		// A unique value taken by a stored object, or given twice in one
		// call, refuses the whole call (all or nothing), naming the object,
		// the field and the value; nothing is written or indexed.
		fresh := newPerson(s, b.Store, "F", "fresh@x", 1)
		taken := newPerson(s, b.Store, "T", "b3@x", 2)
		err := s.InsertMany(ctx, []*person{fresh, taken})
		wantErr(t, err, rapyer.ErrExists, "email", "b3@x", taken.ID())
		x1 := newPerson(s, b.Store, "X", "same@x", 1)
		x2 := newPerson(s, b.Store, "X", "same@x", 2)
		wantErr(t, s.InsertMany(ctx, []*person{x1, x2}), rapyer.ErrExists, "email", "same@x", "twice", x2.ID())
		for _, p := range []*person{fresh, taken, x1, x2} {
			if ok, _ := p.Exists(ctx); ok {
				t.Fatalf("after a refused InsertMany, %s exists", p.ID())
			}
		}
		sameState(t, "after refused InsertMany", indexState(t, b, "bulkidx", 4, personIndexed), indexState(t, b, "bulkidxref", 4, personIndexed))

		// An expired object's stale entries are replaced, and its unique
		// value is free.
		must(t, ps[0].SetTTL(ctx, 50*time.Millisecond))
		must(t, ref.SaveMany(ctx, samePeople(t, ref, b.Store, ps[:1])))
		_, err = ref.Delete(ctx, b.Store, ps[0].ID())
		must(t, err)
		b.Elapse(150 * time.Millisecond)
		again, err := s.NewWithID(b.Store, ps[0].ID())
		must(t, err)
		again.Name.Set("Again")
		again.Email.Set("b0@x")
		again.Age.Set(77)
		other := newPerson(s, b.Store, "O", "o@x", 5)
		must(t, s.InsertMany(ctx, []*person{again, other}))
		must(t, ref.SaveMany(ctx, samePeople(t, ref, b.Store, []*person{again, other})))
		sameState(t, "InsertMany over an expired id", indexState(t, b, "bulkidx", 4, personIndexed), indexState(t, b, "bulkidxref", 4, personIndexed))
	})
}

// TestIndexedBulkDeleteMany: DeleteMany of an indexed model removes the
// objects' index entries (expired ones' too) as Delete does.
func TestIndexedBulkDeleteMany(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		s := rapyer.Define("bulkdel", personFields, rapyer.WithShards(4), rapyer.WithTTL(time.Hour))
		ref := rapyer.Define("bulkdelref", personFields, rapyer.WithShards(4), rapyer.WithTTL(time.Hour))
		var ps []*person
		var ids []string
		for i := 0; i < 10; i++ {
			ps = append(ps, newPerson(s, b.Store, "D", fmt.Sprintf("d%d@x", i), int64(i)))
			ids = append(ids, ps[i].ID())
		}
		must(t, s.SaveMany(ctx, ps))
		must(t, ps[5].SetTTL(ctx, 50*time.Millisecond))
		b.Elapse(150 * time.Millisecond)
		n, err := s.DeleteMany(ctx, b.Store, append(ids[:6:6], "nope"))
		must(t, err)
		if n != 5 {
			t.Fatalf("DeleteMany: %d existed, want 5", n)
		}
		must(t, ref.SaveMany(ctx, samePeople(t, ref, b.Store, ps[6:])))
		sameState(t, "after DeleteMany", indexState(t, b, "bulkdel", 4, personIndexed), indexState(t, b, "bulkdelref", 4, personIndexed))
		// Their unique values are free.
		must(t, newPerson(s, b.Store, "N", "d0@x", 1).Insert(ctx))
	})
}
