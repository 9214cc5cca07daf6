package rapyer_test

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// A load of many objects of a model without containers decodes each
// HGETALL reply in place, from the connection's buffer (Model.applyRaw),
// where rapyer reads the replies itself; elsewhere (a cluster's groups, a
// plain redigo pool) the replies are parsed first. Both must give what Get
// gives, keep nothing of the buffer, and fail or tolerate alike.

type flatAll struct {
	rapyer.Model
	Name  types.Str
	Age   types.Int
	Score types.Float
	On    types.Bool
	Seen  types.Time
	Blob  types.Bytes
	Meta  types.Value[meta]
	City  types.Str
}

var flatAlls = rapyer.Define("flatall", func(f *flatAll) rapyer.Fields {
	return rapyer.Fields{f.Name.Named("name"), f.Age.Named("age").Index(), f.Score.Named("score"), f.On.Named("on"),
		f.Seen.Named("seen"), f.Blob.Named("blob"), f.Meta.Named("meta"), rapyer.Nested("home", f.City.Named("city"))}
})

// flatValues is what a test compares of a flatAll.
func flatValues(f *flatAll) []any {
	return []any{f.ID(), f.Name.Get(), f.Age.Get(), f.Score.Get(), f.On.Get(), f.Seen.Get(), f.Blob.Get(),
		f.Meta.Get(), f.City.Get(), f.Version()}
}

// TestGetManyInPlace: GetMany and Find of 240 flat objects whose values hold
// CRLF, RESP-like text, empty strings, binary bytes, a msgpack value and
// one far larger than the reader's buffer, beside a hash with a field the
// model does not know and a missing id: each object equals what Get
// loads, the missing one is nil, and a later load (reusing the buffer)
// changes nothing in what the first returned. A value that does not decode
// fails the load naming its field, or with Tolerant is listed in
// LoadErrors while the rest loads.
func TestGetManyInPlace(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		// Enough that a cluster's node gets more than a multiplexed
		// request holds (muxMaxCmds): its group goes on a pooled
		// connection, where the replies are read in place too.
		const n = 240
		var ids []string
		for i := range n {
			f := flatAlls.New(st)
			f.Name.Set("n" + strconv.Itoa(i) + "\r\n$3\r\n*1\r\n")
			f.Age.Set(int64(i) - 20)
			f.Score.Set(float64(i) / 3)
			f.On.Set(i%2 == 0)
			f.Seen.Set(seen0.Add(-3))
			f.Blob.Set([]byte{0, '\r', '\n', byte(i), 0xff})
			f.Meta.Set(meta{Tags: []string{"t", strconv.Itoa(i)}, Level: i})
			switch i {
			case 7:
				f.City.Set("") // empty, not absent
			case 9:
				f.City.Set(strings.Repeat("long-", 20000)) // 100 KB: many reads
			default:
				f.City.Set("c" + strconv.Itoa(i))
			}
			must(t, f.Save(ctx))
			ids = append(ids, f.ID())
		}
		_, err := b.Do(t, "HSET", keyOf(t, ctx, st, ids[3]), "stranger", "x")
		must(t, err)
		withMissing := append(append([]string{}, ids[:20]...), "no-such-id")
		withMissing = append(withMissing, ids[20:]...)

		var got []*flatAll
		trips, cmds := b.Count(func() { got, err = flatAlls.GetMany(ctx, st, withMissing) })
		wantErr(t, err, rapyer.ErrNotFound, "no-such-id")
		if trips != 1 || len(cmds) != n+1 || cmds[0] != "HGETALL" {
			t.Fatalf("GetMany of %d: %d round trips, %d commands (%v...)", n+1, trips, len(cmds), cmds[:min(3, len(cmds))])
		}
		if len(got) != n+1 || got[20] != nil {
			t.Fatalf("GetMany: %d objects, the missing one %v", len(got), got[20])
		}
		got = append(got[:20], got[21:]...)
		want := make([][]any, len(ids))
		for i, id := range ids {
			one, err := flatAlls.Get(ctx, st, id)
			must(t, err)
			want[i] = flatValues(one)
			if !reflect.DeepEqual(flatValues(got[i]), want[i]) {
				t.Fatalf("object %d: GetMany %v, Get %v", i, flatValues(got[i]), want[i])
			}
		}
		if got[7].City.Get() != "" || !got[7].City.Present() {
			t.Fatal("an empty stored string loaded as absent")
		}
		found, err := flatAlls.Find(ctx, st, rapyer.All(), rapyer.Limit(1000))
		must(t, err)
		if len(found) != len(ids) {
			t.Fatalf("Find: %d objects, want %d", len(found), len(ids))
		}
		for _, f := range found {
			i := indexOf(ids, f.ID())
			if i < 0 || !reflect.DeepEqual(flatValues(f), want[i]) {
				t.Fatalf("Find's %s: %v, Get's %v", f.ID(), flatValues(f), want)
			}
		}

		// Loads reusing the connections' buffers leave what came before.
		for range 3 {
			_, err := flatAlls.GetMany(ctx, st, ids)
			must(t, err)
		}
		for i := range ids {
			if !reflect.DeepEqual(flatValues(got[i]), want[i]) {
				t.Fatalf("object %d changed after later loads: %v, was %v", i, flatValues(got[i]), want[i])
			}
		}
		if !bytes.Equal(got[5].Blob.Get(), []byte{0, '\r', '\n', 5, 0xff}) {
			t.Fatalf("blob %q", got[5].Blob.Get())
		}

		// A value that does not decode: strict fails naming it, tolerant
		// lists it and loads the rest.
		_, err = b.Do(t, "HSET", keyOf(t, ctx, st, ids[11]), "age", "eleven")
		must(t, err)
		_, err = flatAlls.GetMany(ctx, st, ids)
		wantErr(t, err, rapyer.ErrDecode, "age", ids[11])
		tol, err := flatAlls.GetMany(ctx, st, ids, rapyer.Tolerant())
		must(t, err)
		if errs := tol[11].LoadErrors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "age") || tol[11].Age.Present() {
			t.Fatalf("tolerant load of the bad object: errors %v, age present %v", errs, tol[11].Age.Present())
		}
		for i := range ids {
			if i != 11 && (len(tol[i].LoadErrors()) != 0 || !reflect.DeepEqual(flatValues(tol[i]), want[i])) {
				t.Fatalf("tolerant load of object %d: %v %v", i, flatValues(tol[i]), tol[i].LoadErrors())
			}
		}
	})
}

// keyOf is the hash key of the flatAll id.
func keyOf(t *testing.T, ctx context.Context, st *rapyer.Store, id string) string {
	t.Helper()
	f, err := flatAlls.Get(ctx, st, id)
	must(t, err)
	return f.Key()
}

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}
