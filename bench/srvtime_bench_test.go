package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
)

// cmdStat is one command's line of INFO commandstats: calls and total
// microseconds spent running it on the server.
type cmdStat struct{ calls, usec int64 }

// commandStats reads INFO commandstats: command name (lower case) -> stat.
func commandStats(b *testing.B, e *env) map[string]cmdStat {
	b.Helper()
	c := e.pool.Get()
	defer c.Close()
	s, err := redis.String(c.Do("INFO", "commandstats"))
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]cmdStat{}
	for _, l := range strings.Split(s, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var st cmdStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				_, _ = fmt.Sscan(v, &st.calls)
			case "usec":
				_, _ = fmt.Sscan(v, &st.usec)
			}
		}
		out[strings.TrimPrefix(name, "cmdstat_")] = st
	}
	return out
}

// serverCPU returns a function that reads the CPU time the server's main
// thread has run (/proc/<pid>/schedstat, in ns), when the server is a
// process of this machine; else nil.
func serverCPU(b *testing.B, e *env) func() int64 {
	b.Helper()
	c := e.pool.Get()
	defer c.Close()
	info, err := redis.String(c.Do("INFO", "server"))
	if err != nil {
		b.Fatal(err)
	}
	var pid int
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	path := fmt.Sprintf("/proc/%d/schedstat", pid)
	read := func() int64 {
		raw, err := os.ReadFile(path)
		if err != nil {
			return -1
		}
		var ns int64
		_, _ = fmt.Sscan(string(raw), &ns)
		return ns
	}
	if pid == 0 || read() < 0 {
		return nil
	}
	return read
}

// measureServer is measure plus the server's own time, from INFO
// commandstats read before and after the loop: "srv-us/op", the
// microseconds the server spent on every command per operation, and
// "script-us/call", per EVALSHA (and EVAL) call. Those are wall time
// inside the server: on a loaded machine they count the time the server
// waited for a core. When the server runs on this machine, "srv-cpu-us/op"
// is the CPU time its main thread ran per operation (network reads and
// writes included), which waiting does not inflate. The server must serve
// nothing else meanwhile: run it on a private redis-server
// (.ci/with-redis). The INFO calls themselves are counted in srv-cpu-us/op
// only (four per loop).
func measureServer(b *testing.B, e *env, f op) {
	b.Helper()
	cpu := serverCPU(b, e)
	before := commandStats(b, e)
	var cpu0 int64
	if cpu != nil {
		cpu0 = cpu()
	}
	n := 0
	measure(b, func() error { n++; return f() })
	var cpu1 int64
	if cpu != nil {
		cpu1 = cpu()
	}
	after := commandStats(b, e)
	var all, script cmdStat
	for name, a := range after {
		if name == "info" {
			continue
		}
		d := cmdStat{a.calls - before[name].calls, a.usec - before[name].usec}
		all.calls, all.usec = all.calls+d.calls, all.usec+d.usec
		if name == "evalsha" || name == "eval" {
			script.calls, script.usec = script.calls+d.calls, script.usec+d.usec
		}
	}
	if n > 0 {
		b.ReportMetric(float64(all.usec)/float64(n), "srv-us/op")
	}
	if script.calls > 0 {
		b.ReportMetric(float64(script.usec)/float64(script.calls), "script-us/call")
	}
	if cpu != nil && n > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/1e3/float64(n), "srv-cpu-us/op")
	}
}

// BenchmarkServerTime: the server time of the hot scripts (issue 12), on
// the redis backend alone (the other backends have no commandstats), each
// with the server time of the raw command it stands for:
//
//	incr/rapyer        Int.Incr(1): lua/int.lua, no index
//	incr/raw-hincrby   HINCRBY key age 1
//	float/rapyer       Float.Incr(0.5): lua/float.lua
//	toggle/rapyer      Bool.Toggle: lua/scalar.lua
//	list/rapyer        List.Append of a Bag: lua/list.lua (a container write)
//	list/raw-rpush     RPUSH
//	save/plain         Save of a Profile (6 fields, no index): lua/save.lua
//	save/indexed       Save of an IndexedProfile, age moving: lua/save.lua
//	                   with the index section (3 indexed fields)
//	savemany/N/rapyer  SaveMany of N Profiles (lua/savemany.lua: one script
//	                   call per chunk on one server)
//	savemany/N/raw-pipe  the raw pipeline of N MULTI {HSET, HINCRBY} EXEC
//	find/eq, find/range  see BenchmarkIndexQuery: FindIDs, the query script
//	                   alone (100 of 100,000), and Find with the load
func BenchmarkServerTime(b *testing.B) {
	queryBackends(b, func(b *testing.B, e *env) {
		ctx := b.Context()
		b.Run("incr/rapyer", func(b *testing.B) { measureServer(b, e, incrLib(b, e)) })
		b.Run("incr/raw-hincrby", func(b *testing.B) { measureServer(b, e, hincrbyRaw(b, e)) })
		b.Run("float/rapyer", func(b *testing.B) {
			p := savedProfile(b, e)
			measureServer(b, e, func() error { _, err := p.Score.Incr(ctx, 0.5); return err })
		})
		b.Run("toggle/rapyer", func(b *testing.B) {
			p := savedProfile(b, e)
			measureServer(b, e, func() error { _, err := p.Active.Toggle(ctx); return err })
		})
		b.Run("list/rapyer", func(b *testing.B) { measureServer(b, e, appendLib(b, e)) })
		b.Run("list/raw-rpush", func(b *testing.B) { measureServer(b, e, rpushRaw(b, e)) })
		b.Run("save/plain", func(b *testing.B) { measureServer(b, e, saveMoving(b, e, Profiles)) })
		b.Run("save/indexed", func(b *testing.B) { measureServer(b, e, saveMoving(b, e, IndexedProfiles)) })
		for _, n := range bulkSizes {
			b.Run("savemany/"+strconv.Itoa(n)+"/rapyer", func(b *testing.B) { measureServer(b, e, saveManyLib(b, e, n)) })
			b.Run("savemany/"+strconv.Itoa(n)+"/raw-pipe", func(b *testing.B) { measureServer(b, e, saveManyRaw(b, e, n)) })
		}
		if testing.Short() {
			return
		}
		populate(b, e)
		q := IndexedProfiles.Fields()
		eq, rng, asc := q.Name.Eq("group-500"), q.Age.Between(50000, 50099), rapyer.Asc(&q.Age)
		b.Run("find/eq/ids", func(b *testing.B) { measureServer(b, e, findIDsLib(b, e, eq)) })
		b.Run("find/eq/load", func(b *testing.B) { measureServer(b, e, findLib(b, e, eq)) })
		b.Run("find/range/ids", func(b *testing.B) { measureServer(b, e, findIDsLib(b, e, rng, asc)) })
		b.Run("find/range/load", func(b *testing.B) { measureServer(b, e, findLib(b, e, rng, asc)) })
	})
}
