package rapyer_test

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// person has indexed fields of every kind.
type person struct {
	rapyer.Model
	Name  types.Str
	Email types.Str
	Age   types.Int
	Score types.Float
	Born  types.Time
	Vip   types.Bool
	Home  struct{ City types.Str }
	Note  types.Str // not indexed
}

func personFields(p *person) rapyer.Fields {
	return rapyer.Fields{
		p.Name.Named("name").Index(),
		p.Email.Named("email").Unique(),
		p.Age.Named("age").Index(),
		p.Score.Named("score").Index(),
		p.Born.Named("born").Index(),
		p.Vip.Named("vip").Index(),
		rapyer.Nested("home", p.Home.City.Named("city").Index()),
		p.Note.Named("note"),
	}
}

var (
	people        = rapyer.Define("person", personFields)
	peopleTTL     = rapyer.Define("personttl", personFields, rapyer.WithTTL(time.Hour))
	peopleSharded = rapyer.Define("personsh", personFields, rapyer.WithShards(16))
)

// members lists the index entries of field in every shard, as "sortkey-hex|id"
// pairs are hard to read: it returns the ids in index order instead.
// Shards' members are merged in member order (byte order, as in one
// ZSET), so the order is the index's whatever the shard count.
func indexIDs(t *testing.T, b *testkit.Backend, model, field string) []string {
	t.Helper()
	var all []string
	for s := 0; s < rapyer.ShardsOf(b.Store, model); s++ {
		key := xKey(b, model, s, "i:"+field)
		ms, err := redis.Strings(b.Do(t, "ZRANGE", key, 0, -1))
		must(t, err)
		all = append(all, ms...)
	}
	sort.Strings(all)
	out := make([]string, 0, len(all))
	for _, m := range all {
		out = append(out, m[strings.IndexByte(m, 0)+1:])
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func newPerson(s *rapyer.Schema[person, *person], st *rapyer.Store, name, email string, age int64) *person {
	return fillPerson(s.New(st), name, email, age)
}

// fillPerson sets p's fields as newPerson does.
func fillPerson(p *person, name, email string, age int64) *person {
	p.Name.Set(name)
	p.Email.Set(email)
	p.Age.Set(age)
	p.Score.Set(float64(age) * 10)
	p.Born.Set(time.Date(int(2000-age), 1, 1, 0, 0, 0, 0, time.UTC))
	p.Vip.Set(age > 30)
	p.Home.City.Set("Paris")
	return p
}

func TestIndexMaintenance(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := newPerson(people, b.Store, "Alice", "a@x", 30)
		rt, _ := b.Count(func() { must(t, a.Save(ctx)) })
		// On a cluster the unique email is claimed first and the claim
		// confirmed after the save (claim.go).
		if rt != onCluster(b, 1, 3) {
			t.Fatalf("indexed Save: %d round trips", rt)
		}
		c := newPerson(people, b.Store, "Charlie", "c@x", -5)
		must(t, c.Insert(ctx))
		// Index order is value order, negatives included.
		if got := indexIDs(t, b, "person", "age"); len(got) != 2 || got[0] != c.ID() || got[1] != a.ID() {
			t.Fatalf("age index %v", got)
		}
		// A field operation moves the entry in the same round trip.
		rt, _ = b.Count(func() {
			_, err := c.Age.Incr(ctx, 100)
			must(t, err)
		})
		if got := indexIDs(t, b, "person", "age"); rt != 1 || got[0] != a.ID() || got[1] != c.ID() {
			t.Fatalf("after Incr: %v in %d round trips", got, rt)
		}
		_, err := c.Name.Append(ctx, "!")
		must(t, err)
		_, err = c.Score.Mul(ctx, -1)
		must(t, err)
		if got := indexIDs(t, b, "person", "score"); got[0] != c.ID() {
			t.Fatalf("score index after Mul: %v", got)
		}
		// Unique: a taken value is ErrExists naming field and value, nothing
		// written; every write path checks.
		d := newPerson(people, b.Store, "Dup", "a@x", 1)
		wantErr(t, d.Save(ctx), rapyer.ErrExists, "email", "a@x")
		wantErr(t, d.Insert(ctx), rapyer.ErrExists, "email")
		if ok, _ := d.Exists(ctx); ok {
			t.Fatal("a refused Save created the object")
		}
		c.Email.Set("a@x")
		wantErr(t, c.Update(ctx, &c.Email), rapyer.ErrExists, "email")
		wantErr(t, c.Email.Save(ctx), rapyer.ErrExists)
		ok, err := c.Email.CompareAndSwap(ctx, "c@x", "a@x")
		wantErr(t, err, rapyer.ErrExists)
		if ok {
			t.Fatal("CompareAndSwap broke a unique index")
		}
		if v, _ := b.HGet(t, c.Key(), "email"); v != "c@x" {
			t.Fatalf("refused write changed email to %q", v)
		}
		// Saving the same value again on the same object is fine.
		must(t, a.Save(ctx))
		// Delete removes every entry.
		_, err = c.Delete(ctx)
		must(t, err)
		for _, f := range []string{"name", "email", "age", "score", "born", "vip", "home.city"} {
			if got := indexIDs(t, b, "person", f); len(got) != 1 || got[0] != a.ID() {
				t.Fatalf("index %s after Delete: %v", f, got)
			}
		}
		// Its email is free again.
		d.Email.Set("c@x")
		must(t, d.Save(ctx))
		// Clearing an indexed field removes its entry.
		d.Name.Clear()
		must(t, d.Save(ctx))
		for _, id := range indexIDs(t, b, "person", "name") {
			if id == d.ID() {
				t.Fatal("absent field still indexed")
			}
		}
	})
}

func TestIndexExpiredObjects(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := newPerson(peopleTTL, b.Store, "Alice", "a@x", 30)
		must(t, a.Save(ctx))
		must(t, a.SetTTL(ctx, 50*time.Millisecond))
		b.Elapse(150 * time.Millisecond)
		// The expired object's value is free for a unique field.
		n := newPerson(peopleTTL, b.Store, "New", "a@x", 1)
		must(t, n.Insert(ctx))
		// Re-creating the expired id replaces its stale entries.
		again, err := peopleTTL.NewWithID(b.Store, a.ID())
		must(t, err)
		again.Age.Set(99)
		must(t, again.Save(ctx))
		got := indexIDs(t, b, "personttl", "age")
		sort.Strings(got)
		if len(got) != 2 {
			t.Fatalf("age index %v", got)
		}
		if got := indexIDs(t, b, "personttl", "email"); len(got) != 1 || got[0] != n.ID() {
			t.Fatalf("email index kept the expired entry: %v", got)
		}
	})
}

func TestIndexUniqueAcrossShards(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var first *person
		for i := 0; i < 20; i++ {
			p := newPerson(peopleSharded, b.Store, "P", "same@x", int64(i))
			err := p.Save(ctx)
			if i == 0 {
				must(t, err)
				first = p
				continue
			}
			wantErr(t, err, rapyer.ErrExists, "same@x")
		}
		_, err := first.Delete(ctx)
		must(t, err)
		must(t, newPerson(peopleSharded, b.Store, "P", "same@x", 1).Save(ctx))
		_ = context.Background
	})
}

func TestIndexDefinePanics(t *testing.T) {
	type bad struct {
		rapyer.Model
		V types.Value[struct{ A int }]
	}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), `"v"`) {
			t.Fatalf("Define of an index on msgpack: %v", r)
		}
	}()
	rapyer.Define("badidx", func(x *bad) rapyer.Fields { return rapyer.Fields{x.V.Named("v").Index()} })
}

func TestIndexBulkWrites(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ps := []*person{
			newPerson(people, b.Store, "A", "a@x", 1),
			newPerson(people, b.Store, "B", "b@x", 2),
			newPerson(people, b.Store, "C", "c@x", 3),
		}
		rt, _ := b.Count(func() { must(t, people.InsertMany(ctx, ps)) })
		// On a cluster: the ids checked (only when the objects span hash
		// slots: 3 objects over 12 shards share one about once in 144), the
		// unique values claimed, the scripts (one per slot, one request),
		// the claims confirmed.
		want := onCluster(b, 1, 3)
		if b.Name == "cluster" && (redisc.Slot(ps[0].Key()) != redisc.Slot(ps[1].Key()) || redisc.Slot(ps[0].Key()) != redisc.Slot(ps[2].Key())) {
			want = 4
		}
		if rt != want {
			t.Fatalf("indexed InsertMany: %d round trips, want %d", rt, want)
		}
		if got := indexIDs(t, b, "person", "age"); len(got) != 3 || got[0] != ps[0].ID() {
			t.Fatalf("age index after InsertMany: %v", got)
		}
		more := []*person{newPerson(people, b.Store, "D", "d@x", 4), newPerson(people, b.Store, "E", "a@x", 5)}
		wantErr(t, people.InsertMany(ctx, more), rapyer.ErrExists, "email", more[1].ID())
		if ok, _ := more[0].Exists(ctx); ok {
			t.Fatal("a refused InsertMany wrote an object")
		}
		must(t, people.SaveMany(ctx, ps))
		n, err := people.DeleteMany(ctx, b.Store, []string{ps[0].ID(), ps[1].ID(), "ghost"})
		must(t, err)
		if n != 2 {
			t.Fatalf("DeleteMany: %d", n)
		}
		if got := indexIDs(t, b, "person", "email"); len(got) != 1 || got[0] != ps[2].ID() {
			t.Fatalf("email index after DeleteMany: %v, want only %s", got, ps[2].ID())
		}
	})
}

func TestIndexInsertManyChunks(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ps := make([]*person, 250)
		for i := range ps {
			ps[i] = newPerson(peopleSharded, b.Store, "N", "e"+strconv.Itoa(i)+"@x", int64(i))
		}
		rt, _ := b.Count(func() { must(t, peopleSharded.InsertMany(ctx, ps, rapyer.ChunkSize(100))) })
		// The id check, then one script per chunk; on a cluster the unique
		// values claimed (one request) before the chunks and confirmed
		// after.
		if rt != onCluster(b, 3+3, 3+1+3+1) {
			t.Fatalf("InsertMany of 250 by 100: %d round trips", rt)
		}
		if got := indexIDs(t, b, "personsh", "email"); len(got) != 250 {
			t.Fatalf("email index holds %d entries", len(got))
		}
	})
}

// TestIndexFollowsWrittenValues: Insert, Update and Save index the values
// they write and drop the entries of the fields they remove (the scripts
// take these values from their arguments, not from a read of the hash),
// in x:i and in x:rev alike.
func TestIndexFollowsWrittenValues(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		p := newPerson(people, b.Store, "Ann", "ann@x", 40)
		p.Vip.Clear()
		// want: the indexed fields p must have entries for, with the
		// string fields' values (their sort keys are the text itself).
		check := func(step string, want map[string]string) {
			t.Helper()
			for _, f := range []string{"name", "email", "age", "score", "born", "vip", "home.city"} {
				_, wanted := want[f]
				has := slices.Contains(indexIDs(t, b, "person", f), p.ID())
				if has != wanted {
					t.Fatalf("%s: index %s holds the object: %v, want %v", step, f, has, wanted)
				}
			}
			rev, err := redis.String(b.Do(t, "HGET", xKey(b, "person", rapyer.ShardOfID(b.Store, "person", p.ID()), "rev"), p.ID()))
			must(t, err)
			got := parseRev(rev)
			if len(got) != len(want) {
				t.Fatalf("%s: x:rev lists %v, want the fields of %v", step, got, want)
			}
			for f, v := range want {
				if k, ok := got[f]; !ok || (v != "" && k != v) {
					t.Fatalf("%s: x:rev %s = %q, want %q", step, f, k, v)
				}
			}
		}
		must(t, p.Insert(ctx))
		check("Insert", map[string]string{"name": "Ann", "email": "ann@x", "age": "", "score": "", "born": "", "home.city": "Paris"})

		p.Name.Set("Zed")
		p.Age.Clear()
		p.Vip.Set(true)
		must(t, p.Update(ctx, &p.Name, &p.Age, &p.Vip))
		check("Update", map[string]string{"name": "Zed", "email": "ann@x", "vip": "", "score": "", "born": "", "home.city": "Paris"})

		p.Age.Set(7)
		p.Name.Clear()
		p.Home.City.Set("Oslo")
		must(t, p.Save(ctx))
		check("Save", map[string]string{"email": "ann@x", "age": "", "vip": "", "score": "", "born": "", "home.city": "Oslo"})

		if got := indexIDs(t, b, "person", "name"); len(got) != 0 {
			t.Fatalf("name index after Save cleared it: %v", got)
		}
	})
}
