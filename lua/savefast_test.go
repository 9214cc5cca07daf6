package lua_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/lua"
)

// saveCase is one object's state and Save: run by save.lua alone and as
// one object of a savemany.lua call.
type saveCase struct {
	name     string
	hash     []any // the stored hash (nil: none; a string value: a string key)
	args     []any // save.lua's ARGV
	reply    string
	after    map[string]string // the hash after ("-": a field absent)
	ttl      bool              // the key has a TTL after
	fast     bool              // savefast.lua saves it on Redis (an integer reply)
	isString bool              // the key holds a string (hash is its value)
}

// saveArgs is save.lua's ARGV for a Save with no version check, no
// container and no index: TTL mode, model TTL, pairs and absent fields.
func saveArgs(mode, modelTTL string, pairs []string, absent ...string) []any {
	a := []any{mode, 1, modelTTL, "", len(pairs) / 2, len(absent)}
	for _, p := range pairs {
		a = append(a, p)
	}
	for _, f := range absent {
		a = append(a, f)
	}
	return append(a, "0")
}

// TestSaveFast runs Save's scripts directly on every backend: on Redis,
// savefast.lua saves an object with no version check, index or container
// by native commands (an integer reply) and leaves every other case to
// save.lua's body having written nothing; on the embedded server save.lua
// runs alone. Replies and stored data are the same but for that reply's
// type.
func TestSaveFast(t *testing.T) {
	ab := []string{"a", "1", "b", "x"}
	cases := []saveCase{
		{name: "new", args: saveArgs("0", "0", ab), reply: "1", after: map[string]string{"_v": "1", "a": "1", "b": "x"}, fast: true},
		{name: "existing", hash: []any{"_v", "5", "a", "0", "c", "gone"}, args: saveArgs("0", "0", ab, "c"), reply: "6",
			after: map[string]string{"_v": "6", "a": "1", "b": "x", "c": "-"}, fast: true},
		{name: "version 0", hash: []any{"_v", "0"}, args: saveArgs("0", "0", ab), reply: "1", after: map[string]string{"_v": "1", "a": "1"}, fast: true},
		{name: "no fields", hash: []any{"_v", "2", "a", "1"}, args: saveArgs("0", "0", nil, "a"), reply: "3", after: map[string]string{"_v": "3", "a": "-"}, fast: true},
		{name: "past 2^53", hash: []any{"_v", "9007199254740993"}, args: saveArgs("0", "0", ab), reply: "9007199254740994",
			after: map[string]string{"_v": "9007199254740994"}},
		{name: "ttl mode", hash: []any{"_v", "1"}, args: saveArgs("60000", "0", ab), reply: "2", after: map[string]string{"_v": "2"}, ttl: true, fast: true},
		{name: "model ttl", args: saveArgs("keep", "60000", ab), reply: "1", after: map[string]string{"_v": "1"}, ttl: true, fast: true},
		{name: "version check", hash: []any{"_v", "4"}, args: []any{"0", 1, "0", "4", 1, 0, "a", "9", "0"}, reply: "5", after: map[string]string{"_v": "5", "a": "9"}},
		{name: "version conflict", hash: []any{"_v", "4", "a", "1"}, args: []any{"0", 1, "0", "3", 1, 0, "a", "9", "0"}, reply: "ERR:CONFLICT", after: map[string]string{"_v": "4", "a": "1"}},
		{name: "bad version", hash: []any{"_v", "x", "a", "1"}, args: saveArgs("0", "0", ab), reply: "ERR:DECODE", after: map[string]string{"_v": "x", "a": "1", "b": "-"}},
		{name: "negative version", hash: []any{"_v", "-3", "a", "1"}, args: saveArgs("0", "0", ab), reply: "ERR:DECODE", after: map[string]string{"_v": "-3", "a": "1", "b": "-"}},
		{name: "leading zero version", hash: []any{"_v", "007"}, args: saveArgs("0", "0", ab), reply: "8", after: map[string]string{"_v": "8", "a": "1"}},
		{name: "wrong type", hash: []any{"text"}, isString: true, args: saveArgs("0", "0", ab), reply: "ERR:WRONGTYPE"},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		onRedis := b.Name != "embedded"
		setup := func(t *testing.T, key string, c saveCase) {
			_, _ = b.Do(t, "DEL", key)
			switch {
			case c.isString:
				_, err := b.Do(t, "SET", key, c.hash[0])
				must(t, err)
			case c.hash != nil:
				_, err := b.Do(t, "HSET", append([]any{key}, c.hash...)...)
				must(t, err)
			}
		}
		check := func(t *testing.T, key string, c saveCase, r any, err error) {
			t.Helper()
			if code, isErr := strings.CutPrefix(c.reply, "ERR:"); isErr {
				if err == nil || !strings.HasPrefix(err.Error(), code+" ") {
					t.Fatalf("reply %v, %v; want an error %s", r, err, code)
				}
			} else {
				must(t, err)
				_, isInt := r.(int64)
				if got := replyText(r); got != c.reply || isInt != (c.fast && onRedis) {
					t.Fatalf("reply %#v (integer %v), want %s (integer %v)", r, isInt, c.reply, c.fast && onRedis)
				}
			}
			for f, want := range c.after {
				got, ok := b.HGet(t, key, f)
				if !ok {
					got = "-"
				}
				if got != want {
					t.Errorf("stored %s = %s, want %s", f, got, want)
				}
			}
			if c.isString {
				if s, _ := redis.String(b.Do(t, "GET", key)); s != c.hash[0] {
					t.Errorf("the string key holds %q after", s)
				}
			}
			if pttl := b.PTTL(t, key); c.ttl != (pttl > 0) {
				t.Errorf("PTTL %d, want a TTL: %v", pttl, c.ttl)
			}
		}
		for _, c := range cases {
			t.Run(c.name+"/save", func(t *testing.T) {
				key := b.Prefix() + "{s}:" + strings.ReplaceAll(c.name, " ", "_")
				setup(t, key, c)
				r, err := b.Do(t, "EVAL", append([]any{lua.Save.Src(), 1, key}, c.args...)...)
				check(t, key, c, r, err)
			})
		}
		// In savemany.lua calls, one per TTL mode and model TTL: each
		// object in the shape form when its fields are the first compact
		// one's and it removes none, else in the compact form when it allows (no version
		// check, no index, one key), else in the full form.
		t.Run("savemany", func(t *testing.T) {
			groups := map[[2]any][]saveCase{}
			var order [][2]any
			for _, c := range cases {
				g := [2]any{c.args[0], c.args[2]}
				if groups[g] == nil {
					order = append(order, g)
				}
				groups[g] = append(groups[g], c)
			}
			shapes := 0 // objects sent in the shape form, over all calls
			for _, g := range order {
				var keys, args, shape []any // shape: the first compact object's field names, if it removes none
				for _, c := range groups[g] {
					key := b.Prefix() + "{s}:m" + strings.ReplaceAll(c.name, " ", "_")
					setup(t, key, c)
					keys = append(keys, key)
					a := c.args
					if a[3] != "" || a[len(a)-1] != "0" {
						args = append(append(args, 1, len(a)), a...)
						continue
					}
					var names, values []any
					for j := range a[4].(int) {
						names, values = append(names, a[6+2*j]), append(values, a[7+2*j])
					}
					if shape == nil && a[5] == 0 {
						shape = names
					}
					if a[5] == 0 && fmt.Sprint(names) == fmt.Sprint(shape) {
						shapes++
						args = append(append(args, "s"), values...)
						continue
					}
					args = append(append(args, "f"), a[4:len(a)-1]...)
				}
				head := append(append([]any{lua.SaveMany.Src(), len(keys)}, keys...), len(keys), g[0], g[1], len(shape))
				head = append(head, shape...)
				r, err := redis.Values(b.Do(t, "EVAL", append(head, args...)...))
				must(t, err)
				if len(r) != len(keys) {
					t.Fatalf("%d replies for %d objects", len(r), len(keys))
				}
				for i, c := range groups[g] {
					t.Run(c.name, func(t *testing.T) {
						// An object's error comes as its message (a bulk
						// string), a version as digits or an integer.
						reply, rerr := r[i], error(nil)
						if s, isText := r[i].([]byte); isText && strings.Trim(string(s), "0123456789") != "" {
							reply, rerr = nil, redis.Error(s)
						}
						check(t, keys[i].(string), c, reply, rerr)
					})
				}
			}
			if shapes < 5 {
				t.Fatalf("%d objects in the shape form: the cases no longer cover it", shapes)
			}
		})
	})
}

// replyText is a version reply's decimal text, integer or bulk string.
func replyText(r any) string {
	if n, ok := r.(int64); ok {
		return strconv.FormatInt(n, 10)
	}
	s, _ := redis.String(r, nil)
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
