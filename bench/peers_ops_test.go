package bench

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// The peers' operations, each as its library's documentation writes it, on
// the hash rapyer stores for a Profile (name, age, score, active, seen,
// email, _v). Save is MULTI, HSET of the six fields, HINCRBY _v 1, EXEC (the
// raw-redigo baseline's commands, saveRaw); Get is HGETALL decoded into a
// profile and checked; Incr is HINCRBY age 1. The many-object forms are one
// pipeline: n of those MULTI blocks, or n HGETALLs.

// decodeProfileMap decodes an HGETALL reply read as a map (go-redis's
// HGetAll, rueidis's AsStrMap) into a profile, as decodeProfile does for
// redigo's reply.
func decodeProfileMap(m map[string]string) (profile, error) {
	var v profile
	if len(m) == 0 {
		return v, errNotFound
	}
	var err error
	v.Name, v.Email = m["name"], m["email"]
	if v.Age, err = strconv.ParseInt(m["age"], 10, 64); err != nil {
		return v, err
	}
	if v.Score, err = strconv.ParseFloat(m["score"], 64); err != nil {
		return v, err
	}
	if v.Active, err = strconv.ParseBool(m["active"]); err != nil {
		return v, err
	}
	ns, err := strconv.ParseInt(m["seen"], 10, 64)
	if err != nil {
		return v, err
	}
	v.Seen = time.Unix(0, ns).UTC()
	if v.Version, err = strconv.ParseInt(m["_v"], 10, 64); err != nil {
		return v, err
	}
	return v, nil
}

// checkAge is every Get's check that the object read is the one saved.
func checkAge(v profile, err error) error {
	if err == nil && v.Age != sample.Age {
		err = fmt.Errorf("wrong age %d", v.Age)
	}
	return err
}

// ruHset is the rueidis HSET of v's six fields, formatted as redigo formats
// them (hsetArgs).
func ruHset(c rueidis.Client, key string, v *profile) rueidis.Completed {
	active := "0"
	if v.Active {
		active = "1"
	}
	return c.B().Hset().Key(key).FieldValue().
		FieldValue("name", v.Name).
		FieldValue("age", strconv.FormatInt(v.Age, 10)).
		FieldValue("score", strconv.FormatFloat(v.Score, 'g', -1, 64)).
		FieldValue("active", active).
		FieldValue("seen", strconv.FormatInt(v.Seen.UnixNano(), 10)).
		FieldValue("email", v.Email).
		Build()
}

// ruSaveCmds appends the four commands of one rueidis Save of v to cmds.
func ruSaveCmds(cmds rueidis.Commands, c rueidis.Client, key string, v *profile) rueidis.Commands {
	return append(cmds,
		c.B().Multi().Build(),
		ruHset(c, key, v),
		c.B().Hincrby().Key(key).Field("_v").Increment(1).Build(),
		c.B().Exec().Build())
}

// ruExecVersion reads the version out of the EXEC reply of ruSaveCmds.
func ruExecVersion(r rueidis.RedisResult) (int64, error) {
	exec, err := r.ToArray()
	if err != nil {
		return 0, err
	}
	if len(exec) != 2 {
		return 0, fmt.Errorf("EXEC: %d replies", len(exec))
	}
	return exec[1].AsInt64()
}

func saveGoRedis(b testing.TB, pe *peerEnv) op {
	ctx := b.Context()
	key := rawKey(pe.env)
	v := sample
	return func() error {
		var ver *goredis.IntCmd
		_, err := pe.gr.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.HSet(ctx, key, hsetArgs(key, &v)[1:]...)
			ver = p.HIncrBy(ctx, key, "_v", 1)
			return nil
		})
		if err != nil {
			return err
		}
		v.Version = ver.Val()
		return nil
	}
}

func saveRueidis(b testing.TB, pe *peerEnv) op {
	ctx := b.Context()
	key := rawKey(pe.env)
	v := sample
	return func() error {
		rs := pe.ru.DoMulti(ctx, ruSaveCmds(make(rueidis.Commands, 0, 4), pe.ru, key, &v)...)
		var err error
		v.Version, err = ruExecVersion(rs[3])
		return err
	}
}

// getGoRedis and getRueidis read key: HGETALL, decoded and checked.
func getGoRedis(b testing.TB, pe *peerEnv, key string) op {
	ctx := b.Context()
	return func() error {
		m, err := pe.gr.HGetAll(ctx, key).Result()
		if err != nil {
			return err
		}
		return checkAge(decodeProfileMap(m))
	}
}

func getRueidis(b testing.TB, pe *peerEnv, key string) op {
	ctx := b.Context()
	return func() error {
		m, err := pe.ru.Do(ctx, pe.ru.B().Hgetall().Key(key).Build()).AsStrMap()
		if err != nil {
			return err
		}
		return checkAge(decodeProfileMap(m))
	}
}

// getRedigo is getRawOp on a given key.
func getRedigo(pe *peerEnv, key string) op {
	return func() error {
		c := pe.pool.Get()
		defer c.Close()
		return checkAge(getRaw(c, key))
	}
}

// incrGoRedis, incrRueidis and incrRedigo send HINCRBY key age 1.
func incrGoRedis(b testing.TB, pe *peerEnv, key string) op {
	ctx := b.Context()
	return func() error { return pe.gr.HIncrBy(ctx, key, "age", 1).Err() }
}

func incrRueidis(b testing.TB, pe *peerEnv, key string) op {
	ctx := b.Context()
	cmd := func() rueidis.Completed { return pe.ru.B().Hincrby().Key(key).Field("age").Increment(1).Build() }
	return func() error {
		_, err := pe.ru.Do(ctx, cmd()).AsInt64()
		return err
	}
}

func incrRedigo(pe *peerEnv, key string) op {
	return func() error {
		c := pe.pool.Get()
		defer c.Close()
		_, err := c.Do("HINCRBY", key, "age", 1)
		return err
	}
}

// saveManyGoRedis: one go-redis pipeline of n MULTI blocks. go-redis's typed
// commands cannot read the QUEUED replies inside a MULTI, so the block is
// sent with generic Do commands, as saveManyRaw sends it over redigo.
func saveManyGoRedis(b testing.TB, pe *peerEnv, n int) op {
	ctx := b.Context()
	keys, vs := rawKeys(pe.env, n)
	return func() error {
		cmds, err := pe.gr.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, k := range keys {
				p.Do(ctx, "MULTI")
				p.Do(ctx, append([]any{"HSET"}, hsetArgs(k, &vs[i])...)...)
				p.Do(ctx, "HINCRBY", k, "_v", 1)
				p.Do(ctx, "EXEC")
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range keys {
			exec, err := cmds[4*i+3].(*goredis.Cmd).Slice()
			if err != nil {
				return err
			}
			if len(exec) != 2 {
				return fmt.Errorf("EXEC: %d replies", len(exec))
			}
			ver, ok := exec[1].(int64)
			if !ok {
				return fmt.Errorf("EXEC: version reply %T", exec[1])
			}
			vs[i].Version = ver
		}
		return nil
	}
}

func saveManyRueidis(b testing.TB, pe *peerEnv, n int) op {
	ctx := b.Context()
	keys, vs := rawKeys(pe.env, n)
	return func() error {
		cmds := make(rueidis.Commands, 0, 4*n)
		for i, k := range keys {
			cmds = ruSaveCmds(cmds, pe.ru, k, &vs[i])
		}
		rs := pe.ru.DoMulti(ctx, cmds...)
		for i := range keys {
			var err error
			if vs[i].Version, err = ruExecVersion(rs[4*i+3]); err != nil {
				return err
			}
		}
		return nil
	}
}

// rawKeys returns n fresh keys and n copies of sample to save under them.
func rawKeys(e *env, n int) ([]string, []profile) {
	keys := make([]string, n)
	vs := make([]profile, n)
	for i := range keys {
		keys[i], vs[i] = rawKey(e), sample
	}
	return keys, vs
}

// savedKeys saves n Profiles with rapyer and returns their keys.
func savedKeys(b testing.TB, e *env, n int) []string {
	ps := savedProfiles(b, e, n)
	keys := make([]string, n)
	for i, p := range ps {
		keys[i] = p.Key()
	}
	return keys
}

func getManyGoRedis(b testing.TB, pe *peerEnv, n int) op {
	ctx := b.Context()
	keys := savedKeys(b, pe.env, n)
	return func() error {
		cmds := make([]*goredis.MapStringStringCmd, n)
		_, err := pe.gr.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HGetAll(ctx, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		out := make([]profile, n)
		for i, c := range cmds {
			if out[i], err = decodeProfileMap(c.Val()); err != nil {
				return err
			}
		}
		return checkAge(out[n-1], nil)
	}
}

func getManyRueidis(b testing.TB, pe *peerEnv, n int) op {
	ctx := b.Context()
	keys := savedKeys(b, pe.env, n)
	return func() error {
		cmds := make(rueidis.Commands, n)
		for i, k := range keys {
			cmds[i] = pe.ru.B().Hgetall().Key(k).Build()
		}
		out := make([]profile, n)
		for i, r := range pe.ru.DoMulti(ctx, cmds...) {
			m, err := r.AsStrMap()
			if err != nil {
				return err
			}
			if out[i], err = decodeProfileMap(m); err != nil {
				return err
			}
		}
		return checkAge(out[n-1], nil)
	}
}
