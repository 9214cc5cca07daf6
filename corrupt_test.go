package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// Issue 10, item 6: a write that fails because stored data is not what the
// model expects (a key of another Redis type, a `_v` that is not an
// integer) writes nothing, and its error says which key or field.

type faulty struct {
	rapyer.Model
	Name  types.Str
	Age   types.Int
	Note  types.Str
	Tags  types.List[string]
	Prefs types.Map[string, string]
}

func faultyFields(f *faulty) rapyer.Fields {
	return rapyer.Fields{
		f.Name.Named("name").Unique(),
		f.Age.Named("age").Index(),
		f.Note.Named("note"),
		f.Tags.Named("tags"),
		f.Prefs.Named("prefs"),
	}
}

func plainFields(f *faulty) rapyer.Fields {
	return rapyer.Fields{
		f.Name.Named("name"),
		f.Age.Named("age"),
		f.Note.Named("note"),
		f.Tags.Named("tags"),
		f.Prefs.Named("prefs"),
	}
}

var (
	faultyIdx   = rapyer.Define("faulty", faultyFields)
	faultyPlain = rapyer.Define("faultp", plainFields, rapyer.WithTTL(time.Hour))
	faultyKeep  = rapyer.Define("faultk", plainFields, rapyer.WithTTL(time.Hour), rapyer.WithRefresh(false))
)

// keySnapshot reads every key under the test's prefix: type, full content and
// whether it has a TTL (PTTL itself moves between two reads).
func keySnapshot(t *testing.T, b *testkit.Backend) map[string]string {
	t.Helper()
	out := map[string]string{}
	keys, err := redis.Strings(b.Do(t, "KEYS", b.Prefix()+"*"))
	must(t, err)
	for _, k := range keys {
		typ, err := redis.String(b.Do(t, "TYPE", k))
		must(t, err)
		var content any
		switch typ {
		case "string":
			content, err = redis.String(b.Do(t, "GET", k))
		case "list":
			content, err = redis.Strings(b.Do(t, "LRANGE", k, 0, -1))
		case "hash":
			var m map[string]string
			m, err = redis.StringMap(b.Do(t, "HGETALL", k))
			content = sortedMap(m)
		case "set":
			var ms []string
			ms, err = redis.Strings(b.Do(t, "SMEMBERS", k))
			sort.Strings(ms)
			content = ms
		case "zset":
			content, err = redis.Strings(b.Do(t, "ZRANGE", k, 0, -1, "WITHSCORES"))
		}
		must(t, err)
		ttl := b.PTTL(t, k)
		out[k] = fmt.Sprintf("%s %q ttl=%v", typ, content, ttl > 0)
	}
	return out
}

func sortedMap(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// corruption damages the object f (or its shard's index keys) and names the
// key or field the error must mention.
type corruption struct {
	name   string
	models []*rapyer.Schema[faulty, *faulty]
	apply  func(t *testing.T, b *testkit.Backend, f *faulty) string
	want   error
	repair func(t *testing.T, b *testkit.Backend, f *faulty)
	fails  []string // the operations that must fail (the others may succeed)
}

func shardKey(f *faulty, suffix string) string {
	return strings.TrimSuffix(f.Key(), "o:"+f.ID()) + suffix
}

func retype(t *testing.T, b *testkit.Backend, key string) string {
	t.Helper()
	_, err := b.Do(t, "DEL", key)
	must(t, err)
	_, err = b.Do(t, "SET", key, "junk")
	must(t, err)
	return key
}

func corruptions() []corruption {
	all := []*rapyer.Schema[faulty, *faulty]{faultyIdx, faultyPlain, faultyKeep}
	idx := []*rapyer.Schema[faulty, *faulty]{faultyIdx}
	// Not listed in fails: a container key of another type is replaced by
	// whole-object writes (they DEL it first, as they replace every
	// container) and deleted by Delete, and operations on other fields only
	// re-arm its TTL; Delete also removes an object whose hash is damaged
	// (deleting is the repair); Insert of an existing id is ErrExists. An
	// index key is checked by the writes that would write it: x:all only
	// by a write that adds the id to it, x:i:name not by Age's writes.
	scalarOps := []string{"Save", "Update", "Int.Incr", "Str.Append", "List.Append", "Map.Set"}
	indexOps := []string{"Save", "Insert", "InsertMany", "Update", "Delete", "Int.Incr"}
	return []corruption{
		{name: "hash is a list", models: all, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				_, err := b.Do(t, "DEL", f.Key())
				must(t, err)
				_, err = b.Do(t, "RPUSH", f.Key(), "x")
				must(t, err)
				return f.Key()
			},
			fails: append([]string{"Insert", "InsertMany"}, scalarOps...)},
		{name: "_v not an integer", models: all, want: rapyer.ErrDecode,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				_, err := b.Do(t, "HSET", f.Key(), "_v", "abc")
				must(t, err)
				return "_v"
			},
			repair: func(t *testing.T, b *testkit.Backend, f *faulty) {
				_, err := b.Do(t, "HSET", f.Key(), "_v", "7")
				must(t, err)
			},
			fails: scalarOps},
		{name: "list key is a string", models: all, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				return retype(t, b, f.Keys()[1])
			},
			repair: func(t *testing.T, b *testkit.Backend, f *faulty) {
				_, err := b.Do(t, "DEL", f.Keys()[1])
				must(t, err)
			},
			fails: []string{"List.Append"}},
		{name: "map key is a string", models: all, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				return retype(t, b, f.Keys()[2])
			},
			fails: []string{"Map.Set"}},
		{name: "x:i:age is a string", models: idx, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				return retype(t, b, shardKey(f, "x:i:age"))
			}, fails: indexOps},
		{name: "x:i:name is a string", models: idx, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				return retype(t, b, shardKey(f, "x:i:name"))
			}, fails: []string{"Save", "Insert", "InsertMany", "Delete"}},
		{name: "x:rev is a string", models: idx, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				return retype(t, b, shardKey(f, "x:rev"))
			}, fails: indexOps},
		{name: "x:all is a string", models: idx, want: rapyer.ErrWrongType,
			apply: func(t *testing.T, b *testkit.Backend, f *faulty) string {
				return retype(t, b, shardKey(f, "x:all"))
			}, fails: []string{"Insert", "InsertMany", "Delete"}},
	}
}

// faultOps are the writes tried on a damaged object.
var faultOps = []struct {
	name string
	run  func(ctx context.Context, sc *rapyer.Schema[faulty, *faulty], st *rapyer.Store, f *faulty, insertID string) error
}{
	{"Save", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		f.Age.Set(50)
		f.Name.Set("Bea")
		return f.Save(ctx)
	}},
	{"Insert", func(ctx context.Context, sc *rapyer.Schema[faulty, *faulty], st *rapyer.Store, f *faulty, insertID string) error {
		g, err := sc.NewWithID(st, insertID)
		if err != nil {
			return err
		}
		g.Age.Set(1)
		g.Name.Set("Cy")
		return g.Insert(ctx)
	}},
	{"InsertMany", func(ctx context.Context, sc *rapyer.Schema[faulty, *faulty], st *rapyer.Store, f *faulty, insertID string) error {
		g, err := sc.NewWithID(st, insertID)
		if err != nil {
			return err
		}
		g.Age.Set(2)
		g.Name.Set("Di")
		h := sc.NewBeside(g) // one shard: InsertMany is all or nothing per shard
		h.Name.Set("Ed")
		return sc.InsertMany(ctx, []*faulty{h, g})
	}},
	{"Update", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		f.Age.Set(51)
		return f.Update(ctx, &f.Age)
	}},
	{"Delete", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		_, err := f.Delete(ctx)
		return err
	}},
	{"Int.Incr", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		_, err := f.Age.Incr(ctx, 1)
		return err
	}},
	{"Str.Append", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		_, err := f.Note.Append(ctx, "!")
		return err
	}},
	{"List.Append", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		_, err := f.Tags.Append(ctx, "new")
		return err
	}},
	{"Map.Set", func(ctx context.Context, _ *rapyer.Schema[faulty, *faulty], _ *rapyer.Store, f *faulty, _ string) error {
		return f.Prefs.Set(ctx, "k", "v")
	}},
}

func TestFailedWriteWritesNothing(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, c := range corruptions() {
			for _, sc := range c.models {
				for _, op := range faultOps {
					if !slices.Contains(c.fails, op.name) {
						continue
					}
					t.Run(c.name+"/"+sc.Name()+"/"+op.name, func(t *testing.T) {
						clearPrefix(t, b)
						f := sc.New(b.Store)
						f.Name.Set("Ada")
						f.Age.Set(36)
						f.Note.Set("hi")
						f.Tags.SetLocal("a", "b")
						f.Prefs.SetLocal(map[string]string{"x": "1"})
						must(t, f.Save(ctx))
						// another object in the shard, so that index keys hold more than f
						o := sc.NewBeside(f)
						o.Name.Set("Zed")
						o.Age.Set(7)
						must(t, o.Save(ctx))
						name := c.apply(t, b, f)
						before := keySnapshot(t, b)
						insertID := f.ID()
						if strings.HasPrefix(c.name, "x:") {
							insertID = sc.NewBeside(f).ID() // a new id in the damaged shard
						}
						err := op.run(ctx, sc, b.Store, f, insertID)
						if !errors.Is(err, c.want) {
							t.Fatalf("err = %v, want %v", err, c.want)
						}
						if !strings.Contains(err.Error(), name) {
							t.Errorf("error %q does not name %q", err, name)
						}
						if after := keySnapshot(t, b); !reflect.DeepEqual(before, after) {
							t.Errorf("the failed %s wrote:\nbefore %v\nafter  %v", op.name, before, after)
						}
					})
				}
			}
		}
	})
}

// A repaired object behaves: the failed Append did not append, the retry
// appends once.
func TestFailedAppendRetry(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, c := range corruptions() {
			if c.repair == nil {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				clearPrefix(t, b)
				f := faultyPlain.New(b.Store)
				f.Tags.SetLocal("a")
				must(t, f.Save(ctx))
				c.apply(t, b, f)
				if _, err := f.Tags.Append(ctx, "b"); !errors.Is(err, c.want) {
					t.Fatalf("Append on damaged data: %v, want %v", err, c.want)
				}
				c.repair(t, b, f)
				if _, err := f.Tags.Append(ctx, "b"); err != nil {
					t.Fatal(err)
				}
				got, err := redis.Strings(b.Do(t, "LRANGE", f.Keys()[1], 0, -1))
				must(t, err)
				want := []string{"a", "b"}
				if c.name == "list key is a string" {
					want = []string{"b"}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("list after retry = %q, want %q", got, want)
				}
			})
		}
	})
}

func clearPrefix(t *testing.T, b *testkit.Backend) {
	t.Helper()
	keys, err := redis.Strings(b.Do(t, "KEYS", b.Prefix()+"*"))
	must(t, err)
	for _, k := range keys {
		_, err := b.Do(t, "DEL", k)
		must(t, err)
	}
}

// Save and Update write the next version with their HSET, exactly past 2^53
// too (where a Lua double is not).
func TestSaveVersionExact(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, v := range []string{"41", "999999999999999", "9007199254740993"} {
			for _, sc := range []*rapyer.Schema[faulty, *faulty]{faultyIdx, faultyPlain} {
				f := sc.New(b.Store)
				f.Name.Set("v" + v)
				must(t, f.Save(ctx))
				_, err := b.Do(t, "HSET", f.Key(), "_v", v)
				must(t, err)
				must(t, f.Save(ctx))
				must(t, f.Update(ctx, &f.Age))
				got, _ := b.HGet(t, f.Key(), "_v")
				want := map[string]string{"41": "43", "999999999999999": "1000000000000001", "9007199254740993": "9007199254740995"}[v]
				if got != want || fmt.Sprint(f.Version()) != want {
					t.Errorf("%s: _v %s after Save and Update = %s (Version %d), want %s", sc.Name(), v, got, f.Version(), want)
				}
			}
		}
	})
}
