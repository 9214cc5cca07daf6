package queue

import (
	"context"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/types"
)

type User struct {
	rapyer.Model
	Name types.Str
	Age  types.Int
}

type server struct{ ctx context.Context }

func good(ctx context.Context, st *rapyer.Store, u *User) error {
	return st.Tx(ctx, func(q context.Context) error {
		if _, err := u.Age.Incr(q, 1); err != nil {
			return err
		}
		u.Name.Set("local: no context")
		_ = rapyer.Later(q, func(q context.Context) (int64, error) { return u.Age.Incr(q, 5) })
		qq, cancel := context.WithCancel(q) // derived inside: taken as a queue context
		defer cancel()
		_, err := u.Name.Append(qq, "!")
		return err
	})
}

func bad(ctx context.Context, st *rapyer.Store, u *User, s *server) error {
	err := st.Tx(ctx, func(q context.Context) error {
		if _, err := u.Age.Incr(ctx, 1); err != nil { // want `Int.Incr is called with ctx, not the queue context q of this Store.Tx: it runs at once, outside the transaction`
			return err
		}
		_, _ = u.Name.Append(context.Background(), "x") // want `Str.Append is called with context.Background\(\), not the queue context q`
		_ = u.Save(s.ctx)                               // want `Model.Save is called with s.ctx`
		return nil
	})
	if err != nil {
		return err
	}
	return st.Batch(ctx, func(b context.Context) error {
		_, err := u.Age.Incr(context.TODO(), 1) // want `Int.Incr is called with context.TODO\(\), not the queue context b of this Store.Batch: it runs at once, outside the batch`
		return err
	})
}

// Outside a Tx or Batch any context goes.
func plain(ctx context.Context, u *User) error {
	_, err := u.Age.Incr(ctx, 1)
	return err
}
