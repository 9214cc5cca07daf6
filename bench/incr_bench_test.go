package bench

import (
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

// rapyerInt is Int.Incr's own script, sent over plain redigo with the
// arguments Incr sends: the script's cost on the server without rapyer's Go
// side.
var rapyerInt = redis.NewScript(1, lua.Int.Src())

// BenchmarkIncr: Int.Incr(ctx, 1) on a saved object.
//
//	rapyer            Int.Incr: EVALSHA of lua/int.lua (exact int64 in Lua)
//	raw-hincrby       HINCRBY key age 1: the target's baseline
//	raw-evalsha-min   EVALSHA of incrMin: EXISTS + HINCRBY + version bump
//	raw-evalsha-same  EVALSHA of lua/int.lua with Incr's arguments
func BenchmarkIncr(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) {
			ctx := b.Context()
			p := savedProfile(b, e)
			if _, err := p.Age.Incr(ctx, 1); err != nil { // loads the script
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if _, err := p.Age.Incr(ctx, 1); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run("raw-hincrby", func(b *testing.B) {
			key := savedProfile(b, e).Key()
			warm(b, e.pool)
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				c := e.pool.Get()
				_, err := redis.Int64(c.Do("HINCRBY", key, "age", 1))
				c.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run("raw-evalsha-min", func(b *testing.B) {
			key := savedProfile(b, e).Key()
			loadScript(b, e, incrMin)
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				c := e.pool.Get()
				_, err := redis.Int64(incrMin.Do(c, key, "age", 1))
				c.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run("raw-evalsha-same", func(b *testing.B) {
			key := savedProfile(b, e).Key()
			loadScript(b, e, rapyerInt)
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				c := e.pool.Get()
				// ARGV: TTL "0", one object key, field, op, operand.
				_, err := redis.Bytes(rapyerInt.Do(c, key, "0", "1", "age", "add", "1"))
				c.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	})
}

func loadScript(b *testing.B, e *env, s *redis.Script) {
	b.Helper()
	c := e.pool.Get()
	defer c.Close()
	if err := s.Load(c); err != nil {
		b.Fatal(err)
	}
}
