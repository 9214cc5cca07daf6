// Command scriptprobe measures the server time per call (INFO
// commandstats, usec_per_call of evalsha) of Lua script variants, run
// interleaved in rounds of pipelined calls on a private redis-server:
//
//	go run ./cmd/scriptprobe -url redis://127.0.0.1:PORT -rounds 7 -n 5000
//
// It resets the server's statistics (CONFIG RESETSTAT): never point it at a
// server others use.
//
// With -dump DIR it writes each variant instead, for callgrind.sh, which
// counts the server's instructions per call (a count a loaded machine does
// not move, where µs per call do): DIR/NAME.lua, its source, and
// DIR/NAME.args, its EVALSHA arguments after the SHA (numkeys, keys, args)
// separated by NUL bytes; and DIR/raw_savemany_64.resp, the raw pipeline
// the savemany probes stand for (64 MULTI {HSET, HINCRBY} EXEC, as RESP).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
)

type variant struct {
	name string
	src  string
	args []any // after the key
	keys []any // the keys when not the probe's one hash (then args are whole)
}

func main() {
	url := flag.String("url", "", "redis URL of a private server")
	rounds := flag.Int("rounds", 7, "rounds")
	n := flag.Int("n", 5000, "calls per variant and round")
	dump := flag.String("dump", "", "write each variant to this directory (NAME.lua, NAME.args) and stop")
	extra := flag.String("extra", "", "more variants: name=path.lua,... (Incr's int.lua arguments; query.lua's or save.lua's when name starts with \"query\" or \"save\")")
	flag.Parse()
	key := "scriptprobe:obj"
	vs := variants()
	if *dump != "" {
		dumpAll(*dump, key, vs)
		return
	}
	c, err := redis.DialURL(*url)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	setupQuery(c)
	for _, kv := range strings.Split(*extra, ",") {
		name, path, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
		case strings.HasPrefix(name, "query"): // query.lua's two probes
			vs = append(vs, variant{name + " eq", file(path), queryEq, queryKeys}, variant{name + " range", file(path), queryRange, queryKeys})
		case strings.HasPrefix(name, "save"):
			vs = append(vs, variant{name, file(path), saveArgs, nil})
		default: // Int.Incr's arguments
			vs = append(vs, variant{name, file(path), []any{"0", "1", "age", "add", "1", "0"}, nil})
		}
	}
	res := map[string][]float64{}
	for r := 0; r < *rounds; r++ {
		for _, v := range vs {
			if _, err := c.Do("HSET", key, "_v", 1, "age", 36, "name", "x"); err != nil {
				log.Fatal(err)
			}
			s := redis.NewScript(1, v.src)
			if err := s.Load(c); err != nil {
				log.Fatalf("%s: %v", v.name, err)
			}
			if _, err := c.Do("CONFIG", "RESETSTAT"); err != nil {
				log.Fatal(err)
			}
			args := append([]any{key}, v.args...)
			if v.keys != nil {
				s = redis.NewScript(len(v.keys), v.src)
				args = append(append([]any{}, v.keys...), v.args...)
			}
			for i := 0; i < *n; i++ {
				if err := s.SendHash(c, args...); err != nil {
					log.Fatal(err)
				}
			}
			if err := c.Flush(); err != nil {
				log.Fatal(err)
			}
			for i := 0; i < *n; i++ {
				if _, err := c.Receive(); err != nil {
					log.Fatalf("%s: %v", v.name, err)
				}
			}
			info, err := redis.String(c.Do("INFO", "commandstats"))
			if err != nil {
				log.Fatal(err)
			}
			res[v.name] = append(res[v.name], usecPerCall(info, "evalsha"))
		}
	}
	_, _ = c.Do("DEL", append([]any{key}, queryKeys...)...)
	for _, v := range vs {
		x := res[v.name]
		sort.Float64s(x)
		fmt.Printf("%-24s min %6.2f  med %6.2f  max %6.2f us/call  (%d bytes)\n", v.name, x[0], x[len(x)/2], x[len(x)-1], len(v.src))
	}
}

// file reads a variant from a file: -extra name=path,... (an assembled
// script saved from an older commit, say).
func file(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}

// The query probe's keys: a shard's x:i keys of name, age and email, x:rev,
// x:all. 100 objects are named group-500 (ids q0..q99, ages 50000..50099)
// among 10000; no hash exists (mode "load" reads none).
var queryKeys = []any{"scriptprobe:{q}:x:i:name", "scriptprobe:{q}:x:i:age", "scriptprobe:{q}:x:i:email", "scriptprobe:{q}:x:rev", "scriptprobe:{q}:x:all"}

func setupQuery(c redis.Conn) {
	_, _ = c.Do("DEL", queryKeys...)
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("q%d", i)
		_ = c.Send("ZADD", queryKeys[0], 0, fmt.Sprintf("group-%d\x00%s", 500+i/100, id))
		_ = c.Send("ZADD", queryKeys[1], 0, fmt.Sprintf("age-%07d\x00%s", 50000+i, id))
		_ = c.Send("ZADD", queryKeys[4], 0, id)
	}
	if _, err := c.Do(""); err != nil {
		log.Fatal(err)
	}
}

// The two probes of query.lua: Find (mode load) of the 100 named
// group-500, and of the 100 aged 50000 to 50099 sorted by age.
var (
	queryEq    = queryArgs("load", "0", "s", "L", "name", "1", "s", "1", "group-500\x00", "group-500\x01")
	queryRange = queryArgs("load", "2", "i", "L", "age", "2", "i", "1", "age-0050000\x00", "age-0050099\x01")
)

// queryArgs: ARGV of lua/query.lua for one leaf, every match, no cursor.
func queryArgs(mode, sortpos, sortkind string, pred ...any) []any {
	return append([]any{"scriptprobe:{q}:o:", mode, "3", "name", "age", "email", sortpos, sortkind, "0", "0", "0", "", "", "0"}, pred...)
}

func usecPerCall(info, cmd string) float64 {
	for _, l := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_"+cmd+":"); ok {
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "usec_per_call="); ok {
					var f float64
					_, _ = fmt.Sscan(v, &f)
					return f
				}
			}
		}
	}
	return -1
}

// saveArgs: Save of six fields, no TTL, no version check, no index.
var saveArgs = []any{"0", "1", "0", "", "6", "0", "name", "Ada", "age", "36", "score", "1.5", "active", "1", "seen", "2026-01-01T00:00:00Z", "email", "a@b.c", "0"}

func variants() []variant {
	incrArgs := []any{"0", "1", "age", "add", "1", "0"}
	return []variant{
		{"return1", "return 1", nil, nil},
		{"int.lua", lua.Int.Src(), incrArgs, nil},
		{"hmget+hset inline", `
local got = redis.call('HMGET', KEYS[1], '_v', ARGV[3])
if not got[1] then return redis.error_reply('NOTFOUND object does not exist') end
local c = tonumber(got[2] or '0') + tonumber(ARGV[5])
local out = string.format('%d', c)
redis.call('HSET', KEYS[1], ARGV[3], out, '_v', string.format('%d', tonumber(got[1]) + 1))
return out
`, incrArgs, nil},
		{"exists+hincrby x2", `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOTFOUND object does not exist') end
local v = redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[5])
redis.call('HINCRBY', KEYS[1], '_v', 1)
return v
`, incrArgs, nil},
		{"intadd.lua", lua.IntAdd.Src(), incrArgs[:5], nil},
		{"query.lua eq", lua.Query.Src(), queryEq, queryKeys},
		{"query.lua range", lua.Query.Src(), queryRange, queryKeys},
		{"raw zrangebylex 100", `return redis.call('ZRANGEBYLEX', KEYS[1], '[group-500\0', '(group-500\1')`, nil, queryKeys[:1]},
		{"save.lua (6 fields)", lua.Save.Src(), saveArgs, nil},
		{"savemany.lua 64 full", lua.SaveMany.Src(), saveManyArgs("full"), saveManyKeys},
		{"savemany.lua 64 compact", lua.SaveMany.Src(), saveManyArgs("compact"), saveManyKeys},
		{"savemany.lua 64 shape", lua.SaveMany.Src(), saveManyArgs("shape"), saveManyKeys},
		{"hincrby+hset x64", `
for o = 1, #KEYS do
  redis.call('HINCRBY', KEYS[o], '_v', 1)
  redis.call('HSET', KEYS[o], unpack(ARGV, (o - 1) * 12 + 1, o * 12))
end
return 1
`, saveManyPairs(), saveManyKeys},
		{"hmget only", `
local got = redis.call('HMGET', KEYS[1], '_v', ARGV[3])
return got[2]
`, incrArgs, nil},
	}
}

// saveManyKeys are the 64 objects of the savemany probes.
var saveManyKeys = func() []any {
	ks := make([]any, 64)
	for i := range ks {
		ks[i] = fmt.Sprintf("scriptprobe:{m}:o:%d", i)
	}
	return ks
}()

// saveManyArgs: lua/savemany.lua's ARGV for 64 Saves of saveArgs, each in
// its full, its compact or its shape form ("full", "compact", "shape").
func saveManyArgs(form string) []any {
	args := []any{len(saveManyKeys), "0", "0", 0}
	pairs := saveArgs[6 : len(saveArgs)-1]
	if form == "shape" {
		args[3] = len(pairs) / 2
		for j := 0; j < len(pairs); j += 2 {
			args = append(args, pairs[j])
		}
	}
	for range saveManyKeys {
		switch form {
		case "shape":
			args = append(args, "s")
			for j := 1; j < len(pairs); j += 2 {
				args = append(args, pairs[j])
			}
		case "compact":
			args = append(append(args, "f"), saveArgs[4:len(saveArgs)-1]...)
		default:
			args = append(append(args, 1, len(saveArgs)), saveArgs...)
		}
	}
	return args
}

// saveManyPairs: the six pairs of saveArgs, once per object.
func saveManyPairs() []any {
	var out []any
	for range saveManyKeys {
		out = append(out, saveArgs[6:len(saveArgs)-1]...)
	}
	return out
}

// dumpAll writes every variant for callgrind.sh (see -dump).
func dumpAll(dir, key string, vs []variant) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, v := range vs {
		keys := v.keys
		if keys == nil {
			keys = []any{key}
		}
		parts := []string{fmt.Sprint(len(keys))}
		for _, a := range append(append([]any{}, keys...), v.args...) {
			parts = append(parts, fmt.Sprint(a))
		}
		name := strings.NewReplacer(".lua", "", " ", "_", "(", "", ")", "", "+", "_").Replace(v.name)
		if err := os.WriteFile(dir+"/"+name+".lua", []byte(v.src), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+name+".args", []byte(strings.Join(parts, "\x00")), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	// The raw pipeline the savemany probes stand for, as RESP to send with
	// redis-cli --pipe: per object MULTI, HSET of its six pairs, HINCRBY
	// of _v, EXEC (bench's raw-pipe baseline of SaveMany).
	var resp strings.Builder
	for _, k := range saveManyKeys {
		for _, c := range [][]any{{"MULTI"}, append([]any{"HSET", k}, saveArgs[6:len(saveArgs)-1]...), {"HINCRBY", k, "_v", 1}, {"EXEC"}} {
			fmt.Fprintf(&resp, "*%d\r\n", len(c))
			for _, a := range c {
				s := fmt.Sprint(a)
				fmt.Fprintf(&resp, "$%d\r\n%s\r\n", len(s), s)
			}
		}
	}
	if err := os.WriteFile(dir+"/raw_savemany_64.resp", []byte(resp.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}
