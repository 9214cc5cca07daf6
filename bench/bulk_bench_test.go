package bench

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/gomodule/redigo/redis"
)

// bulkSizes are the object counts of the bulk benchmarks.
var bulkSizes = []int{100, 1000}

// BenchmarkSaveMany: Schema.SaveMany of n Profiles (no TTL): one pipeline of
// n MULTI {HSET 6 pairs, HINCRBY _v} EXEC blocks.
//
//	rapyer      Schema.SaveMany
//	raw-pipe    the same n blocks pipelined over redigo, versions read back
//	one-by-one  Model.Save n times (n round trips)
//	paired      rapyer and raw-pipe alternately
func BenchmarkSaveMany(b *testing.B) {
	for _, n := range bulkSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			backends(b, func(b *testing.B, e *env) {
				b.Run("rapyer", func(b *testing.B) { measure(b, saveManyLib(b, e, n)) })
				b.Run("raw-pipe", func(b *testing.B) { measure(b, saveManyRaw(b, e, n)) })
				b.Run("one-by-one", func(b *testing.B) { measure(b, saveOneByOne(b, e, n)) })
				b.Run("paired", func(b *testing.B) { paired(b, saveManyLib(b, e, n), saveManyRaw(b, e, n)) })
			})
		})
	}
}

func newProfiles(e *env, n int) []*Profile {
	ps := make([]*Profile, n)
	for i := range ps {
		ps[i] = newProfile(e)
	}
	return ps
}

func saveManyLib(b testing.TB, e *env, n int) op {
	ctx := b.Context()
	ps := newProfiles(e, n)
	return func() error { return Profiles.SaveMany(ctx, ps) }
}

func saveOneByOne(b *testing.B, e *env, n int) op {
	ctx := b.Context()
	ps := newProfiles(e, n)
	return func() error {
		for _, p := range ps {
			if err := p.Save(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

func saveManyRaw(b testing.TB, e *env, n int) op {
	keys, vs := rawKeys(e, n)
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		for i, k := range keys {
			_ = c.Send("MULTI")
			_ = c.Send("HSET", hsetArgs(k, &vs[i])...)
			_ = c.Send("HINCRBY", k, "_v", 1)
			_ = c.Send("EXEC")
		}
		rs, err := redis.Values(c.Do(""))
		if err != nil {
			return err
		}
		for i := range keys {
			exec, err := redis.Values(rs[4*i+3], nil)
			if err != nil {
				return err
			}
			if vs[i].Version, err = redis.Int64(exec[1], nil); err != nil {
				return err
			}
		}
		return nil
	}
}

// BenchmarkGetMany: Schema.GetMany of n Profiles (no TTL): one pipeline of
// n HGETALL.
//
//	rapyer      Schema.GetMany (n new *Profile)
//	raw-pipe    n HGETALL pipelined over redigo, decoded with getRaw's decoder
//	one-by-one  Schema.Get n times (n round trips)
//	paired      rapyer and raw-pipe alternately
func BenchmarkGetMany(b *testing.B) {
	for _, n := range bulkSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			backends(b, func(b *testing.B, e *env) {
				b.Run("rapyer", func(b *testing.B) { measure(b, getManyLib(b, e, n)) })
				b.Run("raw-pipe", func(b *testing.B) { measure(b, getManyRaw(b, e, n)) })
				b.Run("one-by-one", func(b *testing.B) { measure(b, getOneByOne(b, e, n)) })
				b.Run("paired", func(b *testing.B) { paired(b, getManyLib(b, e, n), getManyRaw(b, e, n)) })
			})
		})
	}
}

func savedProfiles(b testing.TB, e *env, n int) []*Profile {
	ps := newProfiles(e, n)
	if err := Profiles.SaveMany(b.Context(), ps); err != nil {
		b.Fatal(err)
	}
	return ps
}

func getManyLib(b testing.TB, e *env, n int) op {
	ctx := b.Context()
	ps := savedProfiles(b, e, n)
	ids := make([]string, n)
	for i, p := range ps {
		ids[i] = p.ID()
	}
	return func() error {
		got, err := Profiles.GetMany(ctx, e.st, ids)
		if err == nil && (len(got) != n || got[n-1].Age.Get() != sample.Age) {
			err = fmt.Errorf("GetMany returned %d objects", len(got))
		}
		return err
	}
}

func getOneByOne(b *testing.B, e *env, n int) op {
	ctx := b.Context()
	ps := savedProfiles(b, e, n)
	return func() error {
		for _, p := range ps {
			got, err := Profiles.Get(ctx, e.st, p.ID())
			if err != nil {
				return err
			}
			if got.Age.Get() != sample.Age {
				return fmt.Errorf("wrong age")
			}
		}
		return nil
	}
}

func getManyRaw(b testing.TB, e *env, n int) op {
	ps := savedProfiles(b, e, n)
	keys := make([]string, n)
	for i, p := range ps {
		keys[i] = p.Key()
	}
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		for _, k := range keys {
			_ = c.Send("HGETALL", k)
		}
		rs, err := redis.Values(c.Do(""))
		if err != nil {
			return err
		}
		out := make([]profile, n)
		for i, r := range rs {
			if out[i], err = decodeProfile(r, nil); err != nil {
				return err
			}
		}
		if out[n-1].Age != sample.Age {
			return fmt.Errorf("wrong age")
		}
		return nil
	}
}
