package bench

import (
	"context"
	"fmt"
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
