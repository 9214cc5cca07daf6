package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/serialize"
	"github.com/rapyer-go/rapyer/types"
)

// qm is the query tests' model: indexed fields of every kind, a nested
// indexed field, fields without an index, and a container.
type qm struct {
	rapyer.Model
	Name  types.Str
	Age   types.Int
	Score types.Float
	Born  types.Time
	Vip   types.Bool
	Group types.Str
	Home  struct {
		City types.Str
		Zip  types.Str // not indexed
	}
	Note   types.Str // not indexed
	Tags   types.List[string]
	Status types.Value[qmStatus]
}

// qmStatus is an enum stored as its string.
type qmStatus string

func qmFields(p *qm) rapyer.Fields {
	return rapyer.Fields{
		p.Name.Named("name").Index(),
		p.Age.Named("age").Index(),
		p.Score.Named("score").Index(),
		p.Born.Named("born").Index(),
		p.Vip.Named("vip").Index(),
		p.Group.Named("group").Index(),
		rapyer.Nested("home", p.Home.City.Named("city").Index(), p.Home.Zip.Named("zip")),
		p.Note.Named("note"),
		p.Tags.Named("tags"),
		p.Status.Named("status").Codec(serialize.StringOf[qmStatus]()).Index(),
	}
}

var (
	qms      = rapyer.Define("qm", qmFields)
	qms16    = rapyer.Define("qm16", qmFields, rapyer.WithShards(16))
	qmsTTL   = rapyer.Define("qmttl", qmFields, rapyer.WithTTL(time.Hour))
	qmsNoRef = rapyer.Define("qmnr", qmFields, rapyer.WithTTL(time.Hour), rapyer.WithRefresh(false))
	// q is the probe the predicates are built from: the schemas share the
	// field list, but a predicate belongs to one model.
	q   = qms.Fields()
	q16 = qms16.Fields()
)

type schemaQM = *rapyer.Schema[qm, *qm]

var born0 = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// addQM saves an object with the given name and age (age < 0: absent).
func addQM(t *testing.T, ctx context.Context, s schemaQM, st *rapyer.Store, name string, age int64, set func(*qm)) *qm {
	t.Helper()
	p := s.New(st)
	p.Name.Set(name)
	if age >= 0 {
		p.Age.Set(age)
		p.Born.Set(born0.AddDate(int(age), 0, 0))
	}
	p.Group.Set("g")
	p.Tags.SetLocal("t-" + name)
	if set != nil {
		set(p)
	}
	must(t, p.Save(ctx))
	return p
}

func names(objs []*qm) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Name.Get()
	}
	return out
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	sort.Strings(out)
	return out
}

// rapyer's filter cases, on every shard count.
func TestQueryFilters(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, sc := range []struct {
			s schemaQM
			q *qm
		}{{qms, q}, {qms16, q16}} {
			t.Run(sc.s.Name(), func(t *testing.T) {
				s, q := sc.s, sc.q
				cities := map[string]string{"Alice": "Paris", "Bob": "Lyon", "Charlie": "Paris", "Dave": "Lille"}
				scores := map[string]float64{"Alice": 250, "Bob": 300, "Charlie": 999.5, "Dave": 1000}
				for i, n := range []string{"Alice", "Bob", "Charlie", "Dave"} {
					addQM(t, ctx, s, b.Store, n, int64(25+5*i), func(p *qm) {
						p.Home.City.Set(cities[n])
						p.Home.Zip.Set("z" + n[:1])
						p.Score.Set(scores[n])
						p.Vip.Set(i%2 == 1)
						p.Note.Set(strings.ToLower(n))
						p.Status.Set([]qmStatus{"active", "banned"}[i%2])
					})
				}
				cut := born0.AddDate(33, 0, 0)
				for _, c := range []struct {
					name string
					pred rapyer.Pred
					opts []rapyer.QueryOption
					want []string
				}{
					{"age>30", q.Age.Gt(30), nil, []string{"Charlie", "Dave"}},
					{"age>=30 and name==Charlie", rapyer.And(q.Age.Gte(30), q.Name.Eq("Charlie")), nil, []string{"Charlie"}},
					{"25<age<40", rapyer.And(q.Age.Gt(25), q.Age.Lt(40)), nil, []string{"Bob", "Charlie"}},
					{"age<=25 or age>=40", rapyer.Or(q.Age.Lte(25), q.Age.Gte(40)), nil, []string{"Alice", "Dave"}},
					{"age!=30", q.Age.NotEq(30), nil, []string{"Alice", "Charlie", "Dave"}},
					{"name!=Alice", q.Name.NotEq("Alice"), nil, []string{"Bob", "Charlie", "Dave"}},
					{"not(age==30)", rapyer.Not(q.Age.Eq(30)), nil, []string{"Alice", "Charlie", "Dave"}},
					{"score in [300,1000)", rapyer.And(q.Score.Gte(300), q.Score.Lt(1000)), nil, []string{"Bob", "Charlie"}},
					{"born before cut-off", q.Born.Lt(cut), nil, []string{"Alice", "Bob"}},
					{"home.city==Paris", q.Home.City.Eq("Paris"), nil, []string{"Alice", "Charlie"}},
					{"home.city prefix L", q.Home.City.Prefix("L"), nil, []string{"Bob", "Dave"}},
					{"home.city!=Paris and age<40", rapyer.And(q.Home.City.NotEq("Paris"), q.Age.Lt(40)), nil, []string{"Bob"}},
					{"in", q.Age.In(25, 40, 41), nil, []string{"Alice", "Dave"}},
					{"in none", q.Age.In(), nil, nil},
					{"not in", rapyer.Not(q.Name.In("Bob", "Dave")), nil, []string{"Alice", "Charlie"}},
					{"prefix", q.Name.Prefix("Ch"), nil, []string{"Charlie"}},
					{"prefix empty", q.Name.Prefix(""), nil, []string{"Alice", "Bob", "Charlie", "Dave"}},
					{"not prefix", rapyer.Not(q.Name.Prefix("Ch")), nil, []string{"Alice", "Bob", "Dave"}},
					{"between", q.Age.Between(30, 35), nil, []string{"Bob", "Charlie"}},
					{"between reversed", q.Age.Between(35, 30), nil, nil},
					{"not between", rapyer.Not(q.Age.Between(30, 35)), nil, []string{"Alice", "Dave"}},
					{"vip", q.Vip.Eq(true), nil, []string{"Bob", "Dave"}},
					{"enum", q.Status.Eq("banned"), nil, []string{"Bob", "Dave"}},
					{"enum in", q.Status.In("active", "gone"), nil, []string{"Alice", "Charlie"}},
					{"no match", q.Age.Gt(100), nil, nil},
					{"all", rapyer.All(), nil, []string{"Alice", "Bob", "Charlie", "Dave"}},
					{"not all", rapyer.Not(rapyer.All()), nil, nil},
					{"empty and", rapyer.And(), nil, []string{"Alice", "Bob", "Charlie", "Dave"}},
					{"empty or", rapyer.Or(), nil, nil},
					{"de morgan", rapyer.Not(rapyer.Or(q.Age.Lt(30), q.Name.Eq("Dave"))), nil, []string{"Bob", "Charlie"}},
					{"nested or in and", rapyer.And(q.Home.City.Eq("Paris"), rapyer.Or(q.Age.Eq(25), q.Vip.Eq(true))), nil, []string{"Alice"}},
					{"or of ands", rapyer.Or(rapyer.And(q.Age.Gte(35), q.Vip.Eq(false)), q.Name.Eq("Alice")), nil, []string{"Alice", "Charlie"}},
					{"filter on unindexed", rapyer.And(q.Age.Gte(30), q.Note.Eq("dave")), nil, []string{"Dave"}},
					{"filter on unindexed nested", rapyer.And(q.Age.Gte(25), q.Home.Zip.In("zA", "zB")), nil, []string{"Alice", "Bob"}},
					{"scan", q.Note.Prefix("c"), []rapyer.QueryOption{rapyer.Scan()}, []string{"Charlie"}},
					{"scan or", rapyer.Or(q.Note.Eq("bob"), q.Age.Eq(40)), []rapyer.QueryOption{rapyer.Scan()}, []string{"Bob", "Dave"}},
				} {
					t.Run(c.name, func(t *testing.T) {
						got, err := s.Find(ctx, b.Store, c.pred, c.opts...)
						must(t, err)
						if g := sorted(names(got)); !slices.Equal(g, c.want) {
							t.Fatalf("Find: %v, want %v", g, c.want)
						}
						ids, err := s.FindIDs(ctx, b.Store, c.pred, c.opts...)
						must(t, err)
						n, err := s.Count(ctx, b.Store, c.pred, c.opts...)
						must(t, err)
						if len(ids) != len(c.want) || n != len(c.want) {
							t.Fatalf("FindIDs %d ids, Count %d, want %d", len(ids), n, len(c.want))
						}
						// Results are ordered by id.
						for i := range got {
							if got[i].ID() != ids[i] || i > 0 && ids[i-1] >= ids[i] {
								t.Fatalf("ids %v not in id order or not Find's", ids)
							}
						}
						// Loaded objects are whole.
						for _, o := range got {
							if tags := o.Tags.Local(); len(tags) != 1 || tags[0] != "t-"+o.Name.Get() || o.Group.Get() != "g" {
								t.Fatalf("loaded %s: tags %v", o.Name.Get(), tags)
							}
						}
					})
				}
			})
		}
	})
}

// An absent field matches no comparison, negated or not.
func TestQueryAbsentFields(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		addQM(t, ctx, qms, b.Store, "Ann", 30, nil)
		addQM(t, ctx, qms, b.Store, "Eve", -1, nil) // no age
		for _, c := range []struct {
			name string
			pred rapyer.Pred
			want int
		}{
			{"eq", q.Age.Eq(30), 1},
			{"noteq", q.Age.NotEq(30), 0},
			{"not eq", rapyer.Not(q.Age.Eq(30)), 0},
			{"not noteq", rapyer.Not(q.Age.NotEq(30)), 1},
			{"not in none", rapyer.Not(q.Age.In()), 1},
			{"name", q.Name.NotEq("x"), 2},
			{"or", rapyer.Or(q.Age.Gt(0), q.Name.Eq("Eve")), 2},
		} {
			n, err := qms.Count(ctx, b.Store, c.pred)
			must(t, err)
			if n != c.want {
				t.Fatalf("%s: %d, want %d", c.name, n, c.want)
			}
		}
		// Sorting by a field some objects lack: they come first ascending,
		// last descending.
		got, err := qms.Find(ctx, b.Store, rapyer.All(), rapyer.Asc(&q.Age))
		must(t, err)
		if g := names(got); !slices.Equal(g, []string{"Eve", "Ann"}) {
			t.Fatalf("asc %v", g)
		}
		got, err = qms.Find(ctx, b.Store, rapyer.All(), rapyer.Desc(&q.Age))
		must(t, err)
		if g := names(got); !slices.Equal(g, []string{"Ann", "Eve"}) {
			t.Fatalf("desc %v", g)
		}
	})
}

func TestQueryErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		addQM(t, ctx, qms, b.Store, "Ann", 30, nil)
		other := qmsTTL.Fields()
		var unnamed types.Int
		for _, c := range []struct {
			name     string
			pred     rapyer.Pred
			opts     []rapyer.QueryOption
			mentions []string
		}{
			{"zero pred", rapyer.Pred{}, nil, []string{"zero Pred"}},
			{"zero pred inside", rapyer.And(q.Age.Eq(1), rapyer.Pred{}), nil, []string{"zero Pred"}},
			{"other model", other.Age.Eq(1), nil, []string{`"qmttl"`}},
			{"unnamed handle", unnamed.Eq(1), nil, []string{"Schema.Fields"}},
			{"unindexed alone", q.Note.Eq("x"), nil, []string{`"note"`, "Scan()"}},
			{"unindexed in or", rapyer.Or(q.Age.Eq(1), q.Home.Zip.Eq("x")), nil, []string{`"home.zip"`}},
			{"unindexed and", rapyer.And(q.Note.Eq("x"), q.Home.Zip.Eq("x")), nil, []string{`"note"`, `"home.zip"`}},
			{"order unindexed", rapyer.All(), []rapyer.QueryOption{rapyer.Asc(&q.Note)}, []string{`"note"`}},
			{"order other model", rapyer.All(), []rapyer.QueryOption{rapyer.Asc(&other.Age)}, []string{"OrderBy"}},
			{"order container", rapyer.All(), []rapyer.QueryOption{rapyer.Asc(&q.Tags)}, []string{"OrderBy"}},
			{"prefix non-string", rapyer.Pred(index.PrefixOf(index.Pred(q.Age.Eq(5)))), nil, []string{"Prefix", `"age"`}},
			{"nan", q.Score.Eq(math.NaN()), nil, []string{`"score"`}},
			{"bad time", q.Born.Lt(time.Time{}), nil, []string{`"born"`}},
			{"limit", rapyer.All(), []rapyer.QueryOption{rapyer.Limit(-1)}, []string{"Limit"}},
			{"offset", rapyer.All(), []rapyer.QueryOption{rapyer.Offset(-2)}, []string{"Offset"}},
			{"page", rapyer.All(), []rapyer.QueryOption{rapyer.PageSize(0)}, []string{"PageSize"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				rt, _ := b.Count(func() {
					_, err := qms.Find(ctx, b.Store, c.pred, c.opts...)
					wantErr(t, err, rapyer.ErrInvalid, c.mentions...)
					_, err = qms.FindIDs(ctx, b.Store, c.pred, c.opts...)
					wantErr(t, err, rapyer.ErrInvalid, c.mentions...)
					_, err = qms.Count(ctx, b.Store, c.pred, c.opts...)
					wantErr(t, err, rapyer.ErrInvalid, c.mentions...)
					_, err = qms.DeleteWhere(ctx, b.Store, c.pred, c.opts...)
					wantErr(t, err, rapyer.ErrInvalid, c.mentions...)
					_, err = qms.FindOne(ctx, b.Store, c.pred, c.opts...)
					wantErr(t, err, rapyer.ErrInvalid, c.mentions...)
					for _, err := range qms.Iter(ctx, b.Store, c.pred, c.opts...) {
						wantErr(t, err, rapyer.ErrInvalid, c.mentions...)
					}
				})
				if rt != 0 {
					t.Fatalf("%d round trips for a refused query", rt)
				}
			})
		}
		// A model without indexes cannot be queried.
		_, err := users.Find(ctx, b.Store, rapyer.All())
		wantErr(t, err, rapyer.ErrInvalid, "no indexed field")
		// FindOne of nothing.
		_, err = qms.FindOne(ctx, b.Store, q.Age.Eq(99))
		wantErr(t, err, rapyer.ErrNotFound)
		// Queries refuse a queue context, and queue nothing.
		err = b.Store.Batch(ctx, func(qc context.Context) error {
			_, err := qms.Find(qc, b.Store, q.Age.Eq(30))
			wantErr(t, err, rapyer.ErrInvalid, "queued")
			_, err = qms.FindIDs(qc, b.Store, q.Age.Eq(30))
			wantErr(t, err, rapyer.ErrInvalid, "queued")
			_, err = qms.FindOne(qc, b.Store, q.Age.Eq(30))
			wantErr(t, err, rapyer.ErrInvalid, "queued")
			_, err = qms.Count(qc, b.Store, q.Age.Eq(30))
			wantErr(t, err, rapyer.ErrInvalid, "queued")
			_, err = qms.DeleteWhere(qc, b.Store, q.Age.Eq(30))
			wantErr(t, err, rapyer.ErrInvalid, "queued")
			for _, err := range qms.Iter(qc, b.Store, q.Age.Eq(30)) {
				wantErr(t, err, rapyer.ErrInvalid, "queued")
			}
			return nil
		})
		must(t, err)
		// The probe does no I/O.
		_, err = q.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrUnbound)
		// Stored data that does not decode is ErrDecode naming the field.
		bad := addQM(t, ctx, qms, b.Store, "Bad", 31, nil)
		b.Do(t, "HSET", bad.Key(), "born", "soon")
		_, err = qms.Find(ctx, b.Store, q.Age.Eq(31))
		wantErr(t, err, rapyer.ErrDecode, "born")
	})
}

// Many matches: every one returned (no silent cap), counted and deleted.
func TestQueryManyMatches(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, c := range []struct {
			s schemaQM
			q *qm
			n int
		}{{qms, q, 250}, {qms, q, 1001}, {qms, q, 2500}, {qms16, q16, 1001}} {
			t.Run(fmt.Sprintf("%s/%d", c.s.Name(), c.n), func(t *testing.T) {
				group := "n" + strconv.Itoa(c.n)
				objs := make([]*qm, c.n)
				for i := range objs {
					p := c.s.New(b.Store)
					p.Name.Set("p" + strconv.Itoa(i))
					p.Age.Set(int64(i % 50))
					p.Group.Set(group)
					objs[i] = p
				}
				must(t, c.s.SaveMany(ctx, objs))
				// Others in the same model that do not match.
				addQM(t, ctx, c.s, b.Store, "other", 1, nil)
				pred := c.q.Group.Eq(group)
				got, err := c.s.Find(ctx, b.Store, pred)
				must(t, err)
				ids, err := c.s.FindIDs(ctx, b.Store, pred)
				must(t, err)
				n, err := c.s.Count(ctx, b.Store, pred)
				must(t, err)
				if len(got) != c.n || len(ids) != c.n || n != c.n {
					t.Fatalf("Find %d, FindIDs %d, Count %d, want %d", len(got), len(ids), n, c.n)
				}
				// A range over another field, filtered by the group.
				n, err = c.s.Count(ctx, b.Store, rapyer.And(pred, c.q.Age.Lt(10)))
				must(t, err)
				if n != c.n/50*10+min(c.n%50, 10) {
					t.Fatalf("Count age<10: %d", n)
				}
				del, err := c.s.DeleteWhere(ctx, b.Store, pred)
				must(t, err)
				if del != c.n {
					t.Fatalf("DeleteWhere %d, want %d", del, c.n)
				}
				for _, o := range []*qm{objs[0], objs[c.n-1]} {
					if ok, _ := o.Exists(ctx); ok {
						t.Fatal("DeleteWhere left an object")
					}
				}
				n, err = c.s.Count(ctx, b.Store, pred)
				must(t, err)
				all, err := c.s.Count(ctx, b.Store, rapyer.All())
				must(t, err)
				if n != 0 || all < 1 {
					t.Fatalf("after DeleteWhere: Count %d, all %d", n, all)
				}
				del, err = c.s.DeleteWhere(ctx, b.Store, pred)
				must(t, err)
				if del != 0 {
					t.Fatalf("second DeleteWhere %d", del)
				}
				// Index entries of the deleted objects are gone.
				for _, f := range []string{"group", "age", "name"} {
					for _, id := range indexIDs(t, b, c.s.Name(), f) {
						if id != "" && strings.HasPrefix(id, objs[0].ID()) {
							t.Fatalf("index %s kept a deleted id", f)
						}
					}
				}
				_, err = c.s.DeleteWhere(ctx, b.Store, rapyer.All())
				must(t, err)
			})
		}
	})
}

// qmOrder is the expected order of objs by (age, id), or its reverse.
func qmOrder(objs []*qm, desc bool) []string {
	c := slices.Clone(objs)
	slices.SortFunc(c, func(x, y *qm) int {
		r := func() int {
			if d := x.Age.Get() - y.Age.Get(); d != 0 {
				if d < 0 {
					return -1
				}
				return 1
			}
			return strings.Compare(x.ID(), y.ID())
		}()
		if desc {
			return -r
		}
		return r
	})
	out := make([]string, len(c))
	for i, o := range c {
		out[i] = o.ID()
	}
	return out
}

func idsOf(objs []*qm) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID()
	}
	return out
}

// Sorting with Limit and Offset: same results on 1 and 16 shards, ties by
// id, with the sort field driving and with another driver.
func TestQueryOrder(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		rng := rand.New(rand.NewPCG(1, 2))
		var ids []string
		saved := map[string][]*qm{}
		for i := 0; i < 120; i++ {
			id := fmt.Sprintf("id-%03d-%d", rng.IntN(1000), i)
			ids = append(ids, id)
			age := int64(rng.IntN(12)) - 3 // ties, negatives
			for _, s := range []schemaQM{qms, qms16} {
				p, err := s.NewWithID(b.Store, id)
				must(t, err)
				p.Name.Set("n" + strconv.Itoa(i))
				p.Age.Set(age)
				p.Vip.Set(i%3 == 0)
				p.Group.Set("g")
				must(t, p.Save(ctx))
				saved[s.Name()] = append(saved[s.Name()], p)
			}
		}
		objs := saved["qm"]
		filter := func(f func(*qm) bool) []*qm {
			var out []*qm
			for _, o := range objs {
				if f(o) {
					out = append(out, o)
				}
			}
			return out
		}
		window := func(xs []string, off, lim int) []string {
			xs = xs[min(off, len(xs)):]
			if lim >= 0 && len(xs) > lim {
				xs = xs[:lim]
			}
			return xs
		}
		type qcase struct {
			name  string
			pred  func(q *qm) rapyer.Pred
			match func(*qm) bool
		}
		for _, c := range []qcase{
			{"all", func(q *qm) rapyer.Pred { return rapyer.All() }, func(*qm) bool { return true }},
			{"range on sort field", func(q *qm) rapyer.Pred { return q.Age.Gte(2) }, func(o *qm) bool { return o.Age.Get() >= 2 }},
			{"noteq on sort field", func(q *qm) rapyer.Pred { return q.Age.NotEq(4) }, func(o *qm) bool { return o.Age.Get() != 4 }},
			{"other driver", func(q *qm) rapyer.Pred { return q.Vip.Eq(true) }, func(o *qm) bool { return o.Vip.Get() }},
			{"and", func(q *qm) rapyer.Pred { return rapyer.And(q.Vip.Eq(false), q.Age.Lt(5)) }, func(o *qm) bool { return !o.Vip.Get() && o.Age.Get() < 5 }},
			{"or", func(q *qm) rapyer.Pred { return rapyer.Or(q.Vip.Eq(true), q.Age.Eq(0)) }, func(o *qm) bool { return o.Vip.Get() || o.Age.Get() == 0 }},
		} {
			match := filter(c.match)
			for _, desc := range []bool{false, true} {
				for _, w := range [][2]int{{0, -1}, {0, 1}, {0, 7}, {5, 10}, {33, 5}, {200, 3}} {
					name := fmt.Sprintf("%s/desc=%v/off=%d/lim=%d", c.name, desc, w[0], w[1])
					want := window(qmOrder(match, desc), w[0], w[1])
					var byShards [][]string
					for _, s := range []schemaQM{qms, qms16} {
						qq := q
						if s == qms16 {
							qq = q16
						}
						opts := []rapyer.QueryOption{rapyer.OrderBy(&qq.Age, desc), rapyer.Offset(w[0])}
						if w[1] >= 0 {
							opts = append(opts, rapyer.Limit(w[1]))
						}
						got, err := s.Find(ctx, b.Store, c.pred(qq), opts...)
						must(t, err)
						gotIDs, err := s.FindIDs(ctx, b.Store, c.pred(qq), opts...)
						must(t, err)
						if !slices.Equal(idsOf(got), want) || !slices.Equal(gotIDs, want) {
							t.Fatalf("%s on %s:\n got %v\nwant %v", name, s.Name(), idsOf(got), want)
						}
						byShards = append(byShards, gotIDs)
					}
					if !slices.Equal(byShards[0], byShards[1]) {
						t.Fatalf("%s: 1 and 16 shards differ", name)
					}
				}
			}
			// By id, with a window.
			wantIDs := idsOf(match)
			sort.Strings(wantIDs)
			for _, s := range []schemaQM{qms, qms16} {
				qq := q
				if s == qms16 {
					qq = q16
				}
				got, err := s.FindIDs(ctx, b.Store, c.pred(qq), rapyer.Offset(3), rapyer.Limit(4))
				must(t, err)
				if !slices.Equal(got, window(wantIDs, 3, 4)) {
					t.Fatalf("%s by id on %s: %v, want %v", c.name, s.Name(), got, window(wantIDs, 3, 4))
				}
			}
		}
		// FindOne takes the first in order.
		first, err := qms.FindOne(ctx, b.Store, q.Vip.Eq(true), rapyer.Desc(&q.Age))
		must(t, err)
		if want := qmOrder(filter(func(o *qm) bool { return o.Vip.Get() }), true)[0]; first.ID() != want {
			t.Fatalf("FindOne %s, want %s", first.ID(), want)
		}
		_ = ids
	})
}

// Iter streams everything in order, page by page.
func TestQueryIter(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for i := 0; i < 95; i++ {
			addQM(t, ctx, qms16, b.Store, "n"+strconv.Itoa(i), int64(i%17), func(p *qm) {
				p.Vip.Set(i%4 == 0)
				p.Note.Set(strconv.Itoa(i % 3))
			})
		}
		collect := func(pred rapyer.Pred, opts ...rapyer.QueryOption) ([]string, int) {
			var out []string
			rt, _ := b.Count(func() {
				for o, err := range qms16.Iter(ctx, b.Store, pred, opts...) {
					must(t, err)
					out = append(out, o.ID())
				}
			})
			return out, rt
		}
		for _, c := range []struct {
			name string
			pred rapyer.Pred
			opts []rapyer.QueryOption
		}{
			{"all by id", rapyer.All(), nil},
			{"all by age", rapyer.All(), []rapyer.QueryOption{rapyer.Asc(&q16.Age)}},
			{"range by age desc", q16.Age.Gte(3), []rapyer.QueryOption{rapyer.Desc(&q16.Age)}},
			{"other driver by age", q16.Vip.Eq(false), []rapyer.QueryOption{rapyer.Asc(&q16.Age)}},
			{"eq by id", q16.Vip.Eq(false), nil},
			{"noteq by age desc", q16.Age.NotEq(5), []rapyer.QueryOption{rapyer.Desc(&q16.Age)}},
			{"in by age", q16.Age.In(1, 3, 5, 7, 16), []rapyer.QueryOption{rapyer.Asc(&q16.Age)}},
			{"in by id", q16.Age.In(1, 3, 5, 7, 16), nil},
			{"scan", q16.Note.Eq("0"), []rapyer.QueryOption{rapyer.Scan(), rapyer.Desc(&q16.Age)}},
			{"or by id", rapyer.Or(q16.Vip.Eq(true), q16.Age.Eq(3)), nil},
			{"window", q16.Age.Lt(10), []rapyer.QueryOption{rapyer.Asc(&q16.Age), rapyer.Offset(4), rapyer.Limit(30)}},
		} {
			t.Run(c.name, func(t *testing.T) {
				want, err := qms16.FindIDs(ctx, b.Store, c.pred, c.opts...)
				must(t, err)
				if len(want) < 10 {
					t.Fatalf("only %d matches: a weak case", len(want))
				}
				got, rt := collect(c.pred, append(c.opts, rapyer.PageSize(7))...)
				if !slices.Equal(got, want) {
					t.Fatalf("Iter:\n got %v\nwant %v", got, want)
				}
				// Two round trips per page (query, load); the last page may
				// be the empty one.
				pages := len(want)/7 + 1
				if rt > 2*pages || rt < 2*(len(want)/7) {
					t.Fatalf("%d round trips for %d objects in pages of 7", rt, len(want))
				}
				got, _ = collect(c.pred, c.opts...)
				if !slices.Equal(got, want) {
					t.Fatalf("Iter with default page: %v", got)
				}
			})
		}
		// Stopping early stops the stream.
		n := 0
		for range qms16.Iter(ctx, b.Store, rapyer.All(), rapyer.PageSize(10)) {
			n++
			if n == 15 {
				break
			}
		}
		if n != 15 {
			t.Fatalf("broke after %d", n)
		}
	})
}

// qmOrderAbsentFirst orders by (age, id) with absent ages first, or the
// reverse.
func qmOrderAbsentFirst(objs []*qm, desc bool) []string {
	c := slices.Clone(objs)
	key := func(o *qm) (bool, int64) { v, ok := o.Age.Lookup(); return ok, v }
	slices.SortFunc(c, func(x, y *qm) int {
		xo, xv := key(x)
		yo, yv := key(y)
		r := 0
		switch {
		case xo != yo && !xo:
			r = -1
		case xo != yo:
			r = 1
		case xv != yv:
			r = cmpOrd(xv, yv)
		default:
			r = strings.Compare(x.ID(), y.ID())
		}
		if desc {
			return -r
		}
		return r
	})
	return idsOf(c)
}

// Book is the query example's model: Index() on the fields queries use.
type Book struct {
	rapyer.Model
	Title  types.Str
	Author types.Str
	Year   types.Int
	Price  types.Float
}

var Books = rapyer.Define("book", func(b *Book) rapyer.Fields {
	return rapyer.Fields{
		b.Title.Named("title"),
		b.Author.Named("author").Index(),
		b.Year.Named("year").Index(),
		b.Price.Named("price"), // no index: usable as a filter
	}
})

func ExampleSchema_Find() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	for _, b := range []struct {
		title, author string
		year          int64
		price         float64
	}{
		{"Emma", "Austen", 1815, 8}, {"Persuasion", "Austen", 1817, 9.5},
		{"Middlemarch", "Eliot", 1871, 12}, {"Ulysses", "Joyce", 1922, 15},
		{"Dubliners", "Joyce", 1914, 7},
	} {
		bk := Books.New(st)
		bk.Title.Set(b.title)
		bk.Author.Set(b.author)
		bk.Year.Set(b.year)
		bk.Price.Set(b.price)
		if err := bk.Save(ctx); err != nil {
			log.Fatal(err)
		}
	}

	// Predicates are built from a probe object's handles: typed values,
	// checked by the compiler.
	q := Books.Fields()
	old, err := Books.Find(ctx, st, rapyer.And(q.Year.Lt(1900), q.Price.Lte(10)), rapyer.Desc(&q.Year))
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range old {
		fmt.Println(b.Year.Get(), b.Title.Get())
	}
	n, _ := Books.Count(ctx, st, rapyer.Or(q.Author.Eq("Joyce"), q.Author.Prefix("El")))
	fmt.Println("Joyce or El*:", n)
	first, _ := Books.FindOne(ctx, st, rapyer.All(), rapyer.Asc(&q.Year))
	fmt.Println("oldest:", first.Title.Get())
	_, err = Books.Find(ctx, st, q.Price.Gt(10)) // no index on price
	fmt.Println(errors.Is(err, rapyer.ErrInvalid))
	// Output:
	// 1817 Persuasion
	// 1815 Emma
	// Joyce or El*: 3
	// oldest: Emma
	// true
}
