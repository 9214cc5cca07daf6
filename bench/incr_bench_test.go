package bench

import (
	"strconv"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
)

// incrMin is the least script that keeps Int.Incr's contract for "add" on a
// model without TTL: the existence check, the add (HINCRBY is exact over
// int64 and refuses to overflow), the version bump. Incr's own script
// (lua/int.lua) also does its add on decimal strings in Lua and re-arms the
// TTL when there is one (here there is none: ARGV[1] is "0").
var incrMin = redis.NewScript(1, `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOTFOUND object does not exist') end
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], '_v', 1)
return v
`)

// rapyerInt is Int.Incr's own script (lua/intadd.lua, with its fast path on
// Redis), sent over plain redigo with the arguments Incr sends: the
// script's cost on the server without rapyer's Go side.
var rapyerInt = redis.NewScript(1, lua.IntAdd.Src())

// BenchmarkIncr: Int.Incr(ctx, 1) on a saved object.
//
//	rapyer            Int.Incr: EVALSHA of lua/intadd.lua (exact int64)
//	raw-hincrby       HINCRBY key age 1: the target's baseline
//	raw-evalsha-min   EVALSHA of incrMin: EXISTS + HINCRBY + version bump
//	raw-evalsha-same  EVALSHA of lua/intadd.lua with Incr's arguments
//	paired            rapyer and raw-hincrby alternately (see paired)
//	paired-same       rapyer and raw-evalsha-same alternately: rapyer's Go side
func BenchmarkIncr(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) { measure(b, incrLib(b, e)) })
		b.Run("raw-hincrby", func(b *testing.B) { measure(b, hincrbyRaw(b, e)) })
		b.Run("raw-evalsha-min", func(b *testing.B) { measure(b, evalshaRaw(b, e, incrMin, int64Reply, "age", 1)) })
		b.Run("raw-evalsha-same", func(b *testing.B) {
			// ARGV: TTL "0" (none), one object key, field, op, operand, and
			// an empty index section ("0": its item count).
			measure(b, evalshaRaw(b, e, rapyerInt, decimalReply, "0", "1", "age", "add", "1", "0"))
		})
		b.Run("paired", func(b *testing.B) { paired(b, incrLib(b, e), hincrbyRaw(b, e)) })
		b.Run("paired-same", func(b *testing.B) {
			paired(b, incrLib(b, e), evalshaRaw(b, e, rapyerInt, decimalReply, "0", "1", "age", "add", "1", "0"))
		})
	})
}

func incrLib(b testing.TB, e *env) op {
	ctx := b.Context()
	p := savedProfile(b, e)
	if _, err := p.Age.Incr(ctx, 1); err != nil { // the script is cached from here on
		b.Fatal(err)
	}
	return func() error {
		_, err := p.Age.Incr(ctx, 1)
		return err
	}
}

func hincrbyRaw(b testing.TB, e *env) op {
	key := savedProfile(b, e).Key()
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		_, err := redis.Int64(c.Do("HINCRBY", key, "age", 1))
		return err
	}
}

// evalshaRaw runs s by EVALSHA (redigo's Script: EVAL on NOSCRIPT) on a
// saved object's key with args, and decodes the reply with decode.
func evalshaRaw(b *testing.B, e *env, s *redis.Script, decode func(any, error) (int64, error), args ...any) op {
	key := savedProfile(b, e).Key()
	pool := e.poolFor(key)
	c := pool.Get()
	if err := s.Load(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
	keysAndArgs := append([]any{key}, args...)
	return func() error {
		c := pool.Get()
		defer c.Close()
		_, err := decode(s.Do(c, keysAndArgs...))
		return err
	}
}

// int64Reply reads an integer reply (HINCRBY's, incrMin's).
func int64Reply(r any, err error) (int64, error) { return redis.Int64(r, err) }

// decimalReply reads a bulk string holding a decimal int64, as Int.Incr
// reads lua/int.lua's reply.
func decimalReply(r any, err error) (int64, error) {
	if n, ok := r.(int64); ok && err == nil { // intadd.lua's fast path on Redis
		return n, nil
	}
	raw, err := redis.Bytes(r, err)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(raw), 10, 64)
}
