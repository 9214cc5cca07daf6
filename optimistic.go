package rapyer

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/rapyer-go/rapyer/ops"
)

// ModifyOption changes how Modify retries.
type ModifyOption interface{ applyModify(*modifyConfig) }

type modifyConfig struct{ attempts int }

type modifyOptionFunc func(*modifyConfig)

func (f modifyOptionFunc) applyModify(c *modifyConfig) { f(c) }

// DefaultAttempts is how many times Modify tries before ErrConflict.
const DefaultAttempts = 10

// MaxAttempts bounds how many times Modify runs its function when other
// writers keep winning (default DefaultAttempts; below 1 means 1).
func MaxAttempts(n int) ModifyOption {
	return modifyOptionFunc(func(c *modifyConfig) { c.attempts = max(n, 1) })
}

// Modify is optimistic concurrency on one object: it watches every key of
// the object (WATCH), reloads it, runs fn, and saves it (MULTI/EXEC of what
// Save sends). When another client wrote any of its keys in between, EXEC
// does nothing and Modify starts again from the reload, after a short
// randomized pause (1 to 50 ms, growing), up to MaxAttempts times; then it
// returns ErrConflict. Each attempt is two round trips (WATCH with the reads;
// MULTI/EXEC).
//
// fn sees the object as freshly loaded and changes its local values; it may
// run several times, so it must not have effects outside the object. When
// fn returns an error, nothing is written and Modify returns that error.
// Errors: ErrNotFound (the object does not exist), ErrConflict, ErrDecode,
// ErrInvalid (a value that does not encode).
func (m *Model) Modify(ctx context.Context, fn func() error, opts ...ModifyOption) (oerr error) {
	const op = "Modify"
	if err := m.bound(op); err != nil {
		return err
	}
	ctx, o := m.st.begin(ctx, op, m.sc.name, m.id)
	defer func() { o.end(oerr) }()
	if fn == nil {
		return m.fail(op, fmt.Errorf("%w: nil function", ErrInvalid))
	}
	cfg := modifyConfig{attempts: DefaultAttempts}
	for _, o := range opts {
		o.applyModify(&cfg)
	}
	pause := time.Millisecond
	for attempt := 1; ; attempt++ {
		done, err := m.modifyOnce(ctx, op, fn)
		if done || err != nil {
			return err
		}
		if attempt >= cfg.attempts {
			return m.fail(op, fmt.Errorf("%w: %d attempts lost to concurrent writers", ErrConflict, attempt))
		}
		t := time.NewTimer(pause/2 + mrand.N(pause/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return m.fail(op, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// modifyOnce is one attempt of Modify: done is false when another writer
// won (EXEC aborted).
func (m *Model) modifyOnce(ctx context.Context, op string, fn func() error) (done bool, err error) {
	ran := false
	err = m.st.pinned(ctx, m.keys()[0], func(p *pinned) error {
		ran = true
		done, err = m.modifyOn(ctx, op, p, fn)
		return err
	})
	if err != nil && !ran { // no connection
		err = m.fail(op, err)
	}
	return done, err
}

// modifyOn is one attempt of Modify on a held connection: WATCH of every
// key of the object with the reads (no PEXPIRE: touching a watched key
// would abort our own EXEC; the save re-arms the TTL), fn, then what Save
// sends inside MULTI/EXEC (its script loaded first).
func (m *Model) modifyOn(ctx context.Context, op string, p *pinned, fn func() error) (bool, error) {
	watch := make([]any, len(m.keys()))
	for i, k := range m.keys() {
		watch[i] = k
	}
	reads := m.readCmds()
	cmds := make([]ops.Cmd, 0, 1+len(reads))
	cmds = append(append(cmds, ops.Cmd{Name: "WATCH", Args: watch}), reads...)
	res, err := m.st.exec(ctx, request{units: []ops.Unit{{Cmds: cmds}}, pin: p})
	if err == nil {
		err = res[0].Err
	}
	if err != nil {
		return false, m.fail(op, scriptError(err))
	}
	if err := m.apply(op, res[0].Replies[1:], false, false); err != nil {
		return false, err
	}
	if err := fn(); err != nil {
		return false, err
	}
	u, err := m.saveUnit(op)
	if err != nil {
		return false, err
	}
	cs, err := m.claimsOf(op, m.sc.idx)
	if err != nil {
		return false, err
	}
	var short error // WAIT short of its count: saved, not known replicated
	err = m.withClaims(ctx, op, cs, &short, func(ctx context.Context) error {
		res, err := m.st.exec(ctx, request{units: []ops.Unit{u}, tx: true, pin: p})
		err, short = shortOf(err)
		switch {
		case err == ErrConflict:
			return errNotWritten
		case err != nil:
			return m.fail(op, scriptError(err))
		case res[0].Err != nil:
			return m.fail(op, scriptError(res[0].Err))
		}
		m.version = u.Version(res[0].Replies)
		return nil
	})
	if err == errNotWritten {
		return false, nil
	}
	if err == nil && short != nil {
		return true, m.fail(op, short)
	}
	return err == nil, err
}

// Modify loads the object with the given id and changes it with fn under
// optimistic concurrency (see Model.Modify), returning it as saved. A nil
// Store is ErrInvalid.
func (s *Schema[M, P]) Modify(ctx context.Context, st *Store, id string, fn func(P) error, opts ...ModifyOption) (P, error) {
	if err := s.sc.needStore("Modify", st); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, &Error{Op: "Modify", Model: s.sc.name, ID: id, Err: err}
	}
	if fn == nil {
		return nil, &Error{Op: "Modify", Model: s.sc.name, ID: id, Err: fmt.Errorf("%w: nil function", ErrInvalid)}
	}
	p := s.instance(st, id)
	if err := p.base().Modify(ctx, func() error { return fn(p) }, opts...); err != nil {
		return nil, err
	}
	return p, nil
}
