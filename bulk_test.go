package rapyer_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// newUsers returns n filled, unsaved objects whose Age is their position.
func newUsers(s *rapyer.Schema[user, *user], st *rapyer.Store, n int) []*user {
	out := make([]*user, n)
	for i := range out {
		out[i] = s.New(st)
		fill(out[i])
		out[i].Age.Set(int64(i))
	}
	return out
}

// newUsersBeside is newUsers with every object in one shard (NewBeside):
// on a cluster their keys are on one node, which every chunk of a chunked
// call then reaches (the test kit counts the round trips of the busiest
// connection).
func newUsersBeside(s *rapyer.Schema[user, *user], st *rapyer.Store, n int) []*user {
	out := make([]*user, n)
	for i := range out {
		if i == 0 {
			out[i] = s.New(st)
		} else {
			out[i] = s.NewBeside(out[0])
		}
		fill(out[i])
		out[i].Age.Set(int64(i))
	}
	return out
}

func ids(us []*user) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID()
	}
	return out
}

func TestSaveManyGetMany(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		us := newUsers(usersTTL, b.Store, 100)
		rt, _ := b.Count(func() { must(t, usersTTL.SaveMany(ctx, us)) })
		if rt != 1 {
			t.Fatalf("SaveMany of 100: %d round trips", rt)
		}
		for _, u := range us {
			if u.Version() != 1 {
				t.Fatalf("version %d after SaveMany", u.Version())
			}
		}
		// Order is preserved; each object is whole, containers included.
		want := ids(us)
		want[3], want[7] = want[7], want[3]
		var got []*user
		rt, _ = b.Count(func() {
			var err error
			got, err = usersTTL.GetMany(ctx, b.Store, want)
			must(t, err)
		})
		if rt != 1 || len(got) != 100 {
			t.Fatalf("GetMany: %d objects in %d round trips", len(got), rt)
		}
		for i, g := range got {
			if g.ID() != want[i] {
				t.Fatalf("position %d holds %s, want %s", i, g.ID(), want[i])
			}
		}
		if got[3].Age.Get() != 7 || got[7].Age.Get() != 3 {
			t.Fatal("wrong objects at swapped positions")
		}
		wantContainers(t, got[50])
		if p := b.PTTL(t, got[0].Tags.Key()); p < 3500_000 {
			t.Fatalf("container PTTL %d after SaveMany", p)
		}

		// Missing ids: reported beside an aligned result, or skipped.
		mixed := []string{us[0].ID(), "nope-1", us[1].ID(), "nope-2"}
		got, err := usersTTL.GetMany(ctx, b.Store, mixed)
		var me *rapyer.MissingError
		if !errors.Is(err, rapyer.ErrNotFound) || !errors.As(err, &me) || !reflect.DeepEqual(me.IDs, []string{"nope-1", "nope-2"}) {
			t.Fatalf("GetMany of missing ids: %v", err)
		}
		if len(got) != 4 || got[1] != nil || got[3] != nil || got[2].ID() != us[1].ID() {
			t.Fatalf("aligned result %v", got)
		}
		got, err = usersTTL.GetMany(ctx, b.Store, mixed, rapyer.SkipMissing())
		must(t, err)
		if len(got) != 2 || got[0].ID() != us[0].ID() || got[1].ID() != us[1].ID() {
			t.Fatalf("SkipMissing result %v", got)
		}
		_, err = usersTTL.GetMany(ctx, b.Store, []string{us[0].ID(), ""})
		wantErr(t, err, rapyer.ErrInvalid)
		got, err = usersTTL.GetMany(ctx, b.Store, nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("GetMany of nothing: %v %v", got, err)
		}

		// Chunks: 250 objects, 100 per round trip.
		more := newUsers(users, b.Store, 250)
		rt, _ = b.Count(func() { must(t, users.SaveMany(ctx, more, rapyer.ChunkSize(100))) })
		if rt != 3 {
			t.Fatalf("SaveMany of 250 by 100: %d round trips", rt)
		}
		rt, _ = b.Count(func() {
			got, err = users.GetMany(ctx, b.Store, ids(more), rapyer.ChunkSize(100))
			must(t, err)
		})
		if rt != 3 || len(got) != 250 || got[249].Age.Get() != 249 {
			t.Fatalf("GetMany of 250 by 100: %d round trips, %d objects", rt, len(got))
		}

		// Corrupt data: strict fails naming the object, Tolerant loads.
		b.Do(t, "HSET", more[5].Key(), "age", "x")
		_, err = users.GetMany(ctx, b.Store, ids(more[:10]))
		wantErr(t, err, rapyer.ErrDecode, more[5].ID(), "age")
		got, err = users.GetMany(ctx, b.Store, ids(more[:10]), rapyer.Tolerant())
		must(t, err)
		if got[5].Age.Present() || len(got[5].LoadErrors()) != 1 {
			t.Fatal("tolerant GetMany")
		}
	})
}

func TestSaveManyScriptUnitsAndErrors(t *testing.T) {
	testkit.RunPrivate(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		// Refresh off with containers: each object is a lua/save.lua call.
		// A flushed script cache costs one more round trip, never a partial
		// write.
		us := newUsers(usersNoRefresh, b.Store, 20)
		must(t, usersNoRefresh.SaveMany(ctx, us))
		b.Do(t, "SCRIPT", "FLUSH")
		for _, u := range us {
			u.Age.Set(u.Age.Get() + 100)
		}
		rt, _ := b.Count(func() { must(t, usersNoRefresh.SaveMany(ctx, us)) })
		if rt != 2 {
			t.Fatalf("SaveMany after SCRIPT FLUSH: %d round trips", rt)
		}
		got, err := usersNoRefresh.GetMany(ctx, b.Store, ids(us))
		must(t, err)
		for i, g := range got {
			if g.Age.Get() != int64(i+100) || g.Version() != 2 {
				t.Fatalf("object %d: age %d version %d", i, g.Age.Get(), g.Version())
			}
		}
		// One object refused by the server: the others are saved, the error
		// names it.
		more := newUsers(users, b.Store, 3)
		b.Do(t, "SET", more[1].Key(), "x")
		err = users.SaveMany(ctx, more)
		wantErr(t, err, rapyer.ErrWrongType, more[1].ID())
		if ok, _ := users.Exists(ctx, b.Store, more[2].ID()); !ok {
			t.Fatal("a refused object stopped the others")
		}
		// An encode error sends nothing.
		bad := newUsers(users, b.Store, 3)
		bad[2].Score.Set(nan())
		rt, _ = b.Count(func() { err = users.SaveMany(ctx, bad) })
		wantErr(t, err, rapyer.ErrInvalid, "score", bad[2].ID())
		if rt != 0 {
			t.Fatalf("encode error sent %d round trips", rt)
		}
		// Objects of another Store, or unbound, are refused.
		var zero user
		wantErr(t, users.SaveMany(ctx, []*user{bad[0], &zero}), rapyer.ErrUnbound)
		wantErr(t, users.SaveMany(ctx, []*user{bad[0], nil}), rapyer.ErrInvalid)
		must(t, users.SaveMany(ctx, nil))
	})
}

func TestInsertManyAllOrNothing(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		us := newUsers(usersTTL, b.Store, 50)
		rt, cmds := b.Count(func() { must(t, usersTTL.InsertMany(ctx, us)) })
		// One script on one server; on a cluster the 50 are in 12 shards:
		// their ids checked first (TYPE), then one script per shard, each
		// pass one round trip per node, the nodes in parallel.
		want := 1
		if b.Name == "cluster" {
			want = 2
			if !slices.Contains(cmds, "TYPE") {
				t.Fatalf("InsertMany over shards on a cluster sent %v, want the TYPE check first", cmds)
			}
		}
		if rt != want {
			t.Fatalf("InsertMany: %d round trips, want %d", rt, want)
		}
		// Objects of one shard (NewBeside) are one script, one round trip,
		// on a cluster too.
		near := []*user{usersTTL.New(b.Store)}
		for len(near) < 5 {
			near = append(near, usersTTL.NewBeside(near[0]))
		}
		for _, u := range near {
			fill(u)
		}
		rt, cmds = b.Count(func() { must(t, usersTTL.InsertMany(ctx, near)) })
		if rt != 1 || len(cmds) != 1 {
			t.Fatalf("InsertMany of one shard: %d round trips %v, want one script", rt, cmds)
		}
		got, err := usersTTL.GetMany(ctx, b.Store, ids(us))
		must(t, err)
		wantContainers(t, got[49])
		if got[49].Version() != 1 || b.PTTL(t, us[0].Places.Key()) < 3500_000 {
			t.Fatal("InsertMany: version or TTL")
		}
		// One taken id: nothing of the call is written.
		fresh := newUsersBeside(usersTTL, b.Store, 10)
		batch := append(fresh[:5:5], us[3])
		batch = append(batch, fresh[5:]...)
		err = usersTTL.InsertMany(ctx, batch)
		wantErr(t, err, rapyer.ErrExists, us[3].ID())
		found, err := usersTTL.ExistsMany(ctx, b.Store, ids(fresh))
		must(t, err)
		for i, f := range found {
			if f {
				t.Fatalf("object %d written by a failed InsertMany", i)
			}
		}
		// Beyond one chunk: checked first, still nothing written.
		rt, _ = b.Count(func() { err = usersTTL.InsertMany(ctx, batch, rapyer.ChunkSize(4)) })
		wantErr(t, err, rapyer.ErrExists, us[3].ID())
		if n, _ := redis.Int(b.Do(t, "EXISTS", fresh[0].Key())); n != 0 || rt != 2 {
			t.Fatalf("chunked InsertMany wrote %d, %d round trips", n, rt)
		}
		rt, _ = b.Count(func() { must(t, usersTTL.InsertMany(ctx, fresh, rapyer.ChunkSize(4))) })
		if rt != 3+3 {
			t.Fatalf("chunked InsertMany: %d round trips", rt)
		}
		// The same id twice is refused before sending.
		twice := newUsers(usersTTL, b.Store, 1)
		wantErr(t, usersTTL.InsertMany(ctx, append(twice, twice[0])), rapyer.ErrInvalid, "twice")
	})
}

func TestDeleteManyExistsMany(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		us := newUsers(users, b.Store, 30)
		must(t, users.SaveMany(ctx, us))
		list := append(ids(us[:10]), "ghost", us[0].ID())
		var n int
		rt, _ := b.Count(func() {
			var err error
			n, err = users.DeleteMany(ctx, b.Store, list)
			must(t, err)
		})
		if n != 10 || rt != 1 {
			t.Fatalf("DeleteMany: %d deleted in %d round trips", n, rt)
		}
		for _, k := range us[0].Keys() {
			if n, _ := redis.Int(b.Do(t, "EXISTS", k)); n != 0 {
				t.Fatalf("DeleteMany left %s", k)
			}
		}
		var ex []bool
		rt, _ = b.Count(func() {
			var err error
			ex, err = users.ExistsMany(ctx, b.Store, []string{us[0].ID(), us[10].ID(), "ghost", us[29].ID()})
			must(t, err)
		})
		if rt != 1 || !reflect.DeepEqual(ex, []bool{false, true, false, true}) {
			t.Fatalf("ExistsMany %v in %d round trips", ex, rt)
		}
		n, err := users.DeleteMany(ctx, b.Store, ids(us), rapyer.ChunkSize(7))
		must(t, err)
		if n != 20 {
			t.Fatalf("second DeleteMany: %d", n)
		}
		_, err = users.DeleteMany(ctx, b.Store, []string{string(make([]byte, 600))})
		wantErr(t, err, rapyer.ErrInvalid)
		_, err = users.ExistsMany(ctx, b.Store, []string{""})
		wantErr(t, err, rapyer.ErrInvalid)
	})
}

func TestBulkLarge(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		us := make([]*bag, 2500)
		for i := range us {
			us[i] = bags.New(b.Store)
			us[i].A.Set(int64(i))
			us[i].L.SetLocal(fmt.Sprint(i))
		}
		rt, _ := b.Count(func() { must(t, bags.InsertMany(ctx, us)) })
		if rt != 3+3 {
			t.Fatalf("InsertMany of 2500: %d round trips", rt)
		}
		list := make([]string, len(us))
		for i, u := range us {
			list[i] = u.ID()
		}
		got, err := bags.GetMany(ctx, b.Store, list)
		must(t, err)
		if len(got) != 2500 || got[2499].A.Get() != 2499 || got[1234].L.Local()[0] != "1234" {
			t.Fatal("GetMany of 2500")
		}
		n, err := bags.DeleteMany(ctx, b.Store, list)
		must(t, err)
		if n != 2500 {
			t.Fatalf("DeleteMany of 2500: %d", n)
		}
	})
}

func nan() float64 { return math.NaN() }
