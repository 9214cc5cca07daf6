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
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/lua"
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
			{"prefix non-string", rapyer.PrefixPred(&q.Age.Scalar, 5), nil, []string{"Prefix", `"age"`}},
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
					for _, id := range indexIDs(t, b, c.s.Name(), f, 16) {
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
		var objs []*qm
		for i := 0; i < 95; i++ {
			objs = append(objs, addQM(t, ctx, qms16, b.Store, "n"+strconv.Itoa(i), int64(i%17), func(p *qm) {
				p.Vip.Set(i%4 == 0)
				p.Note.Set(strconv.Itoa(i % 3))
			}))
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

// Expired objects are never returned, and the query that meets their
// entries reclaims them.
func TestQueryExpired(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var keep, gone []*qm
		for i := 0; i < 10; i++ {
			p := addQM(t, ctx, qmsTTL, b.Store, "n"+strconv.Itoa(i), int64(20+i), nil)
			if i%2 == 0 {
				must(t, p.SetTTL(ctx, 50*time.Millisecond))
				gone = append(gone, p)
			} else {
				keep = append(keep, p)
			}
		}
		b.Elapse(150 * time.Millisecond)
		qt := qmsTTL.Fields()
		got, err := qmsTTL.FindIDs(ctx, b.Store, qt.Age.Gte(20), rapyer.Asc(&qt.Age))
		must(t, err)
		if !slices.Equal(got, idsOf(keep)) {
			t.Fatalf("after expiry: %v, want %v", got, idsOf(keep))
		}
		// The age index met every entry: the dead ones are gone from it, from
		// the other fields' indexes, x:all and x:rev.
		prefix := b.Prefix() + "{qmttl:0}:x:"
		for _, f := range []string{"age", "name", "born", "group"} {
			if ids := indexIDs(t, b, "qmttl", f, 1); len(ids) != len(keep) {
				t.Fatalf("index %s still holds %d entries", f, len(ids))
			}
		}
		if n, _ := redis.Int(b.Do(t, "ZCARD", prefix+"all")); n != len(keep) {
			t.Fatalf("x:all holds %d", n)
		}
		if n, _ := redis.Int(b.Do(t, "HLEN", prefix+"rev")); n != len(keep) {
			t.Fatalf("x:rev holds %d", n)
		}
		// Every query form skips the dead (a model-wide TTL running out).
		for _, p := range keep[:2] {
			must(t, p.SetTTL(ctx, 50*time.Millisecond))
		}
		b.Elapse(150 * time.Millisecond)
		n, err := qmsTTL.Count(ctx, b.Store, qt.Group.Eq("g"))
		must(t, err)
		objs, err := qmsTTL.Find(ctx, b.Store, rapyer.All())
		must(t, err)
		if n != 3 || len(objs) != 3 {
			t.Fatalf("Count %d, Find %d after the second expiry", n, len(objs))
		}
		if n, _ := redis.Int(b.Do(t, "ZCARD", prefix+"all")); n != 3 {
			t.Fatalf("x:all holds %d", n)
		}
		_ = gone
	})
}

// Model-wide TTL, time moved forward: nothing survives, everything is
// reclaimed by one query.
func TestQueryModelTTL(t *testing.T) {
	short := rapyer.Define("qmshort", qmFields, rapyer.WithTTL(80*time.Millisecond))
	qs := short.Fields()
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for i := 0; i < 5; i++ {
			addQM(t, ctx, short, b.Store, "n"+strconv.Itoa(i), int64(i), nil)
		}
		b.Elapse(200 * time.Millisecond)
		got, err := short.Find(ctx, b.Store, qs.Name.Prefix("n"))
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("expired objects returned: %v", names(got))
		}
		for _, f := range []string{"name", "age", "group"} {
			if ids := indexIDs(t, b, "qmshort", f, 1); len(ids) != 0 {
				t.Fatalf("index %s kept %d", f, len(ids))
			}
		}
		for _, k := range []string{"x:all", "x:rev"} {
			if n, _ := redis.Int(b.Do(t, "EXISTS", b.Prefix()+"{qmshort:0}:"+k)); n != 0 {
				t.Fatalf("%s left behind", k)
			}
		}
	})
}

// Round trips: FindIDs and Count one, Find two, on any shard count.
func TestQueryRoundTrips(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, sc := range []struct {
			s schemaQM
			q *qm
		}{{qms, q}, {qms16, q16}} {
			for i := 0; i < 20; i++ {
				addQM(t, ctx, sc.s, b.Store, "n"+strconv.Itoa(i), int64(i), nil)
			}
			pred := rapyer.And(sc.q.Age.Gte(5), sc.q.Note.NotEq("x"))
			for _, c := range []struct {
				name string
				run  func() error
				want int
			}{
				{"FindIDs", func() error { _, err := sc.s.FindIDs(ctx, b.Store, pred, rapyer.Limit(3)); return err }, 1},
				{"Count", func() error { _, err := sc.s.Count(ctx, b.Store, sc.q.Age.Gte(5)); return err }, 1},
				{"Find", func() error { _, err := sc.s.Find(ctx, b.Store, sc.q.Age.Gte(5), rapyer.Desc(&sc.q.Age)); return err }, 2},
				{"FindOne", func() error { _, err := sc.s.FindOne(ctx, b.Store, sc.q.Name.Eq("n3")); return err }, 2},
				{"none", func() error { _, err := sc.s.Find(ctx, b.Store, sc.q.Age.In()); return err }, 0},
			} {
				rt, cmds := b.Count(func() { must(t, c.run()) })
				if rt != c.want {
					t.Fatalf("%s on %s: %d round trips, want %d (%v)", c.name, sc.s.Name(), rt, c.want, cmds)
				}
			}
		}
	})
}

// Find refreshes the TTL of what it loads as Get does; FindIDs and Count
// read no object and refresh nothing.
func TestQueryTTLRefresh(t *testing.T) {
	const lowered = 100_000
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, c := range []struct {
			s       schemaQM
			refresh bool
		}{{qmsTTL, true}, {qmsNoRef, false}} {
			qq := c.s.Fields()
			p := addQM(t, ctx, c.s, b.Store, "Ann", 30, nil)
			lower := func() {
				for _, k := range p.Keys() {
					b.Do(t, "PEXPIRE", k, lowered)
				}
			}
			check := func(op string, refreshed bool) {
				t.Helper()
				for _, k := range p.Keys() {
					got := b.PTTL(t, k)
					if refreshed && got < 3_000_000 || !refreshed && (got > lowered || got < 0) {
						t.Fatalf("%s on %s: PTTL of %s is %d", op, c.s.Name(), k, got)
					}
				}
			}
			for _, o := range []struct {
				name  string
				run   func() error
				loads bool
			}{
				{"Find", func() error { _, err := c.s.Find(ctx, b.Store, qq.Age.Eq(30)); return err }, true},
				{"FindOne", func() error { _, err := c.s.FindOne(ctx, b.Store, qq.Age.Eq(30)); return err }, true},
				{"Iter", func() error {
					for _, err := range c.s.Iter(ctx, b.Store, qq.Age.Eq(30)) {
						return err
					}
					return nil
				}, true},
				{"FindIDs", func() error { _, err := c.s.FindIDs(ctx, b.Store, qq.Age.Eq(30)); return err }, false},
				{"Count", func() error { _, err := c.s.Count(ctx, b.Store, qq.Age.Eq(30)); return err }, false},
			} {
				lower()
				must(t, o.run())
				check(o.name, o.loads && c.refresh)
			}
		}
	})
}

// sortKeySrc is lua/index.lua (with the prelude) followed by a body that
// returns idx_key(kind, text) for each pair of ARGV (false: nil).
func sortKeySrc(t *testing.T) string {
	t.Helper()
	src := lua.Query.Src()
	i := strings.Index(src, "-- query.lua:")
	if i < 0 {
		t.Fatal("query.lua header not found")
	}
	return src[:i] + `
local out = {}
for i = 1, #ARGV, 2 do out[#out + 1] = idx_key(ARGV[i], ARGV[i + 1]) or false end
return out
`
}

// keyCase is one value of one kind: its stored text and Go's sort key.
type keyCase struct {
	kind string
	text string
	key  string
	ok   bool
}

// sortKeyCases encodes edge values and random ones of every kind with the
// probe's handles (so with the fields' codecs).
func sortKeyCases(t *testing.T, rng *rand.Rand, n int) []keyCase {
	t.Helper()
	var out []keyCase
	add := func(kind string, text []byte, key string, err error) {
		out = append(out, keyCase{kind, string(text), key, err == nil})
	}
	ints := []int64{0, 1, -1, 9, 10, -9, -10, 99, 100, -100, 123456789, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 53, -(1 << 53)}
	for p := int64(1); p < math.MaxInt64/10; p *= 10 {
		ints = append(ints, p, p-1, -p, -p+1)
	}
	floats := []float64{0, math.Copysign(0, -1), 5e-324, -5e-324, 1e308, -1e308, math.MaxFloat64, -math.MaxFloat64, 1e21, 1e-7, -1e-7, 1e20, 1e-5, 0.1, 0.2, 0.3, 1.5, -1.5, 100, 1000, 999.5, 123456789012345680000, 2.2250738585072014e-308, 1 << 53, -(1 << 60)}
	strs := []string{"", "a", "\x00", "\x01", "\x02", "\xff", "a\x00b", "a\x01", "\x00\x00", "\x01\x01", "\xff\xff\x00", "Z", "é", "ab", "a\xff"}
	for i := 0; i < n; i++ {
		ints = append(ints, int64(rng.Uint64()), rng.Int64N(1000)-500, int64(rng.Uint64())>>rng.IntN(63))
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			floats = append(floats, f)
		}
		floats = append(floats, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(40)-20)))
		bs := make([]byte, rng.IntN(6))
		for j := range bs {
			bs[j] = []byte{0, 1, 2, 'a', 0xfe, 0xff}[rng.IntN(6)]
		}
		strs = append(strs, string(bs))
	}
	for _, v := range ints {
		txt, err := q.Age.Encode(v)
		must(t, err)
		k, err := rapyer.SortKey(&q.Age.Scalar, v)
		add("i", txt, k, err)
	}
	for _, v := range floats {
		txt, err := q.Score.Encode(v)
		must(t, err)
		k, err := rapyer.SortKey(&q.Score.Scalar, v)
		add("f", txt, k, err)
	}
	for _, v := range strs {
		k, err := rapyer.SortKey(&q.Name.Scalar, v)
		add("s", []byte(v), k, err)
	}
	for _, v := range []bool{false, true} {
		txt, _ := q.Vip.Encode(v)
		k, err := rapyer.SortKey(&q.Vip.Scalar, v)
		add("b", txt, k, err)
	}
	for _, v := range []time.Time{time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64), time.Unix(0, 0), born0, time.Unix(-1, 0)} {
		txt, err := q.Born.Encode(v)
		must(t, err)
		k, err := rapyer.SortKey(&q.Born.Scalar, v)
		add("i", txt, k, err)
	}
	return out
}

// Go's sort keys are lua/index.lua's, byte for byte: computed by the script
// directly, and read back from the indexes of stored objects.
func TestSortKeyMatchesLua(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		src := sortKeySrc(t)
		cases := sortKeyCases(t, rand.New(rand.NewPCG(7, 9)), 400)
		for start := 0; start < len(cases); start += 200 {
			part := cases[start:min(start+200, len(cases))]
			args := []any{src, 0}
			for _, c := range part {
				args = append(args, c.kind, c.text)
			}
			r, err := redis.Values(b.Do(t, "EVAL", args...))
			must(t, err)
			for i, c := range part {
				lk, isStr := r[i].([]byte)
				if !c.ok || !isStr || string(lk) != c.key {
					t.Fatalf("kind %s text %q: Go %q (ok %v), Lua %q", c.kind, c.text, c.key, c.ok, r[i])
				}
			}
		}
		// Stored values: the members of x:i start with Go's key.
		for i, c := range cases {
			if i%3 != 0 && i > 100 {
				continue // a sample is enough for the round trip through Save
			}
			p := qms.New(b.Store)
			switch c.kind {
			case "i":
				v, err := strconv.ParseInt(c.text, 10, 64)
				must(t, err)
				p.Age.Set(v)
			case "f":
				v, err := strconv.ParseFloat(c.text, 64)
				must(t, err)
				p.Score.Set(v)
			case "s":
				p.Name.Set(c.text)
			case "b":
				p.Vip.Set(c.text == "1")
			}
			must(t, p.Save(ctx))
			field := map[string]string{"i": "age", "f": "score", "s": "name", "b": "vip"}[c.kind]
			key := b.Prefix() + "{qm:0}:x:i:" + field
			ms, err := redis.Strings(b.Do(t, "ZRANGEBYLEX", key, "["+c.key+"\x00"+p.ID(), "["+c.key+"\x00"+p.ID()))
			must(t, err)
			if len(ms) != 1 {
				all, _ := redis.Strings(b.Do(t, "ZRANGE", key, 0, -1))
				t.Fatalf("%s %q: member with Go key %q not in the index: %q", c.kind, c.text, c.key, all)
			}
			_, err = p.Delete(ctx)
			must(t, err)
		}
		// Byte order of keys is value order.
		for _, kind := range []string{"i", "f", "s"} {
			var cs []keyCase
			for _, c := range cases {
				if c.kind == kind {
					cs = append(cs, c)
				}
			}
			less := func(x, y keyCase) int {
				switch kind {
				case "i":
					a, _ := strconv.ParseInt(x.text, 10, 64)
					b, _ := strconv.ParseInt(y.text, 10, 64)
					return cmpOrd(a, b)
				case "f":
					a, _ := strconv.ParseFloat(x.text, 64)
					b, _ := strconv.ParseFloat(y.text, 64)
					return cmpOrd(a, b)
				}
				return strings.Compare(x.text, y.text)
			}
			for i := range cs {
				for j := range cs {
					if got, want := strings.Compare(cs[i].key, cs[j].key), less(cs[i], cs[j]); got != want {
						t.Fatalf("%s: %q vs %q: keys compare %d, values %d", kind, cs[i].text, cs[j].text, got, want)
					}
				}
			}
		}
	})
}

func cmpOrd[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FuzzSortKey compares Go's sort keys with the script's on the embedded
// server for arbitrary values of every kind.
func FuzzSortKey(f *testing.F) {
	f.Add(int64(0), 0.0, "")
	f.Add(int64(math.MinInt64), 5e-324, "\x00\x01\xff")
	f.Add(int64(math.MaxInt64), -1e308, "a\x00")
	f.Add(int64(-10), 1e21, "\x01\x02")
	f.Add(int64(100), -1e-7, "\xff")
	f.Fuzz(func(t *testing.T, i int64, x float64, s string) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
			src := sortKeySrc(t)
			ti, _ := q.Age.Encode(i)
			tf, _ := q.Score.Encode(x)
			ki, err := rapyer.SortKey(&q.Age.Scalar, i)
			must(t, err)
			kf, err := rapyer.SortKey(&q.Score.Scalar, x)
			must(t, err)
			ks, err := rapyer.SortKey(&q.Name.Scalar, s)
			must(t, err)
			r, err := redis.Strings(b.Do(t, "EVAL", src, 0, "i", ti, "f", tf, "s", s))
			must(t, err)
			if r[0] != ki || r[1] != kf || r[2] != ks {
				t.Fatalf("Lua %q, Go %q %q %q", r, ki, kf, ks)
			}
		})
	})
}

// Concurrent writers and queries: queries never fail, and once writes
// quiesce (and short TTLs have run out) every query returns exactly what a
// filter over the live objects gives, on 16 shards.
func TestQueryConcurrent(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		s, q := qms16, q16
		ids := make([]string, 40)
		for i := range ids {
			ids[i] = "c" + strconv.Itoa(i)
		}
		cities := []string{"Paris", "Lyon", "Lille", "Pau"}
		errs := make(chan error, 100)
		done := make(chan struct{})
		var writers, readers sync.WaitGroup
		for w := 0; w < 4; w++ {
			writers.Add(1)
			go func(seed uint64) {
				defer writers.Done()
				rng := rand.New(rand.NewPCG(seed, 3))
				for n := 0; n < 150; n++ {
					id := ids[rng.IntN(len(ids))]
					p, _ := s.NewWithID(b.Store, id)
					var err error
					switch rng.IntN(6) {
					case 0, 1:
						p.Name.Set("n" + strconv.Itoa(rng.IntN(5)))
						p.Age.Set(int64(rng.IntN(20)))
						p.Home.City.Set(cities[rng.IntN(len(cities))])
						p.Vip.Set(rng.IntN(2) == 0)
						err = p.Save(ctx)
					case 2:
						_, err = p.Age.Incr(ctx, int64(rng.IntN(5))-2)
					case 3:
						_, err = p.Delete(ctx)
					case 4:
						err = p.SetTTL(ctx, 5*time.Millisecond)
					case 5:
						p.Home.City.Clear()
						err = p.Update(ctx, &p.Home.City)
					}
					if err != nil && !errors.Is(err, rapyer.ErrNotFound) {
						errs <- err
						return
					}
				}
			}(uint64(w))
		}
		preds := []rapyer.Pred{
			q.Age.Gte(10),
			rapyer.And(q.Home.City.Eq("Paris"), q.Age.Lt(15)),
			rapyer.Or(q.Name.In("n1", "n2"), q.Vip.Eq(true)),
			rapyer.Not(q.Home.City.Prefix("L")),
			rapyer.All(),
		}
		for r := 0; r < 2; r++ {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					pred := preds[i%len(preds)]
					var err error
					switch i % 3 {
					case 0:
						_, err = s.Find(ctx, b.Store, pred, rapyer.Desc(&q.Age), rapyer.Limit(5))
					case 1:
						_, err = s.Count(ctx, b.Store, pred)
					case 2:
						for _, e := range s.Iter(ctx, b.Store, pred, rapyer.PageSize(3)) {
							if e != nil {
								err = e
							}
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		writers.Wait()
		close(done)
		readers.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		b.Elapse(50 * time.Millisecond)
		live, err := s.GetMany(ctx, b.Store, ids, rapyer.SkipMissing())
		must(t, err)
		checks := []func(*qm) bool{
			func(o *qm) bool { v, ok := o.Age.Lookup(); return ok && v >= 10 },
			func(o *qm) bool {
				c, ok := o.Home.City.Lookup()
				a, ok2 := o.Age.Lookup()
				return ok && ok2 && c == "Paris" && a < 15
			},
			func(o *qm) bool {
				n, ok := o.Name.Lookup()
				v, ok2 := o.Vip.Lookup()
				return ok && (n == "n1" || n == "n2") || ok2 && v
			},
			func(o *qm) bool { c, ok := o.Home.City.Lookup(); return ok && !strings.HasPrefix(c, "L") },
			func(*qm) bool { return true },
		}
		for i, pred := range preds {
			var want []string
			for _, o := range live {
				if checks[i](o) {
					want = append(want, o.ID())
				}
			}
			sort.Strings(want)
			got, err := s.FindIDs(ctx, b.Store, pred)
			must(t, err)
			if !slices.Equal(got, want) {
				t.Fatalf("predicate %d after quiescing: %v, want %v", i, got, want)
			}
		}
	})
}

// tpred is a test predicate: the rapyer.Pred and the same condition in Go
// (neg: evaluated under a Not, which negates comparisons, not presence).
type tpred struct {
	p    func(q *qm) rapyer.Pred
	eval func(o *qm, neg bool) bool
	text string
}

// randPred builds a random predicate tree over indexed and unindexed
// fields, leaves of every kind.
func randPred(rng *rand.Rand, depth int) tpred {
	leaf := func(text string, p func(q *qm) rapyer.Pred, present func(o *qm) bool, cond func(o *qm) bool) tpred {
		return tpred{p: p, text: text, eval: func(o *qm, neg bool) bool { return present(o) && cond(o) != neg }}
	}
	age := func(o *qm) bool { return o.Age.Present() }
	city := func(o *qm) bool { return o.Home.City.Present() }
	if depth == 0 || rng.IntN(3) == 0 {
		a, c := int64(rng.IntN(12)), []string{"Paris", "Lyon", "Lille", "Pau", "L", ""}[rng.IntN(6)]
		a2 := a + int64(rng.IntN(6)) - 1
		switch rng.IntN(11) {
		case 0:
			return leaf(fmt.Sprintf("age==%d", a), func(q *qm) rapyer.Pred { return q.Age.Eq(a) }, age, func(o *qm) bool { return o.Age.Get() == a })
		case 1:
			return leaf(fmt.Sprintf("age!=%d", a), func(q *qm) rapyer.Pred { return q.Age.NotEq(a) }, age, func(o *qm) bool { return o.Age.Get() != a })
		case 2:
			return leaf(fmt.Sprintf("age>%d", a), func(q *qm) rapyer.Pred { return q.Age.Gt(a) }, age, func(o *qm) bool { return o.Age.Get() > a })
		case 3:
			return leaf(fmt.Sprintf("age<=%d", a), func(q *qm) rapyer.Pred { return q.Age.Lte(a) }, age, func(o *qm) bool { return o.Age.Get() <= a })
		case 4:
			return leaf(fmt.Sprintf("age in [%d,%d]", a, a2), func(q *qm) rapyer.Pred { return q.Age.Between(a, a2) }, age, func(o *qm) bool { v := o.Age.Get(); return v >= a && v <= a2 })
		case 5:
			return leaf(fmt.Sprintf("age in {%d,%d}", a, a2), func(q *qm) rapyer.Pred { return q.Age.In(a, a2) }, age, func(o *qm) bool { v := o.Age.Get(); return v == a || v == a2 })
		case 6:
			return leaf("city=="+c, func(q *qm) rapyer.Pred { return q.Home.City.Eq(c) }, city, func(o *qm) bool { return o.Home.City.Get() == c })
		case 7:
			return leaf("city^="+c, func(q *qm) rapyer.Pred { return q.Home.City.Prefix(c) }, city, func(o *qm) bool { return strings.HasPrefix(o.Home.City.Get(), c) })
		case 8:
			return leaf("city>="+c, func(q *qm) rapyer.Pred { return q.Home.City.Gte(c) }, city, func(o *qm) bool { return o.Home.City.Get() >= c })
		case 9:
			v := rng.IntN(2) == 0
			return leaf(fmt.Sprintf("vip==%v", v), func(q *qm) rapyer.Pred { return q.Vip.Eq(v) }, func(o *qm) bool { return o.Vip.Present() },
				func(o *qm) bool { return o.Vip.Get() == v })
		default:
			n := strconv.Itoa(rng.IntN(4))
			return leaf("note<"+n, func(q *qm) rapyer.Pred { return q.Note.Lt(n) }, func(o *qm) bool { return o.Note.Present() },
				func(o *qm) bool { return o.Note.Get() < n })
		}
	}
	switch k := rng.IntN(5); k {
	case 0:
		x := randPred(rng, depth-1)
		return tpred{p: func(q *qm) rapyer.Pred { return rapyer.Not(x.p(q)) }, text: "not(" + x.text + ")",
			eval: func(o *qm, neg bool) bool { return x.eval(o, !neg) }}
	case 1:
		return tpred{p: func(*qm) rapyer.Pred { return rapyer.All() }, text: "all", eval: func(_ *qm, neg bool) bool { return !neg }}
	default:
		n := 1 + rng.IntN(3)
		kids := make([]tpred, n)
		var texts []string
		for i := range kids {
			kids[i] = randPred(rng, depth-1)
			texts = append(texts, kids[i].text)
		}
		and := k%2 == 0
		op, join := rapyer.Or, " or "
		if and {
			op, join = rapyer.And, " and "
		}
		return tpred{
			text: "(" + strings.Join(texts, join) + ")",
			p: func(q *qm) rapyer.Pred {
				ps := make([]rapyer.Pred, len(kids))
				for i, c := range kids {
					ps[i] = c.p(q)
				}
				return op(ps...)
			},
			eval: func(o *qm, neg bool) bool {
				all := and != neg // And, or a negated Or: every kid
				for _, c := range kids {
					if c.eval(o, neg) != all {
						return !all
					}
				}
				return all
			},
		}
	}
}

// Random predicates against a filter in Go, with absent fields, on 1 and 16
// shards, by id and sorted with a window.
func TestQueryRandomPredicates(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		rng := rand.New(rand.NewPCG(11, 12))
		objs := map[string][]*qm{}
		for i := 0; i < 60; i++ {
			id := fmt.Sprintf("r%02d", rng.IntN(100)) + strconv.Itoa(i)
			age, city := int64(rng.IntN(12)), []string{"Paris", "Lyon", "Lille", "Pau", "Laon", ""}[rng.IntN(6)]
			hasAge, hasCity, note := rng.IntN(5) > 0, rng.IntN(5) > 0, strconv.Itoa(rng.IntN(4))
			vip := rng.IntN(2) == 0
			for _, s := range []schemaQM{qms, qms16} {
				p, err := s.NewWithID(b.Store, id)
				must(t, err)
				if hasAge {
					p.Age.Set(age)
				}
				if hasCity {
					p.Home.City.Set(city)
				}
				p.Note.Set(note)
				p.Vip.Set(vip)
				must(t, p.Save(ctx))
				objs[s.Name()] = append(objs[s.Name()], p)
			}
		}
		scanned, selective := 0, 0
		defer func() {
			// The cases are not trivial: most select some objects, some need Scan.
			t.Logf("%d scanned, %d selective", scanned, selective)
			if !t.Failed() && (scanned < 10 || selective < 150) {
				t.Errorf("weak cases: %d scanned, %d selective of 300", scanned, selective)
			}
		}()
		for i := 0; i < 150; i++ {
			tp := randPred(rng, 3)
			var want []*qm
			for _, o := range objs["qm"] {
				if tp.eval(o, false) {
					want = append(want, o)
				}
			}
			wantIDs := idsOf(want)
			sort.Strings(wantIDs)
			desc := rng.IntN(2) == 0
			off, lim := rng.IntN(5), rng.IntN(8)
			sorted := qmOrderAbsentFirst(want, desc)
			sorted = sorted[min(off, len(sorted)):]
			sorted = sorted[:min(lim, len(sorted))]
			for _, s := range []schemaQM{qms, qms16} {
				qq := q
				if s == qms16 {
					qq = q16
				}
				// Without Scan when an index can drive the query.
				scan := []rapyer.QueryOption{}
				got, err := s.FindIDs(ctx, b.Store, tp.p(qq))
				if errors.Is(err, rapyer.ErrInvalid) {
					wantErr(t, err, rapyer.ErrInvalid, `"note"`, "Scan()")
					scan = append(scan, rapyer.Scan())
					scanned++
					got, err = s.FindIDs(ctx, b.Store, tp.p(qq), scan...)
				}
				must(t, err)
				n, err := s.Count(ctx, b.Store, tp.p(qq), scan...)
				must(t, err)
				if len(wantIDs) > 0 && len(wantIDs) < len(objs["qm"]) {
					selective++
				}
				if !slices.Equal(got, wantIDs) || n != len(wantIDs) {
					t.Fatalf("%s on %s:\n got %v (count %d)\nwant %v", tp.text, s.Name(), got, n, wantIDs)
				}
				got, err = s.FindIDs(ctx, b.Store, tp.p(qq), append(scan, rapyer.OrderBy(&qq.Age, desc), rapyer.Offset(off), rapyer.Limit(lim))...)
				must(t, err)
				if !slices.Equal(got, sorted) {
					t.Fatalf("%s on %s sorted desc=%v [%d:+%d]:\n got %v\nwant %v", tp.text, s.Name(), desc, off, lim, got, sorted)
				}
			}
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
