package rapyer_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// racer is the model of the concurrency test: string and integer indexes
// (whose sort keys sortKeyOf computes), one unique.
type racer struct {
	rapyer.Model
	Name  types.Str
	Email types.Str
	Age   types.Int
	Home  struct{ City types.Str }
	Note  types.Str
}

var racers = rapyer.Define("racer", func(r *racer) rapyer.Fields {
	return rapyer.Fields{
		r.Name.Named("name").Index(),
		r.Email.Named("email").Unique(),
		r.Age.Named("age").Index(),
		rapyer.Nested("home", r.Home.City.Named("city").Index()),
		r.Note.Named("note"),
	}
}, rapyer.WithShards(4))

var racerIndexed = map[string]byte{"name": 's', "email": 's', "age": 'i', "home.city": 's'}

// sortKeyOf is lua/index.lua's sort key of stored text for kinds s and i.
func sortKeyOf(kind byte, text string) string {
	if kind == 's' {
		return strings.NewReplacer("\x00", "\x01\x01", "\x01", "\x01\x02").Replace(text)
	}
	if text == "0" {
		return "\x03"
	}
	digits, neg := strings.CutPrefix(text, "-")
	if !neg {
		return "\x04" + string([]byte{byte(len(digits))}) + digits
	}
	c := []byte(digits)
	for i, d := range c {
		c[i] = 105 - d
	}
	return "\x02" + string([]byte{byte(255 - len(digits))}) + string(c)
}

// TestIndexConcurrentWriters: goroutines write a shared set of indexed
// objects in every way (Save, Insert, Update, Incr, Append,
// CompareAndSwap on the unique field, Delete) while Sweep and Reindex run;
// once they quiesce, every index entry points to a live object holding
// exactly that value, every live object's indexed values have exactly one
// entry each, and unique values are unique. Reindex and Sweep, run during
// the writes, find nothing to do.
func TestIndexConcurrentWriters(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		ids := make([]string, 10)
		for i := range ids {
			ids[i] = "r" + strconv.Itoa(i)
		}
		emails := []string{"a@x", "b@x", "c@x", "d@x", "e@x", "f@x"}
		cities := []string{"Oslo", "Lima", "", "Rome\x00\x01"}
		// Writers run at least minIters operations each, and go on (up to
		// maxIters) while Reindex and Sweep still run, so that those run
		// during writes even when a SCAN of a large keyspace is slow.
		const writers, minIters, maxIters = 6, 120, 3000
		var maintDone atomic.Bool
		var ops atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, writers+1)
		for g := 0; g < writers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 42))
				for i := 0; i < maxIters && (i < minIters || !maintDone.Load()); i++ {
					p, err := racers.NewWithID(b.Store, ids[r.IntN(len(ids))])
					if err != nil {
						errs <- err
						return
					}
					set := func() {
						p.Name.Set([]string{"ann", "bob", "Ann", "é"}[r.IntN(4)])
						p.Email.Set(emails[r.IntN(len(emails))])
						p.Age.Set(int64(r.IntN(41) - 20))
						p.Home.City.Set(cities[r.IntN(len(cities))])
						if r.IntN(3) == 0 {
							p.Home.City.Clear()
						}
					}
					switch r.IntN(9) {
					case 0, 1:
						set()
						err = p.Save(ctx)
					case 2:
						set()
						err = p.Insert(ctx)
					case 3:
						_, err = p.Age.Incr(ctx, int64(r.IntN(21)-10))
					case 4:
						_, err = p.Name.Append(ctx, string(rune('a'+r.IntN(3))))
					case 5:
						p.Email.Set(emails[r.IntN(len(emails))])
						p.Home.City.Set(cities[r.IntN(len(cities))])
						err = p.Update(ctx, &p.Email, &p.Home.City)
					case 6:
						p.Name.Clear()
						p.Age.Set(int64(r.IntN(5)))
						err = p.Update(ctx, &p.Name, &p.Age)
					case 7:
						_, err = p.Email.CompareAndSwap(ctx, emails[r.IntN(len(emails))], emails[r.IntN(len(emails))])
					case 8:
						_, err = p.Delete(ctx)
					}
					if err != nil && !errors.Is(err, rapyer.ErrNotFound) && !errors.Is(err, rapyer.ErrExists) {
						errs <- err
						return
					}
					ops.Add(1)
				}
			}(g)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer maintDone.Store(true)
			for i := 0; i < 4; i++ {
				if n, err := racers.Reindex(ctx, b.Store, rapyer.ChunkSize(3)); err != nil || n != 0 {
					errs <- fmt.Errorf("Reindex during writes: %d changed, %v", n, err)
					return
				}
				if n, err := racers.Sweep(ctx, b.Store, rapyer.ChunkSize(3)); err != nil || n != 0 {
					errs <- fmt.Errorf("Sweep during writes: %d reclaimed, %v", n, err)
					return
				}
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		t.Logf("%d writes", ops.Load())
		// The race may end with every object deleted (seen once in many
		// runs): then one more Save, so that the checks below see a live
		// object beside the race's leftovers (index entries, claims).
		live := false
		for _, id := range ids {
			p, err := racers.NewWithID(b.Store, id)
			must(t, err)
			ok, err := p.Exists(ctx)
			must(t, err)
			live = live || ok
		}
		if !live {
			p, err := racers.NewWithID(b.Store, ids[0])
			must(t, err)
			p.Name.Set("ann")
			p.Email.Set(emails[0])
			p.Age.Set(1)
			p.Home.City.Set(cities[0])
			must(t, p.Save(ctx))
		}
		checkRacers(t, b, ids)
		n, err := racers.Reindex(ctx, b.Store)
		must(t, err)
		if n != 0 {
			t.Fatalf("Reindex after the writes changed %d objects", n)
		}
	})
}

// checkRacers reads the racer indexes raw and checks them against the
// objects' hashes.
func checkRacers(t *testing.T, b *testkit.Backend, ids []string) {
	t.Helper()
	type entry struct{ shard, field, sk, id string }
	members := map[string][]entry{} // by id
	all := map[string]string{}      // id -> shard
	rev := map[string]string{}      // id -> raw entry
	revShard := map[string]string{}
	for s := 0; s < 4; s++ {
		sh := strconv.Itoa(s)
		for f := range racerIndexed {
			ms, err := redis.Strings(b.Do(t, "ZRANGE", xKey(b, "racer", s, "i:"+f), 0, -1))
			must(t, err)
			for _, m := range ms {
				sk, id, ok := strings.Cut(m, "\x00")
				if !ok {
					t.Fatalf("malformed member %q", m)
				}
				members[id] = append(members[id], entry{sh, f, sk, id})
			}
		}
		as, err := redis.Strings(b.Do(t, "ZRANGE", xKey(b, "racer", s, "all"), 0, -1))
		must(t, err)
		for _, id := range as {
			all[id] = sh
		}
		rv, err := redis.StringMap(b.Do(t, "HGETALL", xKey(b, "racer", s, "rev")))
		must(t, err)
		for id, e := range rv {
			rev[id], revShard[id] = e, sh
		}
	}
	known := map[string]bool{}
	live, emails := 0, map[string]string{}
	for _, id := range ids {
		known[id] = true
		p, err := racers.NewWithID(b.Store, id)
		must(t, err)
		shard := strconv.Itoa(rapyer.ShardOfID(b.Store, "racer", id))
		h, err := redis.StringMap(b.Do(t, "HGETALL", p.Key()))
		must(t, err)
		if len(h) == 0 {
			if len(members[id]) > 0 || all[id] != "" || rev[id] != "" {
				t.Fatalf("dead %s still indexed: %v, all %q, rev %q", id, members[id], all[id], rev[id])
			}
			continue
		}
		live++
		if all[id] != shard {
			t.Fatalf("live %s: x:all of shard %q, want %s", id, all[id], shard)
		}
		want := map[string]string{}
		for f, kind := range racerIndexed {
			if v, ok := h[f]; ok {
				want[f] = sortKeyOf(kind, v)
			}
		}
		got := map[string]string{}
		for _, e := range members[id] {
			if e.shard != shard {
				t.Fatalf("live %s has an entry in shard %s, lives in %s", id, e.shard, shard)
			}
			if _, dup := got[e.field]; dup {
				t.Fatalf("live %s has two %s entries", id, e.field)
			}
			got[e.field] = e.sk
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("live %s (hash %q): entries %q, want %q", id, h, got, want)
		}
		r := parseRev(rev[id])
		if len(want) > 0 && revShard[id] != shard || !reflect.DeepEqual(r, want) {
			t.Fatalf("live %s: x:rev %q in shard %q, want %q", id, r, revShard[id], want)
		}
		if e, ok := h["email"]; ok {
			if other, dup := emails[e]; dup {
				t.Fatalf("unique email %q held by %s and %s", e, other, id)
			}
			emails[e] = id
		}
	}
	for id := range members {
		if !known[id] {
			t.Fatalf("entries of an unknown id %q", id)
		}
	}
	if live == 0 {
		t.Fatal("no live object left: the test proves little")
	}
}
