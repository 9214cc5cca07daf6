package bench

import (
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// BenchmarkPeersIncrSameScriptParallel: Incr from G goroutines, every
// library sending the server the same work. rapyer sends Int.Incr; redigo,
// go-redis and rueidis each send EVALSHA of lua/intadd.lua (the script
// Int.Incr sends on a field without an index) with Int.Incr's arguments.
// BenchmarkPeersIncrParallel compares with HINCRBY, which does not keep
// Incr's contract (no existence check, no version): there the server's
// script time bounds rapyer alone; here it bounds every library alike, so
// the ratios are the clients' (connections, pipelining, allocations).
func BenchmarkPeersIncrSameScriptParallel(b *testing.B) {
	peerBackends(b, func(b *testing.B, pe *peerEnv) { concurrently(b, pe, incrScriptOps) })
}

// incrScriptArgs are Int.Incr(ctx, 1)'s script arguments on a model without
// TTL: TTL mode "0", one object key, field, op, operand, an empty index
// section.
var incrScriptArgs = []string{"0", "1", "age", "add", "1", "0"}

// incrScriptOps returns, per library in peerLibs order, n increments each
// on an object of its own: rapyer's Int.Incr, the peers' EVALSHA.
func incrScriptOps(b testing.TB, pe *peerEnv, n int) [][]op {
	ctx := b.Context()
	out := make([][]op, len(peerLibs))
	out[0] = incrOps(b, pe, n)[0]
	src := lua.IntAdd.Src()
	rs := redis.NewScript(1, src)
	c := pe.pool.Get()
	if err := rs.Load(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
	out[1] = onKeys(b, pe, n, func(k string) op {
		kargs := append([]any{k}, toAny(incrScriptArgs)...)
		return func() error {
			c := pe.pool.Get()
			defer c.Close()
			_, err := decimalReply(rs.Do(c, kargs...))
			return err
		}
	})
	gs := goredis.NewScript(src)
	if err := gs.Load(ctx, pe.gr).Err(); err != nil {
		b.Fatal(err)
	}
	out[2] = onKeys(b, pe, n, func(k string) op {
		return func() error {
			_, err := gs.EvalSha(ctx, pe.gr, []string{k}, toAny(incrScriptArgs)...).Result() // an integer on Redis (intadd.lua's fast path), text on the embedded server
			return err
		}
	})
	ls := rueidis.NewLuaScript(src)
	out[3] = onKeys(b, pe, n, func(k string) op {
		return func() error {
			_, err := ls.Exec(ctx, pe.ru, []string{k}, incrScriptArgs).ToAny()
			return err
		}
	})
	return out
}

// toAny returns ss as []any.
func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
