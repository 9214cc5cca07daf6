package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
)

// WithWait on the Store makes every write wait for replicas; per call, a
// Batch (or Tx, or a bulk call) takes its own. The embedded server has no
// replicas and answers WAIT with 0 at once, so here every write that waits
// returns ErrNotReplicated, after it happened.
func ExampleWithWait() {
	ctx := context.Background()
	st, err := embedded.Open(ctx, rapyer.WithWait(1, 500*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	c := Customers.New(st)
	c.Name.Set("Ada")
	err = c.Save(ctx)
	fmt.Println("not replicated:", errors.Is(err, rapyer.ErrNotReplicated))
	got, _ := Customers.Get(ctx, st, c.ID()) // reads never wait
	fmt.Println("saved all the same:", got.Name.Get())

	// One write without waiting: a Batch with WithWait(0, 0).
	err = st.Batch(ctx, func(q context.Context) error {
		_, err := c.Visits.Incr(q, 1)
		return err
	}, rapyer.WithWait(0, 0))
	fmt.Println("Batch without WAIT:", err, c.Visits.Get())
	// Output:
	// not replicated: true
	// saved all the same: Ada
	// Batch without WAIT: <nil> 1
}
