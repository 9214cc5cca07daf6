package rapyer

import (
	"github.com/mna/redisc"
	"strconv"
	"strings"
	"testing"
)

// hashTag returns the part of key Redis Cluster hashes: the text between the
// first '{' and the first '}' after it, when non-empty; else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

func TestKeyLayout(t *testing.T) {
	ids := []string{"a", "{", "}", "{}", "a:b", "x}:o:y", "{user:0}", "with space", "日本語", "a:f:tags:b", strings.Repeat("z", MaxIDLen)}
	for _, id := range ids {
		for _, shards := range []int{1, 16} {
			shard := shardOf(id, shards)
			if shards == 1 && shard != 0 {
				t.Fatalf("one shard gave %d", shard)
			}
			ok := objectKey("app:", "user", shard, uint32(shards), id)
			fk := fieldKey("app:", "user", shard, uint32(shards), "home.tags", id)
			for _, k := range []string{ok, fk} {
				want := "user:" + itoa(shard)
				if shards > 1 {
					want = spreadTags("user", uint32(shards))[shard]
				}
				if got := hashTag(k); got != want {
					t.Errorf("id %q: key %q hashes %q, want %q", id, k, got, want)
				}
			}
			p, good := parseKey("app:", ok)
			if !good || p.kind != 'o' || p.id != id || p.model != "user" || p.shard != shard {
				t.Errorf("parse %q = %+v %v", ok, p, good)
			}
			p, good = parseKey("app:", fk)
			if !good || p.kind != 'f' || p.field != "home.tags" || p.id != id {
				t.Errorf("parse %q = %+v %v", fk, p, good)
			}
			if ok == fk {
				t.Errorf("object and field keys collide for %q", id)
			}
		}
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestCheckID(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		ok   bool
	}{
		{"empty", "", false},
		{"max", strings.Repeat("a", MaxIDLen), true},
		{"over", strings.Repeat("a", MaxIDLen+1), false},
		{"braces", "{x}", true},
		{"binary", "\x00\xff", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkID(tc.id); (err == nil) != tc.ok {
				t.Fatalf("checkID = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestShardSpread(t *testing.T) {
	seen := map[uint32]int{}
	for i := 0; i < 1600; i++ {
		seen[shardOf("id-"+strconv.Itoa(i), 16)]++
	}
	if len(seen) != 16 {
		t.Fatalf("1600 ids used %d of 16 shards", len(seen))
	}
	for s, n := range seen {
		if n < 50 {
			t.Errorf("shard %d got only %d of 1600 ids", s, n)
		}
	}
}

// FuzzKeys: any id and valid field name build keys that parse back and keep
// the hash tag, so no id can move an object to another slot or collide with
// another object's container key.
func FuzzKeys(f *testing.F) {
	f.Add("abc", "tags", uint16(3))
	f.Add("}{:", "a.b", uint16(16))
	f.Add("{user:0}:o:x", "x", uint16(1))
	f.Fuzz(func(t *testing.T, id, field string, n uint16) {
		if checkID(id) != nil || !validFieldPart(strings.ReplaceAll(field, ".", "_")) {
			return
		}
		shards := int(n%64) + 1
		shard := shardOf(id, shards)
		if int(shard) >= shards {
			t.Fatalf("shard %d of %d", shard, shards)
		}
		ok := objectKey("p:", "m", shard, uint32(shards), id)
		fk := fieldKey("p:", "m", shard, uint32(shards), field, id)
		want := "m:" + itoa(shard)
		if shards > 1 {
			want = spreadTags("m", uint32(shards))[shard]
		}
		lk := lockKey("p:", "m", shard, uint32(shards), strings.ReplaceAll(field, ".", "_"), id)
		if hashTag(ok) != want || hashTag(fk) != want || hashTag(lk) != want {
			t.Fatalf("tag moved: %q %q %q", ok, fk, lk)
		}
		if _, good := parseKey("p:", lk); good || lk == ok || lk == fk {
			t.Fatalf("lock key %q collides with an object or field key", lk)
		}
		xk := fenceKey("p:", "m", shard, uint32(shards))
		if hashTag(xk) != want {
			t.Fatalf("tag moved: %q", xk)
		}
		if _, good := parseKey("p:", xk); good || xk == ok || xk == fk || xk == lk {
			t.Fatalf("fencing key %q collides with an object, field or lock key", xk)
		}
		if p, good := parseKey("p:", ok); !good || p.id != id || p.kind != 'o' {
			t.Fatalf("object key %q parsed as %+v", ok, p)
		}
		if p, good := parseKey("p:", fk); !good || p.id != id || p.field != field || p.kind != 'f' {
			t.Fatalf("field key %q parsed as %+v", fk, p)
		}
	})
}

// TestShardHeadsKeys: the keys a load of many objects makes with cached shard
// prefixes are those of a single object, for every shard count.
func TestShardHeadsKeys(t *testing.T) {
	st := &Store{cfg: config{prefix: "app:"}}
	for _, shards := range []int{1, 16, 2000} {
		sc := &schema{name: "user", shards: shards, shardsSet: true, conts: 2, contNames: []string{"tags", "home.box"}}
		h := newShardHeads(st, sc)
		for i := range 3000 {
			id := "id-" + strconv.Itoa(i*7919)
			got, want := h.keys(id), sc.keysOf(st, id)
			shard := shardOf(id, shards)
			if got.arg != objectKey("app:", "user", shard, 0, id) || got.arg != want.arg {
				t.Fatalf("shards %d, id %q: key %v, want %v", shards, id, got.arg, objectKey("app:", "user", shard, 0, id))
			}
			for j, f := range sc.contNames {
				if k := fieldKey("app:", "user", shard, 0, f, id); got.list[1+j] != k || want.list[1+j] != k {
					t.Fatalf("shards %d, id %q: %s key %q / %q, want %q", shards, id, f, got.list[1+j], want.list[1+j], k)
				}
			}
		}
	}
}

// TestSpreadTags: shard i of n (2..1024) has a hash tag whose slot is in
// the i-th of n equal slot ranges, so masters holding equal contiguous
// ranges get equal shares; its key parses back to shard i.
func TestSpreadTags(t *testing.T) {
	for _, n := range []uint32{2, 3, 12, 16, 64, 1024} {
		tags := spreadTags("user", n)
		for i, tag := range tags {
			sl := uint32(redisc.Slot(tag))
			if lo, hi := uint32(i)*hashSlots/n, (uint32(i)+1)*hashSlots/n; sl < lo || sl >= hi {
				t.Fatalf("n=%d shard %d: tag %q slot %d outside [%d,%d)", n, i, tag, sl, lo, hi)
			}
			p, ok := parseKey("", objectKey("", "user", uint32(i), n, "x"))
			if !ok || p.shard != uint32(i) || p.model != "user" {
				t.Fatalf("n=%d shard %d: parsed %+v %v", n, i, p, ok)
			}
		}
	}
	// 12 shards over 3 masters of equal ranges: 4 each.
	per := map[int]int{}
	for _, tag := range spreadTags("order", 12) {
		per[redisc.Slot(tag)*3/hashSlots]++
	}
	if per[0] != 4 || per[1] != 4 || per[2] != 4 {
		t.Fatalf("12 shards over 3 masters: %v", per)
	}
	if got := shardPrefix("", "user", 0, 1); got != "{user:0}:" {
		t.Fatalf("one shard: %q, want the plain tag", got)
	}
}
