package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
)

func ExampleStore_Tx() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	a, b := Customers.New(st), Customers.New(st)
	a.Name.Set("Ada")
	b.Name.Set("Bob")
	if err := Customers.SaveMany(ctx, []*Customer{a, b}); err != nil { // one pipeline
		log.Fatal(err)
	}

	// Everything called with q is queued, then sent as one MULTI/EXEC.
	var visits *rapyer.Result[int64]
	err = st.Tx(ctx, func(q context.Context) error {
		visits = rapyer.Later(q, func(q context.Context) (int64, error) { return a.Visits.Incr(q, 3) })
		if _, err := b.Name.Append(q, " Jr."); err != nil {
			return err // nothing would be sent
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	n, err := visits.Get()
	fmt.Println(n, err, b.Name.Get())

	// A failure inside EXEC names the operation; the others ran anyway.
	_, _ = b.Delete(ctx)
	err = st.Tx(ctx, func(q context.Context) error {
		_, _ = a.Visits.Incr(q, 1)
		_, _ = b.Visits.Incr(q, 1)
		return nil
	})
	fmt.Println(errors.Is(err, rapyer.ErrNotFound), a.Visits.Get())
	// Output:
	// 3 <nil> Bob Jr.
	// true 4
}

func ExampleModel_Modify() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	c := Customers.New(st)
	c.Name.Set("ada")
	if err := c.Save(ctx); err != nil {
		log.Fatal(err)
	}

	// Read, compute, write: retried if another client writes in between.
	got, err := Customers.Modify(ctx, st, c.ID(), func(c *Customer) error {
		c.Name.Set(c.Name.Get() + " lovelace")
		c.Visits.Set(c.Visits.Get() + 1)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name.Get(), got.Visits.Get(), got.Version())
	// Output:
	// ada lovelace 1 2
}
