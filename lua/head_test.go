package lua_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/lua"
)

// TestIntAddHead runs Int's add script (lua/intadd.head.lua, then
// intadd.lua) directly, on every backend: on Redis the head finishes the
// common case with native HINCRBY (its reply an integer), and leaves every
// other case to intadd.lua's own path having written nothing, undoing its
// add when the version turns out bad; on the embedded server intadd.lua
// runs alone (its reply a bulk string). Replies and stored text are the same
// on both but for that reply's type.
func TestIntAddHead(t *testing.T) {
	const big = "9007199254740993" // 2^53+1: not a double
	minI64 := strconv.FormatInt(math.MinInt64, 10)
	maxI64 := strconv.FormatInt(math.MaxInt64, 10)
	cases := []struct {
		name      string
		hash      []string // the stored hash (nil: no object)
		op, x     string
		ttl       string
		reply     string // the value; "ERR:CODE" for an error reply with that code
		n, v      string // stored after: the field "n" and "_v" ("-": absent)
		fast      bool   // the head finishes it on Redis (integer reply)
		versioned string // the Versioned twin's version, when fast
	}{
		{"add", []string{"_v", "1", "n", "5"}, "add", "3", "0", "8", "8", "2", true, "2"},
		{"sub", []string{"_v", "7", "n", "5"}, "sub", "-3", "0", "8", "8", "8", true, "8"},
		{"absent field", []string{"_v", "1"}, "add", "-4", "0", "-4", "-4", "2", true, "2"},
		{"version 0", []string{"_v", "0", "n", "1"}, "add", "1", "0", "2", "2", "1", true, "1"},
		{"past 2^53", []string{"_v", "1", "n", big}, "add", "2", "0", "9007199254740995", "9007199254740995", "2", true, "2"},
		{"to max", []string{"_v", "1", "n", "-1"}, "add", maxI64, "0", "9223372036854775806", "9223372036854775806", "2", true, "2"},
		{"add min", []string{"_v", "1", "n", "5"}, "add", minI64, "0", "-9223372036854775803", "-9223372036854775803", "2", true, "2"},
		{"sub min", []string{"_v", "1", "n", "-1"}, "sub", minI64, "0", maxI64, maxI64, "2", false, ""},
		{"zero", []string{"_v", "1", "n", "5"}, "add", "0", "0", "5", "5", "1", false, ""},
		{"ttl", []string{"_v", "1", "n", "5"}, "add", "1", "60000", "6", "6", "2", true, "2"},
		{"keep", []string{"_v", "1", "n", "5"}, "add", "1", "keep", "6", "6", "2", false, ""},
		{"overflow", []string{"_v", "1", "n", maxI64}, "add", "1", "0", "ERR:OVERFLOW", maxI64, "1", false, ""},
		{"bad text", []string{"_v", "1", "n", "007"}, "add", "1", "0", "ERR:DECODE", "007", "1", false, ""},
		{"no object", nil, "add", "1", "0", "ERR:NOTFOUND", "-", "-", false, ""},
		{"no version", []string{"n", "5"}, "add", "1", "0", "ERR:NOTFOUND", "5", "-", false, ""},
		{"bad version", []string{"_v", "x1", "n", "5"}, "add", "1", "0", "ERR:DECODE", "5", "x1", false, ""},
		{"negative version", []string{"_v", "-5", "n", "5"}, "add", "1", "0", "ERR:DECODE", "5", "-5", false, ""},
		{"bad version, add min", []string{"_v", "-5", "n", "5"}, "add", minI64, "0", "ERR:DECODE", "5", "-5", false, ""},
		{"bad version, sub", []string{"_v", "x", "n", "5"}, "sub", "2", "0", "ERR:DECODE", "5", "x", false, ""},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		onRedis := b.Name != "embedded"
		for _, c := range cases {
			for _, sc := range []*lua.Script{lua.IntAdd, lua.IntAdd.Versioned()} {
				t.Run(c.name+"/"+sc.Name(), func(t *testing.T) {
					key := b.Prefix() + "{h}:" + strings.ReplaceAll(c.name, " ", "_")
					_, _ = b.Do(t, "DEL", key)
					if c.hash != nil {
						args := []any{key}
						for _, s := range c.hash {
							args = append(args, s)
						}
						if _, err := b.Do(t, "HSET", args...); err != nil {
							t.Fatal(err)
						}
					}
					r, err := b.Do(t, "EVAL", sc.Src(), 1, key, c.ttl, 1, "n", c.op, c.x)
					if code, isErr := strings.CutPrefix(c.reply, "ERR:"); isErr {
						if err == nil || !strings.HasPrefix(err.Error(), code+" ") {
							t.Fatalf("reply %v, %v; want an error %s", r, err, code)
						}
					} else {
						if err != nil {
							t.Fatal(err)
						}
						version := ""
						if sc != lua.IntAdd {
							vs, ok := r.([]any)
							if !ok || len(vs) != 2 {
								t.Fatalf("versioned reply %#v", r)
							}
							version, r = fmt.Sprint(vs[0]), vs[1]
						}
						n, isInt := r.(int64)
						got := strconv.FormatInt(n, 10)
						if !isInt {
							s, _ := redis.String(r, nil)
							got = s
						}
						// Past 2^53 the head replies the stored text (a
						// double is not exact there).
						v, _ := strconv.ParseInt(c.reply, 10, 64)
						wantInt := c.fast && onRedis && v < 1<<53 && v > -1<<53
						if got != c.reply || isInt != wantInt {
							t.Fatalf("reply %#v (integer %v), want %s (integer %v)", r, isInt, c.reply, wantInt)
						}
						if sc != lua.IntAdd && c.fast && version != c.versioned {
							t.Fatalf("versioned reply's version %s, want %s", version, c.versioned)
						}
					}
					for field, want := range map[string]string{"n": c.n, "_v": c.v} {
						got, ok := b.HGet(t, key, field)
						if !ok {
							got = "-"
						}
						if got != want {
							t.Errorf("stored %s = %s, want %s", field, got, want)
						}
					}
					if n, _ := redis.Int(b.Do(t, "EXISTS", key)); (n == 1) != (c.hash != nil) {
						t.Errorf("EXISTS %s = %d", key, n)
					}
					if pttl := b.PTTL(t, key); (c.ttl == "60000") != (pttl > 0) {
						t.Errorf("PTTL %d with TTL mode %s", pttl, c.ttl)
					}
				})
			}
		}
	})
}
