package rapyer_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// plainRow is a model without any index.
type plainRow struct {
	rapyer.Model
	Name types.Str
	Age  types.Int
	Tags types.List[string]
}

func plainRowFields(r *plainRow) rapyer.Fields {
	return rapyer.Fields{r.Name.Named("name"), r.Age.Named("age"), r.Tags.Named("tags")}
}

var (
	plainRows    = rapyer.Define("prow", plainRowFields)
	plainRowsSh  = rapyer.Define("prowsh", plainRowFields, rapyer.WithShards(8))
	plainRowsOth = rapyer.Define("prowx", plainRowFields) // a name that starts like prow's
)

func TestScanWithoutIndexes(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, s := range []*rapyer.Schema[plainRow, *plainRow]{plainRows, plainRowsSh} {
			t.Run(s.Name(), func(t *testing.T) {
				const n = 600 // 1200 keys with the lists: more than one SCAN round trip
				rows := make([]*plainRow, n)
				for i := range rows {
					r := s.New(b.Store)
					r.Name.Set(fmt.Sprintf("n%04d", i))
					if i%10 != 0 { // every tenth has no age
						r.Age.Set(int64(i % 100))
					}
					r.Tags.SetLocal("t")
					rows[i] = r
				}
				must(t, s.InsertMany(ctx, rows))
				other := plainRowsOth.New(b.Store)
				must(t, other.Save(ctx))
				ids := make([]string, n)
				for i, r := range rows {
					ids[i] = r.ID()
				}
				slices.Sort(ids)

				_, err := s.Find(ctx, b.Store, rapyer.All())
				wantErr(t, err, rapyer.ErrInvalid, "Scan()")

				all, err := s.Find(ctx, b.Store, rapyer.All(), rapyer.Scan())
				must(t, err)
				got := make([]string, len(all))
				for i, r := range all {
					got[i] = r.ID()
				}
				if !slices.Equal(got, ids) {
					t.Fatalf("Find(All, Scan) found %d objects, want the %d saved, in id order", len(got), n)
				}
				if len(all[0].Tags.Local()) != 1 || !all[0].Name.Present() {
					t.Fatal("Find(All, Scan) did not load the objects")
				}

				q := s.Fields()
				_, cmds := b.Count(func() {
					_, err := s.Count(ctx, b.Store, q.Age.Gte(1), rapyer.Scan())
					must(t, err)
				})
				for _, c := range cmds {
					if c != "SCAN" && c != "HMGET" {
						t.Fatalf("a key scan sent %s (%v), want SCAN and HMGET only", c, cmds)
					}
				}
				want := func(f func(r *plainRow) bool) []string {
					var out []string
					for _, r := range rows {
						if f(r) {
							out = append(out, r.ID())
						}
					}
					slices.Sort(out)
					return out
				}
				cases := []struct {
					name string
					pred rapyer.Pred
					f    func(r *plainRow) bool
				}{
					{"gte", q.Age.Gte(90), func(r *plainRow) bool { return r.Age.Present() && r.Age.Get() >= 90 }},
					{"eq name", q.Name.Eq("n0042"), func(r *plainRow) bool { return r.Name.Get() == "n0042" }},
					{"prefix", q.Name.Prefix("n24"), func(r *plainRow) bool { return r.Name.Get() >= "n24" && r.Name.Get() < "n25" }},
					{"not", rapyer.Not(q.Age.Lt(95)), func(r *plainRow) bool { return r.Age.Present() && r.Age.Get() >= 95 }},
					{"or", rapyer.Or(q.Age.Eq(3), q.Name.Eq("n0000")), func(r *plainRow) bool {
						return r.Age.Present() && r.Age.Get() == 3 || r.Name.Get() == "n0000"
					}},
					{"and", rapyer.And(q.Age.Between(10, 12), q.Name.Prefix("n1")), func(r *plainRow) bool {
						a, ok := r.Age.Lookup()
						return ok && a >= 10 && a <= 12 && r.Name.Get()[:2] == "n1"
					}},
				}
				for _, c := range cases {
					exp := want(c.f)
					ids, err := s.FindIDs(ctx, b.Store, c.pred, rapyer.Scan())
					must(t, err)
					if !slices.Equal(ids, exp) {
						t.Fatalf("%s: FindIDs %d ids, want %d", c.name, len(ids), len(exp))
					}
					cnt, err := s.Count(ctx, b.Store, c.pred, rapyer.Scan())
					must(t, err)
					if cnt != len(exp) {
						t.Fatalf("%s: Count %d, want %d", c.name, cnt, len(exp))
					}
					found, err := s.Find(ctx, b.Store, c.pred, rapyer.Scan(), rapyer.Offset(1), rapyer.Limit(2))
					must(t, err)
					if w := exp[min(1, len(exp)):min(3, len(exp))]; len(found) != len(w) || len(w) > 0 && found[0].ID() != w[0] {
						t.Fatalf("%s: Find with Offset/Limit gave %d objects, want %v", c.name, len(found), w)
					}
				}

				// Iter pages through the same matches.
				var seen []string
				for r, err := range s.Iter(ctx, b.Store, q.Age.Gte(50), rapyer.Scan(), rapyer.PageSize(100)) {
					must(t, err)
					seen = append(seen, r.ID())
				}
				if exp := want(func(r *plainRow) bool { return r.Age.Get() >= 50 }); !slices.Equal(seen, exp) {
					t.Fatalf("Iter: %d objects, want %d", len(seen), len(exp))
				}
				one, err := s.FindOne(ctx, b.Store, q.Name.Eq("n0007"), rapyer.Scan())
				must(t, err)
				if one.Name.Get() != "n0007" {
					t.Fatalf("FindOne: %q", one.Name.Get())
				}
				_, err = s.FindOne(ctx, b.Store, q.Name.Eq("nobody"), rapyer.Scan())
				wantErr(t, err, rapyer.ErrNotFound)
				_, err = s.Find(ctx, b.Store, rapyer.All(), rapyer.Scan(), rapyer.Asc(&q.Age))
				wantErr(t, err, rapyer.ErrInvalid, "age")

				// Deleted objects are not found; DeleteWhere works.
				_, err = rows[1].Delete(ctx)
				must(t, err)
				deleted, err := s.DeleteWhere(ctx, b.Store, q.Age.Eq(2), rapyer.Scan())
				must(t, err)
				if exp := want(func(r *plainRow) bool { return r.Age.Present() && r.Age.Get() == 2 }); deleted != len(exp) {
					t.Fatalf("DeleteWhere deleted %d, want %d", deleted, len(exp))
				}
				cnt, err := s.Count(ctx, b.Store, rapyer.All(), rapyer.Scan())
				must(t, err)
				if exp := n - 1 - deleted; cnt != exp {
					t.Fatalf("Count after deletes %d, want %d", cnt, exp)
				}
				_, err = s.DeleteWhere(ctx, b.Store, rapyer.All(), rapyer.Scan())
				must(t, err)
			})
		}
	})
}
