package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestBulkQueued: SaveMany, InsertMany, DeleteMany, ExistsMany and
// DeleteKeys called with a queue context are queued like single
// operations: "insert three objects of two models and delete those keys"
// is one MULTI/EXEC; their return values come through Later.
func TestBulkQueued(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx, st := testkit.Ctx(t), b.Store
		old1, old2, oldP := twoModels(t, b, "Old")
		n1 := users.New(st)
		n2 := users.NewBeside(n1) // a later Tx holds both: one slot on a cluster
		fill(n1)
		fill(n2)
		np := people.New(st)
		np.Name.Set("New")
		var deleted *rapyer.Result[int]
		var byKey *rapyer.Result[rapyer.Deleted]
		var exists *rapyer.Result[[]bool]
		keys := []string{n1.Key(), n2.Key(), np.Key(), old1.Key(), old2.Key(), oldP.Key()}
		state := func() string {
			out := ""
			for _, k := range keys {
				n, err := redis.Int(b.Do(t, "EXISTS", k))
				must(t, err)
				out += fmt.Sprintf("%s %d\n", k, n)
			}
			return out
		}
		// Two models: on a cluster the Tx is refused, then run as a Batch
		// (TxAcross: each operation atomic alone, one round trip per node).
		trips, cmds, err := b.TxAcross(t, ctx, func(q context.Context) error {
			if err := users.InsertMany(q, []*user{n1, n2}); err != nil {
				return err
			}
			if err := people.InsertMany(q, []*person{np}); err != nil {
				return err
			}
			deleted = rapyer.Later(q, func(q context.Context) (int, error) {
				return users.DeleteMany(q, st, []string{old1.ID(), "nobody"})
			})
			byKey = rapyer.Later(q, func(q context.Context) (rapyer.Deleted, error) {
				return rapyer.DeleteKeys(q, st, []string{old2.Key(), oldP.Key()})
			})
			exists = rapyer.Later(q, func(q context.Context) ([]bool, error) {
				return users.ExistsMany(q, st, []string{n1.ID(), old1.ID(), "nobody"})
			})
			return nil
		}, state, keys...)
		must(t, err)
		if b.Name == "cluster" {
			if trips != 1 || slices.Contains(cmds, "MULTI") {
				t.Fatalf("queued bulk calls in a Batch on a cluster: %d round trips, commands %v; want one per node", trips, cmds)
			}
		} else if trips != 1 || cmds[0] != "MULTI" || cmds[len(cmds)-1] != "EXEC" {
			t.Fatalf("queued bulk calls: %d round trips, commands %v; want one MULTI/EXEC", trips, cmds)
		}
		if n, err := deleted.Get(); err != nil || n != 1 {
			t.Fatalf("queued DeleteMany = %d, %v; want 1", n, err)
		}
		if d, err := byKey.Get(); err != nil || d.Total != 2 || d.ByModel["user"] != 1 || d.ByModel["person"] != 1 {
			t.Fatalf("queued DeleteKeys = %+v, %v", d, err)
		}
		if e, err := exists.Get(); err != nil || !slices.Equal(e, []bool{true, false, false}) {
			t.Fatalf("queued ExistsMany = %v, %v (it runs inside the Tx: n1 inserted, old1 deleted before it)", e, err)
		}
		if n1.Version() != 1 || np.Version() != 1 {
			t.Fatalf("versions after the queued inserts: %d, %d", n1.Version(), np.Version())
		}
		got, err := rapyer.FindKeys(ctx, st, []string{n1.Key(), n2.Key(), np.Key(), old1.Key(), old2.Key(), oldP.Key()}, rapyer.SkipMissing())
		must(t, err)
		if k := objectKeys(got); !slices.Equal(k, []string{n1.Key(), n2.Key(), np.Key()}) {
			t.Fatalf("after the Tx: %v", k)
		}

		// A queued SaveMany: versions complete after the round trip.
		n1.Age.Set(50)
		n2.Age.Set(51)
		trips, _ = b.Count(func() {
			must(t, st.Batch(ctx, func(q context.Context) error { return users.SaveMany(q, []*user{n1, n2}) }))
		})
		if trips != 1 || n1.Version() != 2 || n2.Version() != 2 {
			t.Fatalf("queued SaveMany: %d round trips, versions %d %d", trips, n1.Version(), n2.Version())
		}
		if g, err := users.Get(ctx, st, n2.ID()); err != nil || g.Age.Get() != 51 {
			t.Fatalf("after the queued SaveMany: %v", err)
		}

		// A queued InsertMany that meets a taken id fails as one operation
		// (all or nothing), the other operations of the Tx run.
		dup := users.NewBeside(n1)
		taken, err := users.NewWithID(st, n1.ID())
		must(t, err)
		err = st.Tx(ctx, func(q context.Context) error {
			_, _ = n2.Age.Incr(q, 1)
			return users.InsertMany(q, []*user{dup, taken})
		})
		var be *rapyer.BatchError
		if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0].Index != 1 || be.Failed[0].Op != "InsertMany" || !errors.Is(err, rapyer.ErrExists) {
			t.Fatalf("Tx with a refused InsertMany: %v", err)
		}
		if ok, _ := users.Exists(ctx, st, dup.ID()); ok || n2.Age.Get() != 52 {
			t.Fatalf("after the refused InsertMany: dup exists %v, age %d", ok, n2.Age.Get())
		}

		// Empty bulk calls queue a call that completes at once.
		must(t, st.Batch(ctx, func(q context.Context) error {
			r := rapyer.Later(q, func(q context.Context) (int, error) { return users.DeleteMany(q, st, nil) })
			if n, err := r.Get(); err != nil || n != 0 {
				t.Fatalf("empty DeleteMany queued: %d, %v", n, err)
			}
			return users.SaveMany(q, nil)
		}))
	})
}
