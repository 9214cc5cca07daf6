package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Batch and Tx queue operations and send them together.
//
// Inside the function given to Store.Batch or Store.Tx, every operation
// called with the context it receives (the queue context) is queued instead
// of sent: the same handle and model methods, no second API. A queued call
// returns zero values and a nil error at once (or its validation error, with
// nothing queued); when the function returns nil, everything queued goes in
// one round trip, and then every queued operation completes as it would
// have alone: handles' local values take the server's answers (the new value
// of a queued Incr is h.Get() afterwards), objects queued by Schema.Get are
// filled in. Use Later to read a queued call's own return values.
//
// When the function returns an error, nothing is sent and that error is
// returned. Operations that cannot be queued (locks, bulk operations)
// return ErrInvalid when called with a queue context.
//
// Read-modify-write operations are server-relative: a queued Incr(5) adds 5
// to what the server holds when it runs, not to the local copy. A queued Save
// or Update encodes the local values when it is queued; local values change
// only when the queue has run (so a Save queued after a queued Incr writes
// the value from before the Incr).

// Batch runs fn, then sends what it queued as one pipeline: one round trip.
// Each operation is atomic on its own (its own script or MULTI/EXEC), as it
// would be alone; together they are not a transaction. A script the server
// lost is sent again whole (that operation alone, one more round trip).
// Errors of single operations come back as a *BatchError listing each with
// its position and name; the others have run.
func (s *Store) Batch(ctx context.Context, fn func(q context.Context) error) error {
	return s.run(ctx, false, fn)
}

// Tx runs fn, then sends what it queued as one MULTI/EXEC: one round trip,
// all or nothing against other clients (nothing runs in between). Scripts
// go inside MULTI as EVAL of their whole source, so a server that loses its
// scripts meanwhile (SCRIPT FLUSH, failover) cannot fail one operation of
// the Tx with NOSCRIPT while the others run. Redis does not
// roll back: when an operation fails inside EXEC (ErrNotFound, ErrOverflow,
// ...), the others have still run; Tx returns a *BatchError naming each
// failed operation and its position. An operation's existence check and
// its write are still atomic together.
//
// A model with WithVersionCheck may queue its own operations and then its
// Save or Update (or two Saves) in one Tx or Batch: the version check then
// cannot sit in the Save's script (the object's own earlier operations move
// the version), so the queue runs guarded, in two round trips on one
// connection: WATCH of those objects with a read of their versions, checked
// against what their Saves expect (ErrConflict, nothing sent, when another
// client wrote first), then the queue as a Tx (ErrConflict, nothing run,
// when another client writes in between). A Batch queued that way runs as
// such a Tx.
func (s *Store) Tx(ctx context.Context, fn func(q context.Context) error) error {
	return s.run(ctx, true, fn)
}

// queue is the state behind a queue context.
type queue struct {
	st     *Store
	tx     bool
	ops    []queued
	closed bool
}

// queued is one queued operation: what it sends and how it completes.
type queued struct {
	op   string
	u    ops.Unit
	done func(replies []any, err error) (any, error)
	sink func(v any, err error) // Later's, when the call was wrapped
	m    *Model                 // the object it acts on
}

type queueKey struct{}

type queueCtx struct {
	q    *queue
	sink func(any, error)
}

func queueOf(ctx context.Context) *queueCtx {
	if ctx == nil {
		return nil
	}
	qc, _ := ctx.Value(queueKey{}).(*queueCtx)
	return qc
}

// add queues an operation of m (which must belong to the queue's Store).
func (qc *queueCtx) add(op string, m *Model, u ops.Unit, done func([]any, error) (any, error)) error {
	q := qc.q
	if q.closed {
		return &Error{Op: op, Model: m.sc.name, ID: m.id, Err: fmt.Errorf("%w: queue context used after its Batch or Tx ran", ErrInvalid)}
	}
	if m.st != q.st {
		return &Error{Op: op, Model: m.sc.name, ID: m.id, Err: fmt.Errorf("%w: object bound to another Store than the Batch's", ErrInvalid)}
	}
	q.ops = append(q.ops, queued{op: op, u: u, done: done, sink: qc.sink, m: m})
	return nil
}

// checkArg is the position in a unit's ARGV of the expected version that
// a checked model's Save or Update compares (see lua/save.lua and
// lua/update.lua), -1 for other units.
func checkArg(m *Model, u *ops.Unit) int {
	if !m.sc.versionCheck {
		return -1
	}
	switch u.Script {
	case lua.Save:
		return 3
	case lua.Update:
		return 4
	}
	return -1
}

// guarded reports whether the queue holds a checked Save or Update that
// follows another operation on the same object. Its version check cannot
// then run in its own script: the version it expects (the one the object
// had when the operation was queued) is moved by the object's own earlier
// operations. Such a queue runs guarded (see runGuarded).
func (q *queue) guarded() bool {
	seen := map[*Model]bool{}
	for i := range q.ops {
		o := &q.ops[i]
		if seen[o.m] && checkArg(o.m, &o.u) >= 0 {
			return true
		}
		seen[o.m] = true
	}
	return false
}

// runGuarded sends units as one MULTI/EXEC guarded by WATCH: on one
// connection, WATCH of the checked objects' hashes with a read of their
// versions; if each holds the version its queued Save or Update expects,
// the units go as a Tx with those checks removed (the WATCH stands for
// them: any write to those objects by another client in between makes
// EXEC run nothing, ErrConflict). All or nothing, two round trips.
func (s *Store) runGuarded(ctx context.Context, q *queue, units []ops.Unit) (results []ops.Result, err error) {
	type want struct {
		m       *Model
		version string
	}
	var wants []want
	seen := map[*Model]bool{}
	for i := range q.ops {
		o := &q.ops[i]
		k := checkArg(o.m, &units[i])
		if k < 0 {
			continue
		}
		if !seen[o.m] {
			seen[o.m] = true
			wants = append(wants, want{o.m, units[i].Args[k].(string)})
		}
		args := append([]any(nil), units[i].Args...)
		args[k] = "" // no check in the script: the WATCH guards it
		units[i].Args = args
	}
	watch := ops.Cmd{Name: "WATCH"}
	cmds := []ops.Cmd{{}}
	for _, w := range wants {
		watch.Args = append(watch.Args, w.m.key[0])
		cmds = append(cmds, ops.Cmd{Name: "HGET", Args: []any{w.m.key[0], metaVersion}})
	}
	cmds[0] = watch
	err = s.pinned(ctx, wants[0].m.key[0], func(p *pinned) error {
		res, err := s.exec(ctx, request{units: []ops.Unit{{Cmds: cmds}}, pin: p})
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			return err
		}
		for i, w := range wants {
			got, _ := redis.String(res[0].Replies[1+i], nil)
			if got == "" {
				got = "0"
			}
			if got != w.version {
				return w.m.fail("Tx", fmt.Errorf("%w: stored version %s, expected %s; nothing was sent", ErrConflict, got, w.version))
			}
		}
		results, err = s.exec(ctx, request{units: units, tx: true, pin: p})
		return err
	})
	return results, err
}

func (s *Store) run(ctx context.Context, tx bool, fn func(q context.Context) error) (oerr error) {
	name := "Batch"
	if tx {
		name = "Tx"
	}
	if s == nil {
		return &Error{Op: name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	if queueOf(ctx) != nil {
		return &Error{Op: name, Err: fmt.Errorf("%w: Batch and Tx do not nest", ErrInvalid)}
	}
	if fn == nil {
		return &Error{Op: name, Err: fmt.Errorf("%w: nil function", ErrInvalid)}
	}
	q := &queue{st: s, tx: tx}
	err := fn(context.WithValue(ctx, queueKey{}, &queueCtx{q: q}))
	q.closed = true
	if err != nil {
		return err
	}
	if len(q.ops) == 0 {
		return nil
	}
	ctx, o := s.begin(ctx, name, "", "")
	o.count(len(q.ops))
	defer func() { o.end(oerr) }()
	units := make([]ops.Unit, len(q.ops))
	for i, o := range q.ops {
		units[i] = o.u
	}
	var results []ops.Result
	if q.guarded() {
		results, err = s.runGuarded(ctx, q, units)
	} else {
		results, err = s.exec(ctx, request{units: units, tx: tx})
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = &Error{Op: name, Err: scriptError(err)}
		}
		for _, o := range q.ops {
			if o.sink != nil {
				o.sink(nil, err)
			}
		}
		return err
	}
	var be BatchError
	for i, o := range q.ops {
		v, err := o.done(results[i].Replies, results[i].Err)
		if o.sink != nil {
			o.sink(v, err)
		}
		if err != nil {
			be.Failed = append(be.Failed, OpError{Index: i, Op: o.op, Err: err})
		}
	}
	if len(be.Failed) > 0 {
		be.Tx, be.Total = tx, len(q.ops)
		return &be
	}
	return nil
}

// BatchError reports the operations of a Batch or Tx that failed, each with
// its position among the queued operations. The others ran: in a Tx too,
// since Redis does not roll back. errors.Is and errors.As see every cause.
type BatchError struct {
	Tx     bool
	Total  int
	Failed []OpError
}

// OpError is one failed operation of a Batch or Tx.
type OpError struct {
	Index int    // position among the queued operations, from 0
	Op    string // the operation, e.g. "Int.Incr"
	Err   error
}

func (e *BatchError) Error() string {
	kind := "Batch"
	if e.Tx {
		kind = "Tx"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rapyer: %s: %d of %d operations failed (the others ran)", kind, len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-3)
			break
		}
		fmt.Fprintf(&b, "; #%d %s: %s", f.Index, f.Op, strings.TrimPrefix(f.Err.Error(), "rapyer: "))
	}
	return b.String()
}

// Unwrap returns every failed operation's error.
func (e *BatchError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f.Err
	}
	return out
}

// Result is the return value of a call queued through Later, readable once
// its Batch or Tx has run.
type Result[T any] struct {
	v    T
	err  error
	done bool
}

// Get returns the call's value and error: what the call would have
// returned alone. Before the Batch or Tx ran it returns ErrNotRun.
func (r *Result[T]) Get() (T, error) {
	if !r.done {
		var zero T
		return zero, ErrNotRun
	}
	return r.v, r.err
}

// Later calls f with q and captures the return values of the one operation
// f queues, as a Result readable after the Batch or Tx runs:
//
//	n := rapyer.Later(q, func(q context.Context) (int64, error) { return u.Age.Incr(q, 5) })
//	...
//	v, err := n.Get() // after st.Tx returned
//
// Outside a queue context f runs at once and the Result holds its answer.
// When f fails before queueing, the Result holds that error.
func Later[T any](q context.Context, f func(q context.Context) (T, error)) *Result[T] {
	r := &Result[T]{}
	qc := queueOf(q)
	if qc == nil {
		r.v, r.err = f(q)
		r.done = true
		return r
	}
	before := len(qc.q.ops)
	sink := func(v any, err error) {
		r.done, r.err = true, err
		if t, ok := v.(T); ok {
			r.v = t
		} else if err == nil {
			var want T
			r.err = fmt.Errorf("%w: queued result is %T, want %T (a handle whose decode does not return its method's value)", ErrInvalid, v, want)
		}
	}
	_, err := f(context.WithValue(q, queueKey{}, &queueCtx{q: qc.q, sink: sink}))
	if err != nil {
		r.done, r.err = true, err
		return r
	}
	if len(qc.q.ops) != before+1 {
		r.done, r.err = true, fmt.Errorf("%w: Later's function queued %d operations, want 1", ErrInvalid, len(qc.q.ops)-before)
	}
	return r
}

// Pair is the value of a queued call returning two values besides its
// error (List.Pop's element and whether there was one), for Later2.
type Pair[A, B any] struct {
	A A
	B B
}

// Later2 is Later for calls returning two values and an error.
func Later2[A, B any](q context.Context, f func(q context.Context) (A, B, error)) *Result[Pair[A, B]] {
	return Later(q, func(q context.Context) (Pair[A, B], error) {
		a, b, err := f(q)
		return Pair[A, B]{a, b}, err
	})
}
