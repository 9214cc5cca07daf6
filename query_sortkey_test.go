package rapyer_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// sortKeySrc is lua/index.lua (with the prelude) followed by a body that
// returns idx_key(kind, text) for each pair of ARGV (false: nil). (The
// assembled script keeps index.lua's lazy functions in idx_lib: shake.go.)
func sortKeySrc(t *testing.T) string {
	t.Helper()
	src := lua.Query.Src()
	i := strings.Index(src, "-- query.lua:")
	if i < 0 {
		t.Fatal("query.lua header not found")
	}
	return src[:i] + `
idx_load()
local out = {}
for i = 1, #ARGV, 2 do out[#out + 1] = idx_lib.idx_key(ARGV[i], ARGV[i + 1]) or false end
return out
`
}

// keyCase is one value of one kind: its stored text and Go's sort key.
type keyCase struct {
	kind string
	text string
	key  string
	ok   bool
}

// sortKeyCases encodes edge values and random ones of every kind with the
// probe's handles (so with the fields' codecs), and computes their sort
// keys with index.SortKey.
func sortKeyCases(t *testing.T, rng *rand.Rand, n int) []keyCase {
	t.Helper()
	var out []keyCase
	add := func(kind string, text []byte, key string, ok bool) {
		out = append(out, keyCase{kind, string(text), key, ok})
	}
	ints := []int64{0, 1, -1, 9, 10, -9, -10, 99, 100, -100, 123456789, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 53, -(1 << 53)}
	for p := int64(1); p < math.MaxInt64/10; p *= 10 {
		ints = append(ints, p, p-1, -p, -p+1)
	}
	floats := []float64{0, math.Copysign(0, -1), 5e-324, -5e-324, 1e308, -1e308, math.MaxFloat64, -math.MaxFloat64, 1e21, 1e-7, -1e-7, 1e20, 1e-5, 0.1, 0.2, 0.3, 1.5, -1.5, 100, 1000, 999.5, 123456789012345680000, 2.2250738585072014e-308, 1 << 53, -(1 << 60)}
	strs := []string{"", "a", "\x00", "\x01", "\x02", "\xff", "a\x00b", "a\x01", "\x00\x00", "\x01\x01", "\xff\xff\x00", "Z", "é", "ab", "a\xff"}
	for i := 0; i < n; i++ {
		ints = append(ints, int64(rng.Uint64()), rng.Int64N(1000)-500, int64(rng.Uint64())>>rng.IntN(63))
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			floats = append(floats, f)
		}
		floats = append(floats, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(40)-20)))
		bs := make([]byte, rng.IntN(6))
		for j := range bs {
			bs[j] = []byte{0, 1, 2, 'a', 0xfe, 0xff}[rng.IntN(6)]
		}
		strs = append(strs, string(bs))
	}
	for _, v := range ints {
		txt, err := ops.Encode(&q.Age, v)
		must(t, err)
		k, ok := index.SortKey('i', txt)
		add("i", txt, k, ok)
	}
	for _, v := range floats {
		txt, err := ops.Encode(&q.Score, v)
		must(t, err)
		k, ok := index.SortKey('f', txt)
		add("f", txt, k, ok)
	}
	for _, v := range strs {
		txt, err := ops.Encode(&q.Name, v)
		must(t, err)
		k, ok := index.SortKey('s', txt)
		add("s", txt, k, ok)
	}
	for _, v := range []bool{false, true} {
		txt, _ := ops.Encode(&q.Vip, v)
		k, ok := index.SortKey('b', txt)
		add("b", txt, k, ok)
	}
	for _, v := range []time.Time{time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64), time.Unix(0, 0), born0, time.Unix(-1, 0)} {
		txt, err := ops.Encode(&q.Born, v)
		must(t, err)
		k, ok := index.SortKey('i', txt)
		add("i", txt, k, ok)
	}
	return out
}

// Go's sort keys are lua/index.lua's, byte for byte: computed by the script
// directly, and read back from the indexes of stored objects.
func TestSortKeyMatchesLua(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		src := sortKeySrc(t)
		cases := sortKeyCases(t, rand.New(rand.NewPCG(7, 9)), 400)
		for start := 0; start < len(cases); start += 200 {
			part := cases[start:min(start+200, len(cases))]
			args := []any{src, 0}
			for _, c := range part {
				args = append(args, c.kind, c.text)
			}
			r, err := redis.Values(b.Do(t, "EVAL", args...))
			must(t, err)
			for i, c := range part {
				lk, isStr := r[i].([]byte)
				if !c.ok || !isStr || string(lk) != c.key {
					t.Fatalf("kind %s text %q: Go %q (ok %v), Lua %q", c.kind, c.text, c.key, c.ok, r[i])
				}
			}
		}
		// Stored values: the members of x:i start with Go's key.
		for i, c := range cases {
			if i%3 != 0 && i > 100 {
				continue // a sample is enough for the round trip through Save
			}
			p := qms.New(b.Store)
			switch c.kind {
			case "i":
				v, err := strconv.ParseInt(c.text, 10, 64)
				must(t, err)
				p.Age.Set(v)
			case "f":
				v, err := strconv.ParseFloat(c.text, 64)
				must(t, err)
				p.Score.Set(v)
			case "s":
				p.Name.Set(c.text)
			case "b":
				p.Vip.Set(c.text == "1")
			}
			must(t, p.Save(ctx))
			field := map[string]string{"i": "age", "f": "score", "s": "name", "b": "vip"}[c.kind]
			key := shardHead(p.Key()) + "x:i:" + field
			ms, err := redis.Strings(b.Do(t, "ZRANGEBYLEX", key, "["+c.key+"\x00"+p.ID(), "["+c.key+"\x00"+p.ID()))
			must(t, err)
			if len(ms) != 1 {
				all, _ := redis.Strings(b.Do(t, "ZRANGE", key, 0, -1))
				t.Fatalf("%s %q: member with Go key %q not in the index: %q", c.kind, c.text, c.key, all)
			}
			_, err = p.Delete(ctx)
			must(t, err)
		}
		// Byte order of keys is value order.
		for _, kind := range []string{"i", "f", "s"} {
			var cs []keyCase
			for _, c := range cases {
				if c.kind == kind {
					cs = append(cs, c)
				}
			}
			less := func(x, y keyCase) int {
				switch kind {
				case "i":
					a, _ := strconv.ParseInt(x.text, 10, 64)
					b, _ := strconv.ParseInt(y.text, 10, 64)
					return cmpOrd(a, b)
				case "f":
					a, _ := strconv.ParseFloat(x.text, 64)
					b, _ := strconv.ParseFloat(y.text, 64)
					return cmpOrd(a, b)
				}
				return strings.Compare(x.text, y.text)
			}
			for i := range cs {
				for j := range cs {
					if got, want := strings.Compare(cs[i].key, cs[j].key), less(cs[i], cs[j]); got != want {
						t.Fatalf("%s: %q vs %q: keys compare %d, values %d", kind, cs[i].text, cs[j].text, got, want)
					}
				}
			}
		}
	})
}

func cmpOrd[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FuzzSortKey compares Go's sort keys with the script's on the embedded
// server for arbitrary values of every kind.
func FuzzSortKey(f *testing.F) {
	f.Add(int64(0), 0.0, "")
	f.Add(int64(math.MinInt64), 5e-324, "\x00\x01\xff")
	f.Add(int64(math.MaxInt64), -1e308, "a\x00")
	f.Add(int64(-10), 1e21, "\x01\x02")
	f.Add(int64(100), -1e-7, "\xff")
	f.Fuzz(func(t *testing.T, i int64, x float64, s string) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
			src := sortKeySrc(t)
			ti, _ := ops.Encode(&q.Age, i)
			tf, _ := ops.Encode(&q.Score, x)
			ki, ok1 := index.SortKey('i', ti)
			kf, ok2 := index.SortKey('f', tf)
			ks, ok3 := index.SortKey('s', []byte(s))
			if !ok1 || !ok2 || !ok3 {
				t.Fatalf("no Go sort key: %d %v, %v %v, %q %v", i, ok1, x, ok2, s, ok3)
			}
			r, err := redis.Strings(b.Do(t, "EVAL", src, 0, "i", ti, "f", tf, "s", s))
			must(t, err)
			if r[0] != ki || r[1] != kf || r[2] != ks {
				t.Fatalf("Lua %q, Go %q %q %q", r, ki, kf, ks)
			}
		})
	})
}
