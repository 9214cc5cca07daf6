package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/lua"
)

// IndexedProfiles is Profile with three indexed fields: name and email
// (strings), age (an integer). No TTL, one shard.
var IndexedProfiles = rapyer.Define("iprofile", func(p *Profile) rapyer.Fields {
	return rapyer.Fields{
		p.Name.Named("name").Index(),
		p.Age.Named("age").Index(),
		p.Score.Named("score"),
		p.Active.Named("active"),
		p.Seen.Named("seen"),
		p.Email.Named("email").Index(),
	}
})

// newProfileOf is newProfile for schema s.
func newProfileOf(s *rapyer.Schema[Profile, *Profile], e *env) *Profile {
	p := s.New(e.st)
	p.Name.Set(sample.Name)
	p.Age.Set(sample.Age)
	p.Score.Set(sample.Score)
	p.Active.Set(sample.Active)
	p.Seen.Set(sample.Seen)
	p.Email.Set(sample.Email)
	return p
}

// BenchmarkIndexedSave: Model.Save of Profile's six fields, age changing
// on every call (36, 37, 36, ...), so that with indexes one entry moves
// per Save (ZREM + ZADD) and the two others are checked in place.
//
//	plain             Save without indexes: MULTI, HSET 6 pairs, HINCRBY _v, EXEC
//	indexed           Save with 3 indexed fields: EVALSHA of lua/save.lua with
//	                  the index section (HSET, HMGET of the indexed fields,
//	                  HGET x:rev, ZREM + ZADD of age's entry, HSET x:rev,
//	                  HINCRBY _v)
//	raw-multi         plain's four commands over redigo
//	raw-evalsha-same  EVALSHA of lua/save.lua over redigo with indexed's
//	                  arguments (TestIndexedSaveBaselineSame checks they
//	                  write the same)
//	paired-plain      indexed and plain alternately: x-raw is the price of
//	                  the indexes (target: within 1.6x)
//	paired-same       indexed and raw-evalsha-same alternately: rapyer's Go side
func BenchmarkIndexedSave(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("plain", func(b *testing.B) { measure(b, saveMoving(b, e, Profiles)) })
		b.Run("indexed", func(b *testing.B) { measure(b, saveMoving(b, e, IndexedProfiles)) })
		b.Run("raw-multi", func(b *testing.B) { measure(b, saveMovingRaw(b, e)) })
		b.Run("raw-evalsha-same", func(b *testing.B) { measure(b, saveIndexedRaw(b, e)) })
		b.Run("paired-plain", func(b *testing.B) {
			paired(b, saveMoving(b, e, IndexedProfiles), saveMoving(b, e, Profiles))
		})
		b.Run("paired-same", func(b *testing.B) {
			paired(b, saveMoving(b, e, IndexedProfiles), saveIndexedRaw(b, e))
		})
	})
}

func saveMoving(b *testing.B, e *env, s *rapyer.Schema[Profile, *Profile]) op {
	ctx := b.Context()
	p := newProfileOf(s, e)
	if err := p.Save(ctx); err != nil { // warms the pool, caches the script
		b.Fatal(err)
	}
	i := int64(0)
	return func() error {
		i++
		p.Age.Set(sample.Age + i&1)
		return p.Save(ctx)
	}
}

func saveMovingRaw(b *testing.B, e *env) op {
	key := rawKey(e)
	v := sample
	warm(b, e.pool)
	i := int64(0)
	return func() error {
		i++
		v.Age = sample.Age + i&1
		c := e.pool.Get()
		defer c.Close()
		_ = c.Send("MULTI")
		_ = c.Send("HSET", hsetArgs(key, &v)...)
		_ = c.Send("HINCRBY", key, "_v", 1)
		r, err := redis.Values(c.Do("EXEC"))
		if err != nil {
			return err
		}
		if len(r) != 2 {
			return fmt.Errorf("EXEC: %d replies", len(r))
		}
		v.Version, err = redis.Int64(r[1], nil)
		return err
	}
}

// rawSave is lua/save.lua sent over plain redigo. Its six keys: the hash,
// x:i:name, x:i:age, x:i:email, x:rev, x:all.
var rawSave = redis.NewScript(6, lua.Save.Src())

// saveArgs are the keys and arguments Save sends for an IndexedProfiles
// object id holding v (lua/save.lua's header, lua/index.lua's section).
func saveArgs(prefix, id string, v *profile) []any {
	tag := prefix + "{iprofile:0}:"
	args := []any{tag + "o:" + id, tag + "x:i:name", tag + "x:i:age", tag + "x:i:email", tag + "x:rev", tag + "x:all",
		"0", "1", "0", "", 6, 0}
	args = append(args, hsetArgs("", v)[1:]...)
	// The index section: id, field count, per field name, kind, unique,
	// its key's index and 0 other shards; x:rev's and x:all's indexes, the
	// shard's object key prefix; then how many items came before.
	sec := []any{id, 3,
		"name", "s", "0", 2, 0,
		"age", "i", "0", 3, 0,
		"email", "s", "0", 4, 0,
		5, 6, tag + "o:"}
	return append(append(args, sec...), len(sec))
}

func saveIndexedRaw(b *testing.B, e *env) op {
	id := IndexedProfiles.New(e.st).ID()
	v := sample
	c := e.pool.Get()
	if err := rawSave.Load(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
	i := int64(0)
	return func() error {
		i++
		v.Age = sample.Age + i&1
		c := e.pool.Get()
		defer c.Close()
		var err error
		v.Version, err = redis.Int64(rawSave.Do(c, saveArgs(e.prefix, id, &v)...))
		return err
	}
}

// TestIndexedSaveBaselineSame checks that raw-evalsha-same writes what
// Save writes: the same hash and the same index entries.
func TestIndexedSaveBaselineSame(t *testing.T) {
	srv, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	st, err := rapyer.Open(ctx, srv.URL(), rapyer.WithPrefix("a:"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := redis.DialURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := newProfileOf(IndexedProfiles, &env{st: st})
	v := sample
	for _, age := range []int64{36, 37} {
		p.Age.Set(age)
		if err := p.Save(ctx); err != nil {
			t.Fatal(err)
		}
		v.Age = age
		if _, err := rawSave.Do(c, saveArgs("b:", p.ID(), &v)...); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"o:" + p.ID(), "x:i:name", "x:i:age", "x:i:email", "x:rev", "x:all"} {
		dump := func(prefix string) string {
			key := prefix + "{iprofile:0}:" + k
			typ, _ := redis.String(c.Do("TYPE", key))
			var r any
			if typ == "hash" {
				r, _ = redis.StringMap(c.Do("HGETALL", key))
			} else {
				r, _ = redis.Strings(c.Do("ZRANGE", key, 0, -1))
			}
			return fmt.Sprintf("%s %q", typ, r)
		}
		if a, b := dump("a:"), dump("b:"); a != b || a == "none []" {
			t.Fatalf("%s: Save wrote %s, the raw call %s", k, a, b)
		}
	}
}

// queryN is how many objects the query benchmarks hold.
const queryN = 100_000

// groups is how many distinct names the query objects hold: queryN/groups
// objects per name.
const groups = 1000

// populate saves queryN IndexedProfiles objects (SaveMany, 1000 per round
// trip): object i has name "group-<i mod 1000>" (100 objects per name), age
// i, email "user<i>@example.com", sample's other fields. It also builds, for
// the raw ZRANGEBYSCORE baseline, a plain ZSET of the ages (score age,
// member id). It returns the ids by age.
func populate(b *testing.B, e *env) []string {
	b.Helper()
	ctx := b.Context()
	ids := make([]string, 0, queryN)
	c := e.pool.Get()
	defer c.Close()
	for start := 0; start < queryN; start += 1000 {
		ps := make([]*Profile, 1000)
		for i := range ps {
			n := start + i
			p := newProfileOf(IndexedProfiles, e)
			p.Name.Set(fmt.Sprintf("group-%03d", n%groups))
			p.Age.Set(int64(n))
			p.Email.Set(fmt.Sprintf("user%d@example.com", n))
			ps[i] = p
			ids = append(ids, p.ID())
			_ = c.Send("ZADD", e.prefix+"raw:age", n, p.ID())
		}
		if err := IndexedProfiles.SaveMany(ctx, ps); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Do(""); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// queryBackends is backends for the query benchmarks: the redis backend
// alone. The embedded server answers every ZRANGEBYLEX by sorting the
// whole ZSET (O(n log n) per query: tens of milliseconds at 100,000
// members) and runs the 100,000 Lua saves of populate in gopher-lua
// (about 30 s): its figures would say nothing about rapyer. The stub
// cannot answer lua/query.lua.
func queryBackends(b *testing.B, f func(b *testing.B, e *env)) {
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			b.Skip("REDIS_URL not set")
		}
		f(b, newEnv(b, url))
	})
}

// intSortKey is lua/index.lua's sort key of a non-negative integer: what a
// raw user of the same index computes.
func intSortKey(n int64) string {
	if n == 0 {
		return "\x03"
	}
	d := strconv.FormatInt(n, 10)
	return "\x04" + string(rune(len(d))) + d
}

// BenchmarkIndexQuery: queries over queryN objects (3 indexed fields, one
// shard, no TTL), each returning 100 objects, beside raw redigo reading the
// same index keys.
//
//	eq/find                       Find(name == "group-500"): lua/query.lua
//	                              (ZRANGEBYLEX, liveness and predicate checked
//	                              per candidate), then 100 HGETALL pipelined
//	eq/find-ids                   FindIDs of the same: the query round trip alone
//	eq/raw-zrangebylex            ZRANGEBYLEX of x:i:name, ids cut out
//	eq/raw-zrangebylex-hgetall    the same, then 100 HGETALL pipelined and decoded
//	eq/paired                     find and raw-zrangebylex-hgetall alternately
//	range/...                     the same for 50000 <= age <= 50099, sorted by
//	                              age (Between + Asc)
//	range/raw-zrangebyscore-hgetall  ZRANGEBYSCORE of a plain score ZSET of
//	                              the ages (what a raw user would build), then
//	                              100 HGETALL
//	memory                        MEMORY USAGE (SAMPLES 0) of every index key
//	                              over queryN: index-B/obj, and per key; and
//	                              hash-B/obj, one object's hash, for scale
//	sweep                         Schema.Sweep of the queryN live objects
//	                              (x:all in chunks of 1000, nothing to reclaim)
//	reindex                       Schema.Reindex of the queryN objects, all
//	                              already indexed (the SCAN walks the whole
//	                              keyspace of the server, other keys included)
func BenchmarkIndexQuery(b *testing.B) {
	queryBackends(b, func(b *testing.B, e *env) {
		populate(b, e)
		q := IndexedProfiles.Fields()
		tag := e.prefix + "{iprofile:0}:"
		eq := q.Name.Eq("group-500")
		eqLo, eqHi := "[group-500\x00", "(group-500\x01"
		rng := q.Age.Between(50000, 50099)
		rngLo, rngHi := "["+intSortKey(50000)+"\x00", "("+intSortKey(50099)+"\x01"
		b.Run("eq/find", func(b *testing.B) { measure(b, findLib(b, e, eq)) })
		b.Run("eq/find-ids", func(b *testing.B) { measure(b, findIDsLib(b, e, eq)) })
		b.Run("eq/raw-zrangebylex", func(b *testing.B) { measure(b, lexRaw(b, e, tag+"x:i:name", eqLo, eqHi, false)) })
		b.Run("eq/raw-zrangebylex-hgetall", func(b *testing.B) { measure(b, lexRaw(b, e, tag+"x:i:name", eqLo, eqHi, true)) })
		b.Run("eq/paired", func(b *testing.B) {
			paired(b, findLib(b, e, eq), lexRaw(b, e, tag+"x:i:name", eqLo, eqHi, true))
		})
		asc := rapyer.Asc(&q.Age)
		b.Run("range/find", func(b *testing.B) { measure(b, findLib(b, e, rng, asc)) })
		b.Run("range/find-ids", func(b *testing.B) { measure(b, findIDsLib(b, e, rng, asc)) })
		b.Run("range/raw-zrangebylex", func(b *testing.B) { measure(b, lexRaw(b, e, tag+"x:i:age", rngLo, rngHi, false)) })
		b.Run("range/raw-zrangebylex-hgetall", func(b *testing.B) { measure(b, lexRaw(b, e, tag+"x:i:age", rngLo, rngHi, true)) })
		b.Run("range/raw-zrangebyscore-hgetall", func(b *testing.B) { measure(b, scoreRaw(b, e, tag)) })
		b.Run("range/paired", func(b *testing.B) {
			paired(b, findLib(b, e, rng, asc), lexRaw(b, e, tag+"x:i:age", rngLo, rngHi, true))
		})
		b.Run("memory", func(b *testing.B) { indexMemory(b, e, tag) })
		b.Run("sweep", func(b *testing.B) {
			measure(b, func() error {
				n, err := IndexedProfiles.Sweep(b.Context(), e.st)
				if err == nil && n != 0 {
					err = fmt.Errorf("Sweep reclaimed %d", n)
				}
				return err
			})
		})
		b.Run("reindex", func(b *testing.B) {
			measure(b, func() error {
				n, err := IndexedProfiles.Reindex(b.Context(), e.st)
				if err == nil && n != 0 {
					err = fmt.Errorf("Reindex changed %d", n)
				}
				return err
			})
		})
	})
}

// checkAges checks a query's 100 results: ages 50000..50099 in order for
// a range, any 100 ages of group 500 for an equality.
func checkAges(ages []int64) error {
	if len(ages) != 100 {
		return fmt.Errorf("%d results, want 100", len(ages))
	}
	if ages[0] >= 50000 {
		for i, a := range ages {
			if a != int64(50000+i) {
				return fmt.Errorf("result %d has age %d", i, a)
			}
		}
		return nil
	}
	for _, a := range ages {
		if a%groups != 500 {
			return fmt.Errorf("age %d is not in group 500", a)
		}
	}
	return nil
}

func findLib(b *testing.B, e *env, pred rapyer.Pred, opts ...rapyer.QueryOption) op {
	ctx := b.Context()
	return func() error {
		ps, err := IndexedProfiles.Find(ctx, e.st, pred, opts...)
		if err != nil {
			return err
		}
		ages := make([]int64, len(ps))
		for i, p := range ps {
			ages[i] = p.Age.Get()
		}
		return checkAges(ages)
	}
}

func findIDsLib(b *testing.B, e *env, pred rapyer.Pred, opts ...rapyer.QueryOption) op {
	ctx := b.Context()
	return func() error {
		ids, err := IndexedProfiles.FindIDs(ctx, e.st, pred, opts...)
		if err == nil && len(ids) != 100 {
			err = fmt.Errorf("%d ids", len(ids))
		}
		return err
	}
}

// lexRaw reads the members of an index key between lo and hi, cuts the ids
// out and, with load, reads their hashes (HGETALL pipelined, decoded with
// getRaw's decoder).
func lexRaw(b *testing.B, e *env, key, lo, hi string, load bool) op {
	warm(b, e.pool)
	okey := key[:strings.Index(key, "}:")+2] + "o:"
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		ms, err := redis.ByteSlices(c.Do("ZRANGEBYLEX", key, lo, hi))
		if err != nil {
			return err
		}
		ids := make([]string, len(ms))
		for i, m := range ms {
			ids[i] = string(m[bytes.IndexByte(m, 0)+1:])
		}
		if !load {
			if len(ids) != 100 {
				return fmt.Errorf("%d ids", len(ids))
			}
			return nil
		}
		return loadRaw(c, okey, ids)
	}
}

// loadRaw reads the hashes of ids in one pipelined round trip.
func loadRaw(c redis.Conn, okey string, ids []string) error {
	for _, id := range ids {
		_ = c.Send("HGETALL", okey+id)
	}
	rs, err := redis.Values(c.Do(""))
	if err != nil {
		return err
	}
	ages := make([]int64, len(rs))
	for i, r := range rs {
		v, err := decodeProfile(r, nil)
		if err != nil {
			return err
		}
		ages[i] = v.Age
	}
	return checkAges(ages)
}

// scoreRaw is the range through a plain ZSET of ages: ZRANGEBYSCORE, then
// the hashes.
func scoreRaw(b *testing.B, e *env, tag string) op {
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		ids, err := redis.Strings(c.Do("ZRANGEBYSCORE", e.prefix+"raw:age", 50000, 50099))
		if err != nil {
			return err
		}
		return loadRaw(c, tag+"o:", ids)
	}
}

// indexMemory reports the index's memory per object: MEMORY USAGE of each
// index key (every element counted: SAMPLES 0) divided by queryN.
func indexMemory(b *testing.B, e *env, tag string) {
	c := e.pool.Get()
	defer c.Close()
	keys := []string{"x:i:name", "x:i:age", "x:i:email", "x:all", "x:rev"}
	sizes := make([]int64, len(keys))
	var hash int64
	b.ReportAllocs()
	for b.Loop() {
		for i, k := range keys {
			n, err := redis.Int64(c.Do("MEMORY", "USAGE", tag+k, "SAMPLES", 0))
			if err != nil {
				b.Fatal(err)
			}
			sizes[i] = n
		}
		ids, err := redis.Strings(c.Do("ZRANGE", tag+"x:all", 0, 0))
		if err != nil || len(ids) != 1 {
			b.Fatal(ids, err)
		}
		if hash, err = redis.Int64(c.Do("MEMORY", "USAGE", tag+"o:"+ids[0], "SAMPLES", 0)); err != nil {
			b.Fatal(err)
		}
	}
	var total int64
	for i, k := range keys {
		total += sizes[i]
		b.ReportMetric(float64(sizes[i])/queryN, k+"-B/obj")
	}
	b.ReportMetric(float64(total)/queryN, "index-B/obj")
	b.ReportMetric(float64(hash), "hash-B/obj")
}
