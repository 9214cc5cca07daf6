package rapyer_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

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

// randomQMs saves n objects of random values (some fields absent) under
// the same ids in qm and qm16, and returns them by model name.
func randomQMs(t *testing.T, b *testkit.Backend, rng *rand.Rand, n int, prefix string) map[string][]*qm {
	t.Helper()
	ctx := testkit.Ctx(t)
	objs := map[string][]*qm{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s%02d", prefix, rng.IntN(100)) + strconv.Itoa(i)
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
	return objs
}

// Random predicates against a filter in Go, with absent fields, on 1 and 16
// shards, by id and sorted with a window.
func TestQueryRandomPredicates(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		rng := rand.New(rand.NewPCG(11, 12))
		objs := randomQMs(t, b, rng, 60, "r")
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
