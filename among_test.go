package rapyer_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestFindAmongRandom: Find with Among gives what a filter in Go over the
// given objects gives, for random predicates (indexed and unindexed
// fields, absent fields), by id and sorted with a window, on 1 and 16
// shards: one round trip each.
func TestFindAmongRandom(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		rng := rand.New(rand.NewPCG(21, 22))
		all := randomQMs(t, b, rng, 40, "a")["qm"]
		selective := 0
		for i := 0; i < 50; i++ {
			tp := randPred(rng, 3)
			var among []*qm
			ids := []string{"nobody"}
			for _, o := range all {
				if rng.IntN(2) == 0 {
					among = append(among, o)
					ids = append(ids, o.ID())
				}
			}
			var want []*qm
			for _, o := range among {
				if tp.eval(o, false) {
					want = append(want, o)
				}
			}
			if len(want) > 0 && len(want) < len(among) {
				selective++
			}
			wantIDs := idsOf(want)
			sort.Strings(wantIDs)
			desc, off, lim := rng.IntN(2) == 0, rng.IntN(4), rng.IntN(6)
			sorted := qmOrderAbsentFirst(want, desc)
			sorted = sorted[min(off, len(sorted)):]
			sorted = sorted[:min(lim, len(sorted))]
			for _, s := range []schemaQM{qms, qms16} {
				qq := q
				if s == qms16 {
					qq = q16
				}
				var got []*qm
				var err error
				trips, _ := b.Count(func() { got, err = s.Find(ctx, b.Store, tp.p(qq), rapyer.Among(ids...)) })
				must(t, err)
				if g := idsOf(got); !slices.Equal(g, wantIDs) || trips > 1 {
					t.Fatalf("%s among %d on %s: %d round trips\n got %v\nwant %v", tp.text, len(ids), s.Name(), trips, g, wantIDs)
				}
				got, err = s.Find(ctx, b.Store, tp.p(qq), rapyer.Among(ids...), rapyer.OrderBy(&qq.Age, desc), rapyer.Offset(off), rapyer.Limit(lim))
				must(t, err)
				if g := idsOf(got); !slices.Equal(g, sorted) {
					t.Fatalf("%s sorted desc=%v [%d:+%d] on %s:\n got %v\nwant %v", tp.text, desc, off, lim, s.Name(), g, sorted)
				}
			}
		}
		if selective < 15 {
			t.Errorf("weak cases: %d of 50 selective", selective)
		}
	})
}

// TestFindAmong: a model without any index, FindOne, bad data, and what
// Among refuses.
func TestFindAmong(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		q := users.Fields() // "user" has no index
		var ids []string
		for i, age := range []int64{20, 30, 40, 50} {
			u := users.New(st)
			u.Name.Set("n" + strconv.Itoa(i))
			u.Age.Set(age)
			must(t, u.Save(ctx))
			ids = append(ids, u.ID())
		}
		noAge := users.New(st)
		noAge.Name.Set("x")
		must(t, noAge.Save(ctx))
		ids = append(ids, noAge.ID())

		var got []*user
		var err error
		trips, _ := b.Count(func() {
			got, err = users.Find(ctx, st, rapyer.And(q.Age.Gte(30), q.Age.NotEq(40)), rapyer.Among(ids...))
		})
		must(t, err)
		if trips != 1 || len(got) != 2 || got[0].ID() != ids[1] || got[1].ID() != ids[3] {
			t.Fatalf("Find Among on a model without index: %d round trips, %d objects", trips, len(got))
		}
		_, err = users.Find(ctx, st, q.Age.Gte(30))
		wantErr(t, err, rapyer.ErrInvalid, "no indexed field")

		one, err := users.FindOne(ctx, st, rapyer.Or(q.Name.Prefix("n3"), q.Name.Eq("x")), rapyer.Among(ids...))
		must(t, err)
		if one.ID() != min(ids[3], noAge.ID()) {
			t.Fatalf("FindOne Among = %s", one.ID())
		}
		_, err = users.FindOne(ctx, st, q.Age.Gt(100), rapyer.Among(ids...))
		wantErr(t, err, rapyer.ErrNotFound)

		// Nothing to match: nothing sent.
		trips, _ = b.Count(func() { got, err = users.Find(ctx, st, rapyer.All(), rapyer.Among()) })
		must(t, err)
		if trips != 0 || len(got) != 0 {
			t.Fatalf("Among(): %d round trips, %d objects", trips, len(got))
		}
		_, err = people.Count(ctx, st, rapyer.All(), rapyer.Among(ids...))
		wantErr(t, err, rapyer.ErrInvalid, "Among")
		_, err = users.Find(ctx, st, q.Age.Gte(1), rapyer.Among(""))
		wantErr(t, err, rapyer.ErrInvalid)

		// An undecodable field fails the load unless Tolerant, which
		// leaves it absent (so it matches no comparison on it).
		bad, err := users.Get(ctx, st, ids[2])
		must(t, err)
		_, err = b.Do(t, "HSET", bad.Key(), "age", "forty")
		must(t, err)
		_, err = users.Find(ctx, st, q.Age.Gte(30), rapyer.Among(ids...))
		wantErr(t, err, rapyer.ErrDecode, "age")
		got, err = users.Find(ctx, st, rapyer.Or(q.Age.Gte(30), q.Name.Eq("n2")), rapyer.Among(ids...), rapyer.Tolerant())
		must(t, err)
		if len(got) != 3 || !slices.ContainsFunc(got, func(u *user) bool { return u.ID() == ids[2] && !u.Age.Present() }) {
			t.Fatalf("Tolerant Among: %d objects", len(got))
		}
		var se *rapyer.SkippedError
		if errors.As(err, &se) {
			t.Fatalf("no object was unreadable: %v", err)
		}
	})
}
