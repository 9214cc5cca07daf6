package rapyer_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
)

// Objects of two models, loaded and deleted by key in one round trip each.
func ExampleFindKeys() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	c := Customers.New(st)
	c.Name.Set("Ada")
	x := xtols.New(st)
	x.Name.Set("a tolerant one")
	x.Nums.SetLocal(1, 2)
	// Two models in one Tx: each InsertMany is one queued operation.
	err = st.Tx(ctx, func(q context.Context) error {
		if err := Customers.InsertMany(q, []*Customer{c}); err != nil {
			return err
		}
		return xtols.InsertMany(q, []*xtol{x})
	})
	if err != nil {
		log.Fatal(err)
	}

	objs, err := rapyer.FindKeys(ctx, st, []string{x.Key(), c.Key()})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range objs {
		switch v := o.(type) {
		case *Customer:
			fmt.Println(v.ModelName(), v.Name.Get())
		case *xtol:
			fmt.Println(v.ModelName(), v.Name.Get(), v.Nums.Local())
		}
	}
	d, err := rapyer.DeleteKeys(ctx, st, []string{c.Key(), x.Key()})
	fmt.Println(d.Total, d.ByModel["customer"], err)
	// Output:
	// xtol a tolerant one [1 2]
	// customer Ada
	// 2 1 <nil>
}
