package bench

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/types"
)

// Profile is the benchmarked model: six scalar fields, no containers, no TTL
// (so Save sends no PEXPIRE and Incr's script re-arms nothing).
type Profile struct {
	rapyer.Model
	Name   types.Str
	Age    types.Int
	Score  types.Float
	Active types.Bool
	Seen   types.Time
	Email  types.Str
}

var Profiles = rapyer.Define("profile", func(p *Profile) rapyer.Fields {
	return rapyer.Fields{
		p.Name.Named("name"),
		p.Age.Named("age"),
		p.Score.Named("score"),
		p.Active.Named("active"),
		p.Seen.Named("seen"),
		p.Email.Named("email"),
	}
})

// profile is what a raw-redigo user holds: plain Go values.
type profile struct {
	Name    string
	Age     int64
	Score   float64
	Active  bool
	Seen    time.Time
	Email   string
	Version int64
}

var sample = profile{
	Name:   "Ada Lovelace",
	Age:    36,
	Score:  98.25,
	Active: true,
	Seen:   time.Date(2026, 11, 25, 12, 30, 45, 123456789, time.UTC),
	Email:  "ada@example.com",
}

// newProfile returns an unsaved object holding sample's values.
func newProfile(e *env) *Profile {
	p := Profiles.New(e.st)
	p.Name.Set(sample.Name)
	p.Age.Set(sample.Age)
	p.Score.Set(sample.Score)
	p.Active.Set(sample.Active)
	p.Seen.Set(sample.Seen)
	p.Email.Set(sample.Email)
	return p
}

// savedProfile returns an object holding sample's values, saved.
func savedProfile(b testing.TB, e *env) *Profile {
	b.Helper()
	p := newProfile(e)
	if err := p.Save(b.Context()); err != nil {
		b.Fatal(err)
	}
	return p
}

// rawKey returns the key rapyer would give a fresh object, so that raw
// baselines write keys of the same length under the same prefix.
func rawKey(e *env) string { return Profiles.New(e.st).Key() }

// hsetArgs is the HSET argument list of v, as redigo formats it: int64 and
// the UnixNano as decimal, float64 as strconv 'g' -1, bool as "1"/"0": the
// same bytes rapyer's codecs send.
func hsetArgs(key string, v *profile) []any {
	return []any{key,
		"name", v.Name,
		"age", v.Age,
		"score", v.Score,
		"active", v.Active,
		"seen", v.Seen.UnixNano(),
		"email", v.Email,
	}
}

// BenchmarkSave: Model.Save of the six fields. Without a TTL, Save sends
// MULTI, HSET key <6 pairs>, HINCRBY key _v 1, EXEC in one round trip.
//
//	rapyer      Model.Save
//	raw-multi   the same four commands over redigo, version read from EXEC
//	raw-hset    a plain HSET of the six fields: the cost of atomicity + version
//	paired      rapyer and raw-multi alternately (see paired)
func BenchmarkSave(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) { measure(b, saveLib(b, e)) })
		b.Run("raw-multi", func(b *testing.B) { measure(b, saveRaw(b, e)) })
		b.Run("raw-hset", func(b *testing.B) { measure(b, hsetRaw(b, e)) })
		b.Run("paired", func(b *testing.B) { paired(b, saveLib(b, e), saveRaw(b, e)) })
	})
}

func saveLib(b testing.TB, e *env) op {
	ctx := b.Context()
	p := newProfile(e)
	if err := e.st.Ping(ctx); err != nil { // warms the pool (and loads the scripts)
		b.Fatal(err)
	}
	return func() error { return p.Save(ctx) }
}

func saveRaw(b testing.TB, e *env) op {
	key := rawKey(e)
	v := sample
	warm(b, e.pool)
	return func() error {
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

func hsetRaw(b *testing.B, e *env) op {
	key := rawKey(e)
	v := sample
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		_, err := c.Do("HSET", hsetArgs(key, &v)...)
		return err
	}
}

// BenchmarkGet: Schema.Get of the six fields. Without a TTL (so no refresh),
// Get sends HGETALL alone.
//
//	rapyer        Schema.Get (a new *Profile per call)
//	raw-hgetall   HGETALL over redigo, decoded into a profile with strconv
//	paired        rapyer and raw-hgetall alternately (see paired)
func BenchmarkGet(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) { measure(b, getLib(b, e)) })
		b.Run("raw-hgetall", func(b *testing.B) { measure(b, getRawOp(b, e)) })
		b.Run("paired", func(b *testing.B) { paired(b, getLib(b, e), getRawOp(b, e)) })
	})
}

func getLib(b testing.TB, e *env) op {
	ctx := b.Context()
	id := savedProfile(b, e).ID()
	return func() error {
		p, err := Profiles.Get(ctx, e.st, id)
		if err != nil {
			return err
		}
		if p.Age.Get() != sample.Age {
			return fmt.Errorf("wrong age %d", p.Age.Get())
		}
		return nil
	}
}

func getRawOp(b testing.TB, e *env) op {
	key := savedProfile(b, e).Key()
	pool := e.poolFor(key)
	warm(b, pool)
	return func() error {
		c := pool.Get()
		defer c.Close()
		v, err := getRaw(c, key)
		if err != nil {
			return err
		}
		if v.Age != sample.Age {
			return fmt.Errorf("wrong age %d", v.Age)
		}
		return nil
	}
}

// errNotFound is getRaw's "no such object".
var errNotFound = redis.Error("not found")

// getRaw is what a careful raw-redigo user writes for the same load: HGETALL,
// then every field decoded and checked.
func getRaw(c redis.Conn, key string) (profile, error) {
	return decodeProfile(c.Do("HGETALL", key))
}

// decodeProfile decodes an HGETALL reply into a profile.
func decodeProfile(reply any, err error) (profile, error) {
	var v profile
	kv, err := redis.Values(reply, err)
	if err != nil {
		return v, err
	}
	if len(kv) == 0 {
		return v, errNotFound
	}
	for i := 0; i+1 < len(kv); i += 2 {
		name, _ := kv[i].([]byte)
		val, _ := kv[i+1].([]byte)
		switch string(name) {
		case "name":
			v.Name = string(val)
		case "email":
			v.Email = string(val)
		case "age":
			v.Age, err = strconv.ParseInt(string(val), 10, 64)
		case "score":
			v.Score, err = strconv.ParseFloat(string(val), 64)
		case "active":
			v.Active, err = strconv.ParseBool(string(val))
		case "seen":
			var ns int64
			ns, err = strconv.ParseInt(string(val), 10, 64)
			v.Seen = time.Unix(0, ns).UTC()
		case "_v":
			v.Version, err = strconv.ParseInt(string(val), 10, 64)
		}
		if err != nil {
			return v, err
		}
	}
	return v, nil
}
