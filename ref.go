package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Ref returns a handle on the stored object id without reading it (no
// I/O): its remote operations (field operations such as Int.Incr,
// container operations, Delete, Exists, the TTL calls, Lock, TryLock and
// WithLock) act on the stored object as they do on a loaded one, and
// return ErrNotFound when it does not exist. Its local values start absent
// (no defaults are applied) and follow the operations' replies; Reload or
// a handle's Load reads them. Its Version is 0 until a read or write shows
// it, so on a model WithVersionCheck its Save and Update conflict until
// then.
//
// Save on a Ref writes the object's whole local state: every field not set
// since is removed and every container emptied. To write some fields, set
// them and call Update with those fields. Errors: ErrInvalid (bad id, nil
// Store).
func (s *Schema[M, P]) Ref(st *Store, id string) (P, error) {
	const op = "Ref"
	if err := s.sc.needStore(op, st); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, &Error{Op: op, Model: s.sc.name, ID: id, Err: err}
	}
	return s.instance(st, id), nil
}

// GetOrCreate returns the object id, creating it first when it does not
// exist, and reports whether this call created it. When it exists, it is
// one round trip (Get). Otherwise init (which may be nil) sets the new
// object's local values, over the fields' defaults as NewWithID gives
// them, and the object is inserted as Insert does (lua/insert.lua:
// create only if missing, unique values checked, the model's TTL set): two
// round trips. Atomic: of any number of concurrent callers, in any number
// of processes, exactly one creates the object; the others get the
// object it stored (init may have run in them too, on an object that was
// then dropped, so it must have no effects outside the object). An object
// deleted between a lost race and the read that follows is created again,
// up to DefaultAttempts times; then ErrConflict.
//
// Not queueable in a Batch or Tx. Errors: ErrInvalid (bad id, nil Store),
// ErrExists (a Unique value of the new object is another object's; nothing
// written), ErrDecode (stored data that does not decode), ErrConflict, and
// those of Get and Insert.
func (s *Schema[M, P]) GetOrCreate(ctx context.Context, st *Store, id string, init func(P)) (P, bool, error) {
	const op = "GetOrCreate"
	if err := s.sc.needStore(op, st); err != nil {
		return nil, false, err
	}
	if err := checkID(id); err != nil {
		return nil, false, &Error{Op: op, Model: s.sc.name, ID: id, Err: err}
	}
	if queueOf(ctx) != nil {
		return nil, false, &Error{Op: op, Model: s.sc.name, ID: id, Err: fmt.Errorf("%w: this operation cannot be queued in a Batch or Tx", ErrInvalid)}
	}
	for range DefaultAttempts {
		p, err := s.Get(ctx, st, id)
		if err == nil {
			return p, false, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, false, err
		}
		p = s.instance(st, id)
		p.base().applyDefaults()
		if init != nil {
			init(p)
		}
		err = p.base().Insert(ctx)
		if err == nil {
			return p, true, nil
		}
		if !errors.Is(err, ErrExists) || !idTaken(err) {
			return nil, false, err
		}
		// Another caller created it in between: read theirs.
	}
	return nil, false, &Error{Op: op, Model: s.sc.name, ID: id, Err: fmt.Errorf("%w: the object kept being created and deleted", ErrConflict)}
}

// idTaken reports whether Insert's ErrExists is about the id (lua/insert.lua
// says so) rather than a unique value.
func idTaken(err error) bool {
	return strings.Contains(err.Error(), "an object with this id exists")
}
