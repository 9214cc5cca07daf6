package types_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/serialize"
	"github.com/rapyer-go/rapyer/types"
)

// mapt has one field of each map shape the tests need.
type mapt struct {
	rapyer.Model
	M types.Map[string, string]
	C types.Counter[string]
	I types.Map[int64, string]
	P types.Map[string, payload]
	F types.Map[string, float64]
}

var mapts = rapyer.Define("mapt", func(m *mapt) rapyer.Fields {
	return rapyer.Fields{
		m.M.Named("m"),
		m.C.Named("c"),
		m.I.Named("i"),
		m.P.Named("p"),
		m.F.Named("f"),
	}
})

// newMapt returns a saved mapt, with set applied before the Save.
func newMapt(t *testing.T, b *testkit.Backend, set func(m *mapt)) *mapt {
	t.Helper()
	m := mapts.New(b.Store)
	if set != nil {
		set(m)
	}
	noErr(t, m.Save(testkit.Ctx(t)))
	return m
}

// goneMapt returns a mapt that was saved, then deleted.
func goneMapt(t *testing.T, b *testkit.Backend) *mapt {
	t.Helper()
	m := newMapt(t, b, func(m *mapt) {
		m.M.SetLocal(map[string]string{"a": "1"})
		m.C.SetLocal(map[string]int64{"a": 1})
	})
	_, err := m.Delete(testkit.Ctx(t))
	noErr(t, err)
	return m
}

// hashOf returns a HASH key's content as stored.
func mapHashOf(t *testing.T, b *testkit.Backend, key string) map[string]string {
	t.Helper()
	m, err := redis.StringMap(b.Do(t, "HGETALL", key))
	noErr(t, err)
	return m
}

func wantMapHash(t *testing.T, b *testkit.Backend, key string, want map[string]string) {
	t.Helper()
	if got := mapHashOf(t, b, key); !reflect.DeepEqual(got, want) {
		t.Fatalf("HGETALL %s = %q, want %q", key, got, want)
	}
}

func wantMapEq[K comparable, V any](t *testing.T, what string, got, want map[K]V) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func mapVersion(t *testing.T, b *testkit.Backend, key string) string {
	t.Helper()
	v, _ := b.HGet(t, key, "_v")
	return v
}

// TestMapOps runs every Map operation once: its result, the stored hash, the
// local copy, the version bump, and exactly one round trip.
func TestMapOps(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, func(m *mapt) { m.M.SetLocal(map[string]string{"a": "1", "b": "2"}) })
		key := m.M.Key()
		step := func(name string, f func()) {
			t.Helper()
			oneTrip(t, b, f)
		}
		v0 := mapVersion(t, b, m.Key())

		step("Set", func() { noErr(t, m.M.Set(ctx, "c", "3")) })
		wantMapHash(t, b, key, map[string]string{"a": "1", "b": "2", "c": "3"})
		wantMapEq(t, "local", m.M.Local(), map[string]string{"a": "1", "b": "2", "c": "3"})
		if v := mapVersion(t, b, m.Key()); v == v0 {
			t.Fatalf("Set did not bump the version (%s)", v)
		}

		step("SetMany", func() { noErr(t, m.M.SetMany(ctx, map[string]string{"a": "10", "d": "4"})) })
		wantMapHash(t, b, key, map[string]string{"a": "10", "b": "2", "c": "3", "d": "4"})
		step("Update", func() { noErr(t, m.M.Update(ctx, map[string]string{"e": "5"})) })
		wantMapHash(t, b, key, map[string]string{"a": "10", "b": "2", "c": "3", "d": "4", "e": "5"})
		wantMapEq(t, "local", m.M.Local(), map[string]string{"a": "10", "b": "2", "c": "3", "d": "4", "e": "5"})
		v1 := mapVersion(t, b, m.Key())
		step("SetMany empty", func() { noErr(t, m.M.SetMany(ctx, nil)) })
		if v := mapVersion(t, b, m.Key()); v != v1 {
			t.Fatalf("empty SetMany bumped the version %s -> %s", v1, v)
		}

		// Another client changes the map: reads see it.
		b.Do(t, "HSET", key, "x", "other")
		var (
			v  string
			ok bool
			n  int
		)
		step("Get", func() { v, ok, _ = m.M.Get(ctx, "x") })
		if v != "other" || !ok || m.M.Local()["x"] != "other" {
			t.Fatalf("Get x = %q, %v (local %q)", v, ok, m.M.Local()["x"])
		}
		b.Do(t, "HDEL", key, "x")
		step("Get absent", func() {
			var err error
			v, ok, err = m.M.Get(ctx, "x")
			noErr(t, err)
		})
		if v != "" || ok {
			t.Fatalf("Get absent = %q, %v", v, ok)
		}
		if _, there := m.M.Local()["x"]; there {
			t.Fatal("Get absent left the key in the local copy")
		}
		step("Has", func() { ok, _ = m.M.Has(ctx, "a") })
		if !ok {
			t.Fatal("Has a = false")
		}
		step("Has absent", func() { ok, _ = m.M.Has(ctx, "zz") })
		if ok {
			t.Fatal("Has zz = true")
		}

		v2 := mapVersion(t, b, m.Key())
		step("Delete", func() {
			var err error
			n, err = m.M.Delete(ctx, "d", "e", "nope")
			noErr(t, err)
		})
		if n != 2 {
			t.Fatalf("Delete = %d, want 2", n)
		}
		wantMapHash(t, b, key, map[string]string{"a": "10", "b": "2", "c": "3"})
		wantMapEq(t, "local", m.M.Local(), map[string]string{"a": "10", "b": "2", "c": "3"})
		v3 := mapVersion(t, b, m.Key())
		if v3 == v2 {
			t.Fatal("Delete did not bump the version")
		}
		step("Delete absent", func() { n, _ = m.M.Delete(ctx, "nope") })
		step("Delete nothing", func() { n, _ = m.M.Delete(ctx) })
		if n != 0 || mapVersion(t, b, m.Key()) != v3 {
			t.Fatalf("Delete of nothing = %d, version %s (was %s)", n, mapVersion(t, b, m.Key()), v3)
		}

		step("Pop", func() {
			var err error
			v, ok, err = m.M.Pop(ctx, "c")
			noErr(t, err)
		})
		if v != "3" || !ok {
			t.Fatalf("Pop c = %q, %v", v, ok)
		}
		wantMapHash(t, b, key, map[string]string{"a": "10", "b": "2"})
		v4 := mapVersion(t, b, m.Key())
		step("Pop absent", func() { v, ok, _ = m.M.Pop(ctx, "c") })
		if v != "" || ok || mapVersion(t, b, m.Key()) != v4 {
			t.Fatalf("Pop absent = %q, %v (version %s, was %s)", v, ok, mapVersion(t, b, m.Key()), v4)
		}

		step("SetDefault absent", func() { v, _ = m.M.SetDefault(ctx, "s", "new") })
		if v != "new" || m.M.Local()["s"] != "new" {
			t.Fatalf("SetDefault absent = %q", v)
		}
		v5 := mapVersion(t, b, m.Key())
		step("SetDefault present", func() { v, _ = m.M.SetDefault(ctx, "a", "ignored") })
		if v != "10" || m.M.Local()["a"] != "10" || mapVersion(t, b, m.Key()) != v5 {
			t.Fatalf("SetDefault present = %q (version %s, was %s)", v, mapVersion(t, b, m.Key()), v5)
		}
		wantMapHash(t, b, key, map[string]string{"a": "10", "b": "2", "s": "new"})

		var ks []string
		step("Keys", func() { ks, _ = m.M.Keys(ctx) })
		sort.Strings(ks)
		if !reflect.DeepEqual(ks, []string{"a", "b", "s"}) {
			t.Fatalf("Keys = %q", ks)
		}
		var vs []string
		step("Values", func() { vs, _ = m.M.Values(ctx) })
		sort.Strings(vs)
		if !reflect.DeepEqual(vs, []string{"10", "2", "new"}) {
			t.Fatalf("Values = %q", vs)
		}
		m.M.SetLocal(map[string]string{"stale": "x"})
		var all map[string]string
		step("ReadAll", func() { all, _ = m.M.ReadAll(ctx) })
		wantMapEq(t, "ReadAll", all, map[string]string{"a": "10", "b": "2", "s": "new"})
		wantMapEq(t, "local after All", m.M.Local(), all)
		step("Len", func() { n, _ = m.M.Len(ctx) })
		if n != 3 {
			t.Fatalf("Len = %d", n)
		}

		var pk, pv string
		step("PopItem", func() {
			var err error
			var ok bool
			pk, pv, ok, err = m.M.PopItem(ctx)
			noErr(t, err)
			if !ok {
				t.Fatal("PopItem: ok false on a map of 3")
			}
		})
		if pk != "a" || pv != "10" {
			t.Fatalf("PopItem = %q, %q; want the smallest key a", pk, pv)
		}
		wantMapEq(t, "local", m.M.Local(), map[string]string{"b": "2", "s": "new"})

		// A fresh copy agrees with the handle's local copy.
		fresh, err := mapts.Get(ctx, b.Store, m.ID())
		noErr(t, err)
		wantMapEq(t, "fresh", fresh.M.Local(), m.M.Local())
	})
}

// TestMapEmpty: operations on a map that has no key (never written, or
// emptied) behave as on an empty map, and emptying removes the key.
func TestMapEmpty(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, nil)
		wantNoKey(t, b, m.M.Key())
		v, ok, err := m.M.Get(ctx, "a")
		noErr(t, err)
		if ok || v != "" {
			t.Fatalf("Get on empty = %q, %v", v, ok)
		}
		ks, err := m.M.Keys(ctx)
		noErr(t, err)
		vs, err := m.M.Values(ctx)
		noErr(t, err)
		all, err := m.M.ReadAll(ctx)
		noErr(t, err)
		if len(ks) != 0 || len(vs) != 0 || len(all) != 0 {
			t.Fatalf("empty map: keys %q values %q all %q", ks, vs, all)
		}
		n, err := m.M.Delete(ctx, "a")
		noErr(t, err)
		if n != 0 {
			t.Fatalf("Delete on empty = %d", n)
		}
		v0 := mapVersion(t, b, m.Key())
		var k string
		oneTrip(t, b, func() { k, v, ok, err = m.M.PopItem(ctx) })
		noErr(t, err)
		if ok || k != "" || v != "" || mapVersion(t, b, m.Key()) != v0 {
			t.Fatalf("PopItem on empty = %q, %q, %v; version %s (was %s)", k, v, ok, mapVersion(t, b, m.Key()), v0)
		}
		wantNoKey(t, b, m.M.Key())

		noErr(t, m.M.Set(ctx, "only", "1"))
		_, _, err = m.M.Pop(ctx, "only")
		noErr(t, err)
		wantNoKey(t, b, m.M.Key())
		noErr(t, m.M.Set(ctx, "only", "1"))
		_, _, ok, err = m.M.PopItem(ctx)
		noErr(t, err)
		if !ok {
			t.Fatal("PopItem of the only entry: ok false")
		}
		wantNoKey(t, b, m.M.Key())
		if len(m.M.Local()) != 0 {
			t.Fatalf("local copy %v after emptying", m.M.Local())
		}
	})
}

// mapOps are every remote Map and Counter operation, for the contract tests.
var mapOpsAll = []struct {
	name string
	run  func(ctx context.Context, m *mapt) error
}{
	{"Set", func(ctx context.Context, m *mapt) error { return m.M.Set(ctx, "k", "v") }},
	{"SetMany", func(ctx context.Context, m *mapt) error { return m.M.SetMany(ctx, map[string]string{"k": "v"}) }},
	{"SetMany empty", func(ctx context.Context, m *mapt) error { return m.M.SetMany(ctx, nil) }},
	{"Update", func(ctx context.Context, m *mapt) error { return m.M.Update(ctx, map[string]string{"k": "v"}) }},
	{"Get", func(ctx context.Context, m *mapt) error { _, _, err := m.M.Get(ctx, "a"); return err }},
	{"Has", func(ctx context.Context, m *mapt) error { _, err := m.M.Has(ctx, "a"); return err }},
	{"Delete", func(ctx context.Context, m *mapt) error { _, err := m.M.Delete(ctx, "a"); return err }},
	{"Delete nothing", func(ctx context.Context, m *mapt) error { _, err := m.M.Delete(ctx); return err }},
	{"Pop", func(ctx context.Context, m *mapt) error { _, _, err := m.M.Pop(ctx, "a"); return err }},
	{"PopItem", func(ctx context.Context, m *mapt) error { _, _, _, err := m.M.PopItem(ctx); return err }},
	{"SetDefault", func(ctx context.Context, m *mapt) error { _, err := m.M.SetDefault(ctx, "k", "v"); return err }},
	{"Keys", func(ctx context.Context, m *mapt) error { _, err := m.M.Keys(ctx); return err }},
	{"Values", func(ctx context.Context, m *mapt) error { _, err := m.M.Values(ctx); return err }},
	{"ReadAll", func(ctx context.Context, m *mapt) error { _, err := m.M.ReadAll(ctx); return err }},
	{"Len", func(ctx context.Context, m *mapt) error { _, err := m.M.Len(ctx); return err }},
	{"Clear", func(ctx context.Context, m *mapt) error { return m.M.Clear(ctx) }},
	{"Counter.Incr", func(ctx context.Context, m *mapt) error { _, err := m.C.Incr(ctx, "a", 5); return err }},
	{"Counter.Decr", func(ctx context.Context, m *mapt) error { _, err := m.C.Decr(ctx, "a", 5); return err }},
}

// TestMapNotFound: every operation on a deleted object returns ErrNotFound
// naming the field, in one round trip, and creates no key.
func TestMapNotFound(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, op := range mapOpsAll {
			t.Run(op.name, func(t *testing.T) {
				m := goneMapt(t, b)
				field := "m"
				if strings.HasPrefix(op.name, "Counter.") {
					field = "c"
				}
				var err error
				oneTrip(t, b, func() { err = op.run(ctx, m) })
				wantFieldErr(t, err, rapyer.ErrNotFound, field)
				for _, k := range m.Keys() {
					wantNoKey(t, b, k)
				}
			})
		}
	})
}

// TestMapOneRoundTrip: every operation on an existing object is one round
// trip, from the first call on (Ping loaded the script).
func TestMapOneRoundTrip(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, op := range mapOpsAll {
			t.Run(op.name, func(t *testing.T) {
				m := newMapt(t, b, func(m *mapt) {
					m.M.SetLocal(map[string]string{"a": "1", "b": "2"})
					m.C.SetLocal(map[string]int64{"a": 1})
				})
				var err error
				oneTrip(t, b, func() { err = op.run(ctx, m) })
				noErr(t, err)
			})
		}
	})
}

// mapOddKeys are keys that break naive key building or string handling.
var mapOddKeys = []string{
	"a.b", "$", "$.x", "[0]", "a[1].b", `"quoted"`, "it's", "with space", " ",
	"", "ünïcødé 日本", "\x00nul\x00", "\xff\xfe", "{tag}", "a:b", "*", "?",
	"\r\n", "-1", strings.Repeat("k", 1024),
}

// TestMapOddKeys: any key works through every operation.
func TestMapOddKeys(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, nil)
		want := map[string]string{}
		for i, k := range mapOddKeys {
			v := "v" + strconv.Itoa(i)
			noErr(t, m.M.Set(ctx, k, v))
			want[k] = v
			got, ok, err := m.M.Get(ctx, k)
			noErr(t, err)
			if !ok || got != v {
				t.Fatalf("Get(%q) = %q, %v; want %q", k, got, ok, v)
			}
			has, err := m.M.Has(ctx, k)
			noErr(t, err)
			if !has {
				t.Fatalf("Has(%q) = false", k)
			}
			n, err := m.C.Incr(ctx, k, int64(i)+1)
			noErr(t, err)
			if n != int64(i)+1 {
				t.Fatalf("Incr(%q) = %d", k, n)
			}
		}
		wantMapHash(t, b, m.M.Key(), want)
		fresh, err := mapts.Get(ctx, b.Store, m.ID())
		noErr(t, err)
		wantMapEq(t, "Get's map", fresh.M.Local(), want)
		all, err := m.M.ReadAll(ctx)
		noErr(t, err)
		wantMapEq(t, "ReadAll", all, want)
		call, err := m.C.ReadAll(ctx)
		noErr(t, err)
		if len(call) != len(mapOddKeys) {
			t.Fatalf("counter ReadAll has %d keys, want %d", len(call), len(mapOddKeys))
		}
		for i, k := range mapOddKeys {
			if call[k] != int64(i)+1 {
				t.Fatalf("count of %q = %d", k, call[k])
			}
		}
		for i, k := range mapOddKeys {
			if i%2 == 0 {
				v, ok, err := m.M.Pop(ctx, k)
				noErr(t, err)
				if !ok || v != want[k] {
					t.Fatalf("Pop(%q) = %q, %v", k, v, ok)
				}
			} else {
				n, err := m.M.Delete(ctx, k)
				noErr(t, err)
				if n != 1 {
					t.Fatalf("Delete(%q) = %d", k, n)
				}
			}
			if has, err := m.M.Has(ctx, k); err != nil || has {
				t.Fatalf("Has(%q) after removal = %v, %v", k, has, err)
			}
		}
		wantNoKey(t, b, m.M.Key())
	})
}

// TestMapPopItemOrder: PopItem takes the smallest key in byte order, the
// same on both backends whatever the server's locale (Lua's < would use
// strcoll).
func TestMapPopItemOrder(t *testing.T) {
	p := strings.Repeat("p", 64)
	keys := []string{
		"b", "a", "", "\xff", "a\x00", "a\x00b", "aa", "A", "Z", "é", "_", "0", "10", "9",
		p, p + "b", p + "a", p[:63] + "q", p[:40] + "\x00",
		strings.Repeat("L", 10000) + "b", strings.Repeat("L", 10000) + "a", strings.Repeat("L", 9000),
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, nil)
		items := map[string]string{}
		for i, k := range keys {
			items[k] = strconv.Itoa(i)
		}
		noErr(t, m.M.SetMany(ctx, items))
		want := append([]string(nil), keys...)
		sort.Strings(want) // Go compares strings bytewise
		for _, wk := range want {
			k, v, ok, err := m.M.PopItem(ctx)
			noErr(t, err)
			if !ok || k != wk || v != items[wk] {
				t.Fatalf("PopItem = %q, %q; want %q, %q", k, v, wk, items[wk])
			}
		}
		_, _, ok, err := m.M.PopItem(ctx)
		noErr(t, err)
		if ok {
			t.Fatal("PopItem of the emptied map: ok true")
		}

		// Integer keys: text order of the stored decimal.
		for _, k := range []int64{9, 10, -1, math.MinInt64, 0, math.MaxInt64} {
			noErr(t, m.I.Set(ctx, k, "x"))
		}
		var got []int64
		for range 6 {
			k, _, _, err := m.I.PopItem(ctx)
			noErr(t, err)
			got = append(got, k)
		}
		if want := []int64{-1, math.MinInt64, 0, 10, 9, math.MaxInt64}; !reflect.DeepEqual(got, want) {
			t.Fatalf("integer PopItem order %v, want %v", got, want)
		}
	})
}

// TestMapIntKeys: Map[int64, string] round-trips every int64 key.
func TestMapIntKeys(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, func(m *mapt) { m.I.SetLocal(map[int64]string{7: "seven"}) })
		want := map[int64]string{7: "seven"}
		for _, k := range []int64{math.MinInt64, -1, 0, 1, 1<<53 + 1, math.MaxInt64} {
			noErr(t, m.I.Set(ctx, k, strconv.FormatInt(k, 10)))
			want[k] = strconv.FormatInt(k, 10)
		}
		wantStored(t, b, m.I.Key(), "-9223372036854775808", "-9223372036854775808")
		all, err := m.I.ReadAll(ctx)
		noErr(t, err)
		wantMapEq(t, "ReadAll", all, want)
		v, ok, err := m.I.Get(ctx, 1<<53+1)
		noErr(t, err)
		if !ok || v != "9007199254740993" {
			t.Fatalf("Get = %q, %v", v, ok)
		}
		ks, err := m.I.Keys(ctx)
		noErr(t, err)
		if len(ks) != len(want) {
			t.Fatalf("Keys = %v", ks)
		}
		for _, k := range ks {
			if _, ok := want[k]; !ok {
				t.Fatalf("Keys has %d", k)
			}
		}
		n, err := m.I.Delete(ctx, math.MinInt64, math.MaxInt64)
		noErr(t, err)
		if n != 2 {
			t.Fatalf("Delete = %d", n)
		}
		v, ok, err = m.I.Pop(ctx, -1)
		noErr(t, err)
		if !ok || v != "-1" {
			t.Fatalf("Pop = %q, %v", v, ok)
		}
	})
}

// TestMapStructValues: values without a native codec go through msgpack.
func TestMapStructValues(t *testing.T) {
	a := payload{Name: "Ada", Tags: []string{"x", ""}, N: -3, M: map[string]float64{"k": 1.5}}
	z := payload{}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, func(m *mapt) { m.P.SetLocal(map[string]payload{"saved": a}) })
		noErr(t, m.P.Set(ctx, "zero", z))
		noErr(t, m.P.SetMany(ctx, map[string]payload{"a.b": a}))
		got, ok, err := m.P.Get(ctx, "saved")
		noErr(t, err)
		if !ok || !reflect.DeepEqual(got, a) {
			t.Fatalf("Get = %#v, %v", got, ok)
		}
		d, err := m.P.SetDefault(ctx, "zero", a)
		noErr(t, err)
		if !reflect.DeepEqual(d, z) {
			t.Fatalf("SetDefault = %#v, want the stored zero value", d)
		}
		vs, err := m.P.Values(ctx)
		noErr(t, err)
		if len(vs) != 3 {
			t.Fatalf("Values = %v", vs)
		}
		fresh, err := mapts.Get(ctx, b.Store, m.ID())
		noErr(t, err)
		wantMapEq(t, "Get's map", fresh.P.Local(), map[string]payload{"saved": a, "zero": z, "a.b": a})
		got, ok, err = m.P.Pop(ctx, "a.b")
		noErr(t, err)
		if !ok || !reflect.DeepEqual(got, a) {
			t.Fatalf("Pop = %#v, %v", got, ok)
		}
		k, got, ok, err := m.P.PopItem(ctx)
		noErr(t, err)
		if !ok || k != "saved" || !reflect.DeepEqual(got, a) {
			t.Fatalf("PopItem = %q, %#v", k, got)
		}
	})
}

// TestMapBadInput: a value that does not encode is refused before anything
// is sent, naming the field.
func TestMapBadInput(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, func(m *mapt) { m.F.SetLocal(map[string]float64{"x": 1}) })
		nan := math.NaN()
		for name, run := range map[string]func() error{
			"Set":        func() error { return m.F.Set(ctx, "y", nan) },
			"SetMany":    func() error { return m.F.SetMany(ctx, map[string]float64{"ok": 1, "bad": math.Inf(1)}) },
			"Update":     func() error { return m.F.Update(ctx, map[string]float64{"bad": nan}) },
			"SetDefault": func() error { _, err := m.F.SetDefault(ctx, "x", nan); return err },
		} {
			t.Run(name, func(t *testing.T) {
				var err error
				noTrip(t, b, func() { err = run() })
				wantFieldErr(t, err, rapyer.ErrInvalid, "f")
			})
		}
		wantMapHash(t, b, m.F.Key(), map[string]string{"x": "1"})
		wantMapEq(t, "local", m.F.Local(), map[string]float64{"x": 1})
	})
}

// TestMapDefine: keys need a native codec; a Counter keeps decimal counts.
func TestMapDefine(t *testing.T) {
	type pt struct{ X, Y int }
	type bad1 struct {
		rapyer.Model
		Grid types.Map[pt, int]
	}
	type bad2 struct {
		rapyer.Model
		C types.Counter[string]
	}
	type named string
	type ok1 struct {
		rapyer.Model
		N types.Map[named, int64]
		E types.Counter[named]
	}
	panics := func(t *testing.T, want string, f func()) {
		t.Helper()
		defer func() {
			t.Helper()
			r := recover()
			if r == nil {
				t.Fatal("Define did not panic")
			}
			if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
				t.Fatalf("panic %q does not contain %q", msg, want)
			}
		}()
		f()
	}
	panics(t, `field "grid"`, func() {
		rapyer.Define("mapbad1", func(x *bad1) rapyer.Fields { return rapyer.Fields{x.Grid.Named("grid")} })
	})
	panics(t, `field "hits"`, func() {
		rapyer.Define("mapbad2", func(x *bad2) rapyer.Fields {
			return rapyer.Fields{x.C.Named("hits").Codec(serialize.Via[int64](serialize.Msgpack))}
		})
	})
	panics(t, `field "n"`, func() {
		rapyer.Define("mapbad3", func(x *ok1) rapyer.Fields { return rapyer.Fields{x.N.Named("n")} })
	})
	s := rapyer.Define("mapok", func(x *ok1) rapyer.Fields {
		return rapyer.Fields{
			x.N.Named("n").KeyCodec(serialize.StringOf[named]()),
			x.E.Named("e").KeyCodec(serialize.StringOf[named]()),
		}
	})
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		x := s.New(b.Store)
		noErr(t, x.Save(ctx))
		noErr(t, x.N.Set(ctx, "k", 1))
		n, err := x.E.Incr(ctx, "k", 2)
		noErr(t, err)
		if n != 2 {
			t.Fatalf("Incr = %d", n)
		}
	})
}

// TestMapCorrupt: stored bytes that do not decode give ErrDecode naming the
// field, never a panic; reads and SetDefault write nothing.
func TestMapCorrupt(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, func(m *mapt) {
			m.P.SetLocal(map[string]payload{"good": {Name: "g"}})
			m.I.SetLocal(map[int64]string{1: "one"})
		})
		b.Do(t, "HSET", m.P.Key(), "bad", "\xc1")
		b.Do(t, "HSET", m.I.Key(), "x1", "text key")
		for name, run := range map[string]func() (string, error){
			"Get":         func() (string, error) { _, _, err := m.P.Get(ctx, "bad"); return "p", err },
			"SetDefault":  func() (string, error) { _, err := m.P.SetDefault(ctx, "bad", payload{}); return "p", err },
			"Values":      func() (string, error) { _, err := m.P.Values(ctx); return "p", err },
			"ReadAll":     func() (string, error) { _, err := m.P.ReadAll(ctx); return "p", err },
			"Keys":        func() (string, error) { _, err := m.I.Keys(ctx); return "i", err },
			"ReadAll int": func() (string, error) { _, err := m.I.ReadAll(ctx); return "i", err },
		} {
			t.Run(name, func(t *testing.T) {
				field, err := run()
				wantFieldErr(t, err, rapyer.ErrDecode, field)
			})
		}
		wantStored(t, b, m.P.Key(), "bad", "\xc1")
		if len(m.P.Local()) != 1 {
			t.Fatalf("local copy changed by a failed All: %v", m.P.Local())
		}
		// Pop and PopItem remove the entry before Go can decode it: the
		// error still says so.
		_, _, err := m.P.Pop(ctx, "bad")
		wantFieldErr(t, err, rapyer.ErrDecode, "p")
		_, ok := b.HGet(t, m.P.Key(), "bad")
		if ok {
			t.Fatal("Pop left the entry")
		}
		_, _, _, err = m.I.PopItem(ctx) // "1" < "x1": a good one first
		noErr(t, err)
		_, _, _, err = m.I.PopItem(ctx)
		wantFieldErr(t, err, rapyer.ErrDecode, "i")
	})
}

// TestMapBig: big inputs are written in slices inside the script (Lua's
// unpack limit), still one round trip.
func TestMapBig(t *testing.T) {
	const n = 6000
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, nil)
		big := make(map[string]string, n)
		keys := make([]string, 0, n)
		for i := range n {
			k := fmt.Sprintf("key%05d", i)
			big[k] = strconv.Itoa(i)
			keys = append(keys, k)
		}
		oneTrip(t, b, func() { noErr(t, m.M.SetMany(ctx, big)) })
		l, err := m.M.Len(ctx)
		noErr(t, err)
		if l != n {
			t.Fatalf("Len = %d, want %d", l, n)
		}
		start := time.Now()
		k, v, _, err := m.M.PopItem(ctx)
		noErr(t, err)
		t.Logf("%s: PopItem on %d keys took %v", b.Name, n, time.Since(start))
		if k != "key00000" || v != "0" {
			t.Fatalf("PopItem = %q, %q", k, v)
		}
		var d int
		oneTrip(t, b, func() { d, err = m.M.Delete(ctx, keys...) })
		noErr(t, err)
		if d != n-1 {
			t.Fatalf("Delete = %d, want %d", d, n-1)
		}
		wantNoKey(t, b, m.M.Key())
	})
}

// TestCounterExact: Incr and Decr are exact over the whole int64 range
// with Int's overflow rule (nothing written), an absent key counting as 0.
func TestCounterExact(t *testing.T) {
	const maxI, minI = math.MaxInt64, math.MinInt64
	tests := []struct {
		name    string
		start   *int64 // nil: absent
		decr    bool
		d       int64
		want    int64
		wantErr error
	}{
		{"max-1 + 1", i64p(maxI - 1), false, 1, maxI, nil},
		{"max + 1", i64p(maxI), false, 1, 0, rapyer.ErrOverflow},
		{"max + max", i64p(maxI), false, maxI, 0, rapyer.ErrOverflow},
		{"max + min", i64p(maxI), false, minI, -1, nil},
		{"min+1 - 1", i64p(minI + 1), true, 1, minI, nil},
		{"min - 1", i64p(minI), true, 1, 0, rapyer.ErrOverflow},
		{"min + -1", i64p(minI), false, -1, 0, rapyer.ErrOverflow},
		{"min + min", i64p(minI), false, minI, 0, rapyer.ErrOverflow},
		{"-1 - min", i64p(-1), true, minI, maxI, nil},
		{"0 - min", i64p(0), true, minI, 0, rapyer.ErrOverflow},
		{"absent - min", nil, true, minI, 0, rapyer.ErrOverflow},
		{"absent + min", nil, false, minI, minI, nil},
		{"absent + max", nil, false, maxI, maxI, nil},
		{"absent + 0", nil, false, 0, 0, nil},
		{"absent - 5", nil, true, 5, -5, nil},
		{"2^53 + 1", i64p(1 << 53), false, 1, 1<<53 + 1, nil},
		{"15 digits + 1", i64p(999999999999999), false, 1, 1000000000000000, nil},
		{"-15 digits - 1", i64p(-999999999999999), true, 1, -1000000000000000, nil},
		{"big - big", i64p(maxI), true, maxI, 0, nil},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, func(m *mapt) {
			start := map[string]int64{}
			for _, tt := range tests {
				if tt.start != nil {
					start[tt.name] = *tt.start
				}
			}
			m.C.SetLocal(start)
		})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, hadBefore := b.HGet(t, m.C.Key(), tt.name)
				localBefore, hadLocal := m.C.Local()[tt.name]
				var (
					got int64
					err error
				)
				oneTrip(t, b, func() {
					if tt.decr {
						got, err = m.C.Decr(ctx, tt.name, tt.d)
					} else {
						got, err = m.C.Incr(ctx, tt.name, tt.d)
					}
				})
				if tt.wantErr != nil {
					wantFieldErr(t, err, tt.wantErr, "c")
					after, hasAfter := b.HGet(t, m.C.Key(), tt.name)
					if after != before || hasAfter != hadBefore {
						t.Fatalf("stored %q (%v) after a failed op, was %q (%v)", after, hasAfter, before, hadBefore)
					}
					if l, ok := m.C.Local()[tt.name]; l != localBefore || ok != hadLocal {
						t.Fatalf("local %d (%v) after a failed op, was %d (%v)", l, ok, localBefore, hadLocal)
					}
					return
				}
				noErr(t, err)
				if got != tt.want {
					t.Fatalf("= %d, want %d", got, tt.want)
				}
				wantStored(t, b, m.C.Key(), tt.name, strconv.FormatInt(tt.want, 10))
				if m.C.Local()[tt.name] != tt.want {
					t.Fatalf("local %d, want %d", m.C.Local()[tt.name], tt.want)
				}
			})
		}
		n, err := m.C.Incr(ctx, "plain", 1)
		noErr(t, err)
		n2, err := m.C.Decr(ctx, "plain", 1)
		noErr(t, err)
		if n != 1 || n2 != 0 {
			t.Fatalf("Incr, Decr = %d, %d", n, n2)
		}
		wantStored(t, b, m.C.Key(), "plain", "0")
	})
}

// TestCounterCorrupt: a stored count that is not a canonical decimal int64
// gives ErrDecode, and nothing is written.
func TestCounterCorrupt(t *testing.T) {
	bad := []string{"abc", "", "1.5", "007", "-0", "+1", " 1", "1e3", "99999999999999999999", "9223372036854775808", "0x10"}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, nil)
		for _, raw := range bad {
			t.Run(strconv.Quote(raw), func(t *testing.T) {
				b.Do(t, "HSET", m.C.Key(), "k", raw)
				v0 := mapVersion(t, b, m.Key())
				for _, d := range []int64{1, math.MaxInt64} {
					_, err := m.C.Incr(ctx, "k", d)
					wantFieldErr(t, err, rapyer.ErrDecode, "c")
					_, err = m.C.Decr(ctx, "k", d)
					wantFieldErr(t, err, rapyer.ErrDecode, "c")
				}
				wantStored(t, b, m.C.Key(), "k", raw)
				if v := mapVersion(t, b, m.Key()); v != v0 {
					t.Fatalf("version %s -> %s on a failed op", v0, v)
				}
				_, _, err := m.C.Get(ctx, "k")
				wantFieldErr(t, err, rapyer.ErrDecode, "c")
			})
		}
	})
}

// TestMapErrorsAreTyped: errors unwrap to *rapyer.Error with the operation.
func TestMapErrorsAreTyped(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		m := goneMapt(t, b)
		_, err := m.C.Incr(testkit.Ctx(t), "a", 1)
		var e *rapyer.Error
		if !errors.As(err, &e) || e.Op != "Counter.Incr" || e.Model != "mapt" || e.ID != m.ID() {
			t.Fatalf("error %#v", err)
		}
	})
}

// TestCounterConcurrent: Incr and SetDefault are atomic across clients
// (each goroutine has its own copy of the object: objects are not safe for
// concurrent use).
func TestCounterConcurrent(t *testing.T) {
	const workers, each = 8, 25
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		m := newMapt(t, b, nil)
		errs := make(chan error, workers)
		winners := make(chan string, workers)
		for w := range workers {
			go func() {
				x, err := mapts.Get(ctx, b.Store, m.ID())
				if err != nil {
					errs <- err
					return
				}
				v, err := x.M.SetDefault(ctx, "owner", "w"+strconv.Itoa(w))
				winners <- v
				for range each {
					if err == nil {
						_, err = x.C.Incr(ctx, "hits", 2)
					}
				}
				errs <- err
			}()
		}
		first := ""
		for range workers {
			noErr(t, <-errs)
		}
		for range workers {
			v := <-winners
			if first == "" {
				first = v
			}
			if v != first {
				t.Fatalf("SetDefault returned %q and %q", first, v)
			}
		}
		wantStored(t, b, m.C.Key(), "hits", strconv.Itoa(2*workers*each))
		wantStored(t, b, m.M.Key(), "owner", first)
	})
}
