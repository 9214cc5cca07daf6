package rapyer_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

type xdup struct {
	rapyer.Model
	A types.Int
}

var xdupRuns int

// TestDefineDuplicateName: a second Define of a name from another line
// panics naming both lines; the same line again (a test run twice) does
// not; Redefine replaces the definition.
func TestDefineDuplicateName(t *testing.T) {
	def := func(x *xdup) rapyer.Fields { return rapyer.Fields{x.A.Named("a")} }
	xdupRuns++ // a name of its own per run (go test -count=2)
	name := fmt.Sprintf("xdup%d", xdupRuns)
	for range 2 { // one line, twice: allowed
		rapyer.Define(name, def)
	}
	func() {
		defer func() {
			r := recover()
			msg := fmt.Sprint(r)
			if r == nil || !strings.Contains(msg, `"`+name+`" defined twice`) || strings.Count(msg, "xmodel_test.go:") != 2 {
				t.Fatalf("second Define from another line: recovered %v, want a panic naming both lines", r)
			}
		}()
		rapyer.Define(name, def)
	}()
	rapyer.Define(name, def, rapyer.Redefine())
	if !slices.Contains(rapyer.Models(), name) || !slices.Contains(rapyer.Models(), "user") {
		t.Fatalf("Models() = %v, want xdup and user among them", rapyer.Models())
	}
}

func TestGetKey(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.Store
		u := saved(t, ctx, users, st)
		p := people.New(st)
		p.Name.Set("Bo")
		p.Email.Set("bo@x")
		must(t, p.Save(ctx))
		sh := usersSharded.New(st)
		sh.Name.Set("Sh")
		must(t, sh.Save(ctx))

		var o rapyer.Object
		var err error
		trips, _ := b.Count(func() { o, err = rapyer.GetKey(ctx, st, u.Key()) })
		must(t, err)
		if trips != 1 {
			t.Fatalf("GetKey: %d round trips, want 1", trips)
		}
		gu, ok := o.(*user)
		if !ok || gu.ID() != u.ID() || gu.ModelName() != "user" || gu.Name.Get() != "Ada" || !slices.Equal(gu.Tags.Local(), []string{"a", "b", "c"}) {
			t.Fatalf("GetKey(user) = %T %+v", o, o)
		}
		o, err = rapyer.GetKey(ctx, st, p.Key())
		must(t, err)
		if gp, ok := o.(*person); !ok || gp.Email.Get() != "bo@x" || o.Key() != p.Key() {
			t.Fatalf("GetKey(person) = %T", o)
		}
		o, err = rapyer.GetKey(ctx, st, sh.Key())
		must(t, err)
		if g, ok := o.(*user); !ok || g.Name.Get() != "Sh" || g.ModelName() != "usersh" {
			t.Fatalf("GetKey(sharded) = %T", o)
		}

		// Bad keys: ErrInvalid naming the key, nothing sent.
		bad := map[string]string{
			"unknown model":  b.Prefix() + "{nosuchmodel:0}:o:x",
			"container key":  u.Keys()[1],
			"other prefix":   "zz" + u.Key(),
			"wrong shard":    rapyer.ShardPrefixOf(st, "usersh", (shardOfKey(t, st, sh.Key())+1)%16) + "o:" + sh.ID(),
			"not a key":      "hello",
			"shard not a no": b.Prefix() + "{user:x}:o:1",
		}
		for name, key := range bad {
			trips, _ := b.Count(func() { _, err = rapyer.GetKey(ctx, st, key) })
			wantErr(t, err, rapyer.ErrInvalid)
			if trips != 0 {
				t.Fatalf("%s: %d round trips, want 0", name, trips)
			}
		}
		_, err = rapyer.GetKey(ctx, st, b.Prefix()+"{nosuchmodel:0}:o:x")
		wantErr(t, err, rapyer.ErrInvalid, "nosuchmodel", "not defined")
		missing := users.New(st)
		_, err = rapyer.GetKey(ctx, st, missing.Key())
		wantErr(t, err, rapyer.ErrNotFound)
		_, err = rapyer.GetKey(ctx, nil, u.Key())
		wantErr(t, err, rapyer.ErrInvalid)
	})
}

// shardOfKey returns the shard of usersh whose keys key is among (its key
// head, ShardPrefixOf: the tag is {usersh:i} on one server, a spread tag on a
// cluster).
func shardOfKey(t *testing.T, st *rapyer.Store, key string) int {
	t.Helper()
	for i := 0; i < rapyer.ShardsOf(st, "usersh"); i++ {
		if strings.HasPrefix(key, rapyer.ShardPrefixOf(st, "usersh", i)) {
			return i
		}
	}
	t.Fatalf("%s: in no shard of usersh", key)
	return -1
}

func TestFindKeys(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		u1, u2, p1 := twoModels(t, b, "P1")
		// gone and u2 in u1's shard: the user keys go to one node, so that
		// on a cluster too ChunkSize(2) below meets that node twice.
		gone := users.NewBeside(u1)

		keys := []string{p1.Key(), u1.Key(), gone.Key(), u2.Key()}
		var objs []rapyer.Object
		var err error
		trips, _ := b.Count(func() { objs, err = rapyer.FindKeys(ctx, st, keys) })
		if trips != 1 {
			t.Fatalf("FindKeys: %d round trips, want 1", trips)
		}
		var me *rapyer.MissingKeysError
		if !errors.As(err, &me) || !errors.Is(err, rapyer.ErrNotFound) || !slices.Equal(me.Keys, []string{gone.Key()}) {
			t.Fatalf("FindKeys error %v, want a MissingKeysError for %s", err, gone.Key())
		}
		if got := objectKeys(objs); !slices.Equal(got, []string{p1.Key(), u1.Key(), u2.Key()}) {
			t.Fatalf("FindKeys keys %v", got)
		}
		if us := rapyer.ObjectsOf[*user](objs); len(us) != 2 || us[0].ID() != u1.ID() || us[1].Age.Get() != 36 {
			t.Fatalf("ObjectsOf[*user] = %v", us)
		}
		if ps := rapyer.ObjectsOf[*person](objs); len(ps) != 1 || ps[0].Name.Get() != "P1" {
			t.Fatalf("ObjectsOf[*person] = %v", ps)
		}
		objs, err = rapyer.FindKeys(ctx, st, keys, rapyer.SkipMissing())
		must(t, err)
		if len(objs) != 3 {
			t.Fatalf("SkipMissing: %d objects, want 3", len(objs))
		}
		trips, _ = b.Count(func() { objs, err = rapyer.FindKeys(ctx, st, keys, rapyer.SkipMissing(), rapyer.ChunkSize(2)) })
		must(t, err)
		if trips != 2 || len(objs) != 3 {
			t.Fatalf("ChunkSize(2): %d round trips, %d objects; want 2, 3", trips, len(objs))
		}

		// An undecodable object is skipped and reported; Tolerant loads it
		// with the field absent. A key of another type is skipped too.
		_, err = b.Do(t, "HSET", u1.Key(), "age", "not a number")
		must(t, err)
		_, err = b.Do(t, "DEL", p1.Key())
		must(t, err)
		_, err = b.Do(t, "SET", p1.Key(), "a string")
		must(t, err)
		objs, err = rapyer.FindKeys(ctx, st, keys, rapyer.SkipMissing())
		var se *rapyer.SkippedError
		if !errors.As(err, &se) || len(se.Errs) != 2 || !errors.Is(err, rapyer.ErrDecode) || !errors.Is(err, rapyer.ErrWrongType) {
			t.Fatalf("FindKeys over bad data: %v, want a SkippedError of 2 (ErrDecode, ErrWrongType)", err)
		}
		if got := objectKeys(objs); !slices.Equal(got, []string{u2.Key()}) {
			t.Fatalf("FindKeys over bad data returned %v, want only u2", got)
		}
		objs, err = rapyer.FindKeys(ctx, st, keys, rapyer.SkipMissing(), rapyer.Tolerant())
		if !errors.As(err, &se) || len(se.Errs) != 1 {
			t.Fatalf("Tolerant: %v, want the wrong-type key alone skipped", err)
		}
		if got := objectKeys(objs); !slices.Equal(got, []string{u1.Key(), u2.Key()}) {
			t.Fatalf("Tolerant returned %v", got)
		}
		if g := objs[0].(*user); g.Age.Present() || len(g.LoadErrors()) != 1 || g.Name.Get() != "Ada" {
			t.Fatalf("Tolerant: age present %v, load errors %v", g.Age.Present(), g.LoadErrors())
		}

		// Nothing sent for a bad key.
		trips, _ = b.Count(func() { _, err = rapyer.FindKeys(ctx, st, []string{u2.Key(), b.Prefix() + "{nosuch:0}:o:1"}) })
		wantErr(t, err, rapyer.ErrInvalid, "nosuch")
		if trips != 0 {
			t.Fatalf("bad key: %d round trips", trips)
		}

		// FindOneKey: the first that exists and loads.
		o, err := rapyer.FindOneKey(ctx, st, []string{gone.Key(), p1.Key(), u2.Key(), u1.Key()})
		must(t, err)
		if o.Key() != u2.Key() {
			t.Fatalf("FindOneKey = %s, want u2", o.Key())
		}
		_, err = rapyer.FindOneKey(ctx, st, []string{gone.Key()})
		wantErr(t, err, rapyer.ErrNotFound)
	})
}

// twoModels saves two users and a person named name.
func twoModels(t *testing.T, b *testkit.Backend, name string) (u1, u2 *user, p *person) {
	t.Helper()
	ctx := testkit.Ctx(t)
	u1 = saved(t, ctx, users, b.Store)
	u2 = savedBeside(t, ctx, users, u1)
	p = people.New(b.Store)
	p.Name.Set(name)
	must(t, p.Save(ctx))
	return u1, u2, p
}

func objectKeys(objs []rapyer.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key()
	}
	return out
}

func TestDeleteKeys(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		u1, u2, p1 := twoModels(t, b, "Del")
		keys := []string{u1.Key(), p1.Key(), users.New(st).Key(), u2.Key()}
		var d rapyer.Deleted
		var err error
		trips, _ := b.Count(func() { d, err = rapyer.DeleteKeys(ctx, st, keys) })
		must(t, err)
		if trips != 1 {
			t.Fatalf("DeleteKeys: %d round trips, want 1", trips)
		}
		if d.Total != 3 || d.ByModel["user"] != 2 || d.ByModel["person"] != 1 || len(d.ByModel) != 2 {
			t.Fatalf("DeleteKeys = %+v, want 3: user 2, person 1", d)
		}
		for _, k := range append(u1.Keys(), p1.Key()) {
			if n, _ := b.Do(t, "EXISTS", k); n != int64(0) {
				t.Fatalf("%s still exists", k)
			}
		}
		q := people.Fields()
		if n, err := people.Count(ctx, st, q.Name.Eq("Del")); err != nil || n != 0 {
			t.Fatalf("index still finds the deleted person: %d, %v", n, err)
		}
		d, err = rapyer.DeleteKeys(ctx, st, keys)
		must(t, err)
		if d.Total != 0 {
			t.Fatalf("second DeleteKeys = %+v", d)
		}
		trips, _ = b.Count(func() { _, err = rapyer.DeleteKeys(ctx, st, []string{u1.Keys()[1]}) })
		wantErr(t, err, rapyer.ErrInvalid)
		if trips != 0 {
			t.Fatalf("bad key: %d round trips", trips)
		}
	})
}
