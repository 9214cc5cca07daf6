package rapyer

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// Duplicate inserts a copy of src's local values (what was loaded or set)
// under a new generated id and returns it: one round trip (the Insert). The
// copy may land in another shard, so nothing is copied server-side.
// Errors: ErrInvalid (nil src), ErrUnbound (src bound to no Store), those of
// Insert.
func (s *Schema[M, P]) Duplicate(ctx context.Context, src P) (_ P, oerr error) {
	if src == nil {
		return nil, &Error{Op: "Duplicate", Model: s.sc.name, Err: fmt.Errorf("%w: nil object", ErrInvalid)}
	}
	sm := src.base()
	if sm.st == nil {
		return nil, &Error{Op: "Duplicate", Model: s.sc.name, Err: ErrUnbound}
	}
	ctx, o := sm.st.begin(ctx, "Duplicate", s.sc.name, sm.id)
	defer func() { o.end(oerr) }()
	dst, err := s.copyOf(src)
	if err != nil {
		return nil, err
	}
	if err := dst.base().Insert(ctx); err != nil {
		return nil, err
	}
	return dst, nil
}

// DuplicateMany inserts n copies of src's local values (what was loaded or
// set) under new ids, all or nothing, as InsertMany does: one round trip
// for up to ChunkSize copies (lua/insertmany.lua; on a cluster one script
// per shard, sent per node concurrently; the new ids are not checked
// first, nothing can exist there). Each copy's containers
// are its own: changing one copy's list leaves src's and the other copies'
// as they are. n = 0 returns no copies and sends nothing. Errors:
// ErrInvalid (n < 0, nil src; nothing sent), ErrUnbound, ErrExists (a
// unique value, which two copies of one object always share; nothing
// written).
func (s *Schema[M, P]) DuplicateMany(ctx context.Context, src P, n int, opts ...ManyOption) (_ []P, oerr error) {
	const op = "DuplicateMany"
	if src == nil || n < 0 {
		return nil, &Error{Op: op, Model: s.sc.name, Err: fmt.Errorf("%w: nil object or negative count %d", ErrInvalid, n)}
	}
	if src.base().st == nil {
		return nil, &Error{Op: op, Model: s.sc.name, Err: ErrUnbound}
	}
	if queueOf(ctx) != nil { // as InsertMany, which it is
		return nil, &Error{Op: op, Model: s.sc.name, Err: fmt.Errorf("%w: this operation cannot be queued in a Batch or Tx", ErrInvalid)}
	}
	if n == 0 {
		return nil, nil
	}
	ctx, o := src.base().st.begin(ctx, op, s.sc.name, src.base().id)
	o.count(n)
	defer func() { o.end(oerr) }()
	out := make([]P, n)
	for i := range out {
		c, err := s.copyOf(src)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	if err := s.insertMany(ctx, out, opts, true); err != nil {
		return nil, err
	}
	return out, nil
}

// copyOf returns a new object (a new id, no I/O) holding src's local
// values, containers copied.
func (s *Schema[M, P]) copyOf(src P) (P, error) {
	sm := src.base()
	dst := s.instance(sm.st, uuid.Must(uuid.NewV7()).String())
	dm := dst.base()
	fb := sm.st.cfg.fallback
	for i := range sm.fields {
		f := sm.field(i)
		b, present, err := f.encodeLocal(fb)
		if err != nil {
			return nil, detail("Duplicate", s.sc.name, sm.id, f.fullName(), err)
		}
		if present {
			if err := dm.field(i).decodeStored(b, fb); err != nil {
				return nil, detail("Duplicate", s.sc.name, sm.id, f.fullName(), err)
			}
		}
	}
	for i, c := range sm.containers() {
		flat, err := c.local().Encode(fb)
		if err == nil {
			err = dm.containers()[i].apply(flat)
		}
		if err != nil {
			return nil, detail("Duplicate", s.sc.name, sm.id, c.full, codecErr(ErrInvalid, err))
		}
	}
	return dst, nil
}
