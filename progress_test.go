package rapyer_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// progressLog records Progress calls.
type progressLog [][2]int

func (l *progressLog) fn(done, total int) { *l = append(*l, [2]int{done, total}) }

// savePeople saves n people aged 0..n-1 (email i@x) and returns them.
func savePeople(t *testing.T, b *testkit.Backend, st *rapyer.Store, s *rapyer.Schema[person, *person], n int) []*person {
	t.Helper()
	ctx := testkit.Ctx(t)
	out := make([]*person, n)
	for i := range out {
		out[i] = newPerson(s, st, fmt.Sprint("p", i), fmt.Sprint(i, "@x"), int64(i))
	}
	must(t, s.SaveMany(ctx, out))
	return out
}

// TestDeleteWhereChunks: DeleteWhere finds and deletes ChunkSize objects
// at a time (no round trip carries more than a chunk of deletes), reports
// its progress after each chunk, and honours Limit across chunks.
func TestDeleteWhereChunks(t *testing.T) {
	r := &recorder{}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.NewStore(t, rapyer.WithHook(r))
		q := peopleSharded.Fields()
		all := savePeople(t, b, st, peopleSharded, 12) // ages 0..11
		var log progressLog
		r.take()
		rts, _ := b.Count(func() {
			n, err := peopleSharded.DeleteWhere(ctx, st, q.Age.Lt(10), rapyer.ChunkSize(3), rapyer.Progress(log.fn))
			must(t, err)
			if n != 10 {
				t.Fatalf("deleted %d, want 10", n)
			}
		})
		// Chunks of 3, 3, 3, 1: a search and a delete each.
		if rts != 8 {
			t.Fatalf("%d round trips, want 8", rts)
		}
		_, trips, _ := r.take()
		for _, tr := range trips {
			if tr.Commands > 16 { // a search: one call per shard (16)
				t.Fatalf("a round trip of %d commands", tr.Commands)
			}
		}
		if want := (progressLog{{3, -1}, {6, -1}, {9, -1}, {10, 10}}); !slices.Equal(log, want) {
			t.Fatalf("progress %v, want %v", log, want)
		}
		for i, p := range all {
			ok, err := p.Exists(ctx)
			must(t, err)
			if ok != (i >= 10) {
				t.Fatalf("age %d: exists %v", i, ok)
			}
		}

		// Limit across chunks, in the query's order.
		all = savePeople(t, b, st, peopleSharded, 10)
		log = nil
		n, err := peopleSharded.DeleteWhere(ctx, st, q.Age.Gte(0), rapyer.Asc(&q.Age), rapyer.Limit(5), rapyer.Offset(1),
			rapyer.ChunkSize(2), rapyer.Progress(log.fn))
		must(t, err)
		if want := (progressLog{{2, -1}, {4, -1}, {5, 5}}); n != 5 || !slices.Equal(log, want) {
			t.Fatalf("deleted %d, progress %v, want 5 and %v", n, log, want)
		}
		ages, err := peopleSharded.Find(ctx, st, q.Age.Gte(0), rapyer.Asc(&q.Age))
		must(t, err)
		var left []int64
		for _, p := range ages {
			left = append(left, p.Age.Get())
		}
		if want := []int64{0, 6, 7, 8, 9, 10, 11}; !slices.Equal(left, want) {
			t.Fatalf("ages left %v, want %v", left, want)
		}
		_ = all

		// Nothing matches: one round trip, one final call.
		log = nil
		rts, _ = b.Count(func() {
			n, err = peopleSharded.DeleteWhere(ctx, st, q.Age.Gt(100), rapyer.Progress(log.fn))
			must(t, err)
		})
		if n != 0 || rts != 1 || !slices.Equal(log, progressLog{{0, 0}}) {
			t.Fatalf("no match: %d deleted, %d round trips, progress %v", n, rts, log)
		}
	})
}

// peopleOne has one shard on every backend (a cluster gives a model 12
// unless WithShards says otherwise).
var peopleOne = rapyer.Define("personone", personFields, rapyer.WithShards(1))

// TestSweepProgress: Sweep reports the entries checked against their
// total, read first; Reindex the objects reindexed, the total at the end.
func TestSweepProgress(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		st := b.Store
		people := peopleOne
		ps := savePeople(t, b, st, people, 8)
		for _, p := range ps[:3] { // dead behind rapyer's back
			if _, err := b.Do(t, "DEL", p.Keys()[0]); err != nil {
				t.Fatal(err)
			}
		}
		var log progressLog
		dead, err := people.Sweep(ctx, st, rapyer.ChunkSize(3), rapyer.Progress(log.fn))
		must(t, err)
		if dead != 3 {
			t.Fatalf("swept %d, want 3", dead)
		}
		// One shard, chunks of 3 of the 8 ids: 3, 6, 8 checked.
		if want := (progressLog{{3, 8}, {6, 8}, {8, 8}, {8, 8}}); !slices.Equal(log, want) {
			t.Fatalf("Sweep progress %v, want %v", log, want)
		}

		log = nil
		_, err = people.Reindex(ctx, st, rapyer.ChunkSize(2), rapyer.Progress(log.fn))
		must(t, err)
		if len(log) < 2 || log[len(log)-1] != [2]int{5, 5} {
			t.Fatalf("Reindex progress %v, want ending at 5 of 5", log)
		}
		for i, c := range log[:len(log)-1] {
			if c[1] != -1 || c[0] > 5 || i > 0 && c[0] < log[i-1][0] {
				t.Fatalf("Reindex progress %v", log)
			}
		}
	})
}
