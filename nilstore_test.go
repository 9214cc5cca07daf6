package rapyer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestNilStore: every method taking a *Store, given nil, and every method of
// a nil *Store, returns an error naming the operation (ErrInvalid; ErrUnbound
// for the I/O of an object New(nil) made) and never panics (issue 10, item 9).
func TestNilStore(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var st *rapyer.Store
		s := lockFulls
		q := s.Fields()
		unbound := s.New(nil) // no panic; an unbound object
		unbound.N.Set(7)
		if unbound.N.Get() != 7 || unbound.ID() == "" {
			t.Fatalf("New(nil): local value %d, id %q", unbound.N.Get(), unbound.ID())
		}
		bound := s.New(b.Store)
		must(t, bound.Save(ctx))
		ids := []string{"a", "b"}
		pred := q.N.Eq(1)
		rows := []struct {
			op   string
			want error
			call func() error
		}{
			{"Get", rapyer.ErrInvalid, func() error { _, err := s.Get(ctx, st, "a"); return err }},
			{"New", rapyer.ErrInvalid, func() error { _, err := s.NewWithID(st, "a"); return err }},
			{"Exists", rapyer.ErrInvalid, func() error { _, err := s.Exists(ctx, st, "a"); return err }},
			{"Delete", rapyer.ErrInvalid, func() error { _, err := s.Delete(ctx, st, "a"); return err }},
			{"Modify", rapyer.ErrInvalid, func() error {
				_, err := s.Modify(ctx, st, "a", func(*lockFull) error { return nil })
				return err
			}},
			{"GetMany", rapyer.ErrInvalid, func() error { _, err := s.GetMany(ctx, st, ids); return err }},
			{"ExistsMany", rapyer.ErrInvalid, func() error { _, err := s.ExistsMany(ctx, st, ids); return err }},
			{"DeleteMany", rapyer.ErrInvalid, func() error { _, err := s.DeleteMany(ctx, st, ids); return err }},
			{"Find", rapyer.ErrInvalid, func() error { _, err := s.Find(ctx, st, pred); return err }},
			{"FindOne", rapyer.ErrInvalid, func() error { _, err := s.FindOne(ctx, st, pred); return err }},
			{"FindIDs", rapyer.ErrInvalid, func() error { _, err := s.FindIDs(ctx, st, pred); return err }},
			{"Count", rapyer.ErrInvalid, func() error { _, err := s.Count(ctx, st, pred); return err }},
			{"DeleteWhere", rapyer.ErrInvalid, func() error { _, err := s.DeleteWhere(ctx, st, pred); return err }},
			{"Iter", rapyer.ErrInvalid, func() error {
				for _, err := range s.Iter(ctx, st, pred) {
					if err != nil {
						return err
					}
				}
				return errors.New("Iter yielded no error")
			}},
			{"Sweep", rapyer.ErrInvalid, func() error { _, err := s.Sweep(ctx, st); return err }},
			{"Reindex", rapyer.ErrInvalid, func() error { _, err := s.Reindex(ctx, st); return err }},
			{"Duplicate", rapyer.ErrInvalid, func() error { _, err := s.Duplicate(ctx, nil); return err }},
			{"Ping", rapyer.ErrInvalid, func() error { return st.Ping(ctx) }},
			{"Close", rapyer.ErrInvalid, func() error { return st.Close() }},
			// Objects New(nil) made are unbound: their I/O is ErrUnbound.
			{"Save", rapyer.ErrUnbound, func() error { return unbound.Save(ctx) }},
			{"Insert", rapyer.ErrUnbound, func() error { return unbound.Insert(ctx) }},
			{"Reload", rapyer.ErrUnbound, func() error { return unbound.Reload(ctx) }},
			{"Lock", rapyer.ErrUnbound, func() error { _, err := unbound.Lock(ctx, "x"); return err }},
			{"Duplicate", rapyer.ErrUnbound, func() error { _, err := s.Duplicate(ctx, unbound); return err }},
			{"SaveMany", rapyer.ErrUnbound, func() error { return s.SaveMany(ctx, []*lockFull{bound, unbound}) }},
			{"InsertMany", rapyer.ErrUnbound, func() error { return s.InsertMany(ctx, []*lockFull{unbound}) }},
			{"Int.Incr", rapyer.ErrUnbound, func() error { _, err := unbound.N.Incr(ctx, 1); return err }},
			{"List", rapyer.ErrUnbound, func() error { _, err := unbound.Tags.Append(ctx, "x"); return err }},
			// Batch and Tx on a nil Store, with or without anything queued.
			{"Batch", rapyer.ErrInvalid, func() error {
				return st.Batch(ctx, func(q context.Context) error { return bound.Save(q) })
			}},
			{"Tx", rapyer.ErrInvalid, func() error {
				return st.Tx(ctx, func(q context.Context) error { return bound.Save(q) })
			}},
			{"Batch", rapyer.ErrInvalid, func() error {
				return st.Batch(ctx, func(q context.Context) error { return nil })
			}},
		}
		for i, r := range rows {
			t.Run(fmt.Sprintf("%02d-%s", i, r.op), func(t *testing.T) {
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("%s panicked: %v", r.op, p)
						}
					}()
					err = r.call()
				}()
				wantErr(t, err, r.want, r.op)
			})
		}
		// Nothing was written for the unbound object or the ids used.
		for _, id := range []string{"a", "b", unbound.ID()} {
			ok, err := s.Exists(ctx, b.Store, id)
			must(t, err)
			if ok {
				t.Fatalf("object %q written", id)
			}
		}
	})
}
