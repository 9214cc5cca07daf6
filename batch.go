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
// returned. Operations that cannot be queued (locks, Modify, GetMany,
// DuplicateMany, queries) return ErrInvalid when called with a queue
// context. The bulk writes and checks (SaveMany, InsertMany, DeleteMany,
// ExistsMany, DeleteKeys) are queued, each as one operation: every object
// goes in the queue's round trip (ChunkSize does not apply), and Later reads
// what the call returns.
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
//
// Opened inside another Batch or Tx (called with its queue context), it
// joins the outer one unless Separate: see Store.Tx.
func (s *Store) Batch(ctx context.Context, fn func(q context.Context) error, opts ...BatchOption) error {
	return s.run(ctx, false, fn, opts)
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
//
// A Batch or Tx opened inside another (called with the outer's queue
// context) joins the outer one: fn queues into the outer's queue, nothing
// is sent at its end, and its operations complete (local values, Later's
// results) when the outer one has run, in the outer's round trip; their
// errors are the outer's. When fn returns an error, what it queued is
// dropped (the outer's other operations stay) and that error is returned.
// A Tx joining a Batch makes the whole Batch run as one MULTI/EXEC, so the
// inner Tx stays all or nothing against other clients. With Separate the
// inner one runs on its own instead: its queue goes in its own round trip
// at its end, whatever becomes of the outer one.
func (s *Store) Tx(ctx context.Context, fn func(q context.Context) error, opts ...BatchOption) error {
	return s.run(ctx, true, fn, opts)
}

// BatchOption changes how a Batch or Tx runs.
type BatchOption interface{ applyBatch(*batchConfig) }

type batchConfig struct {
	separate bool
	wait     waitSpec // WithWait (wait.go)
}

type batchOptionFunc func(*batchConfig)

func (f batchOptionFunc) applyBatch(c *batchConfig) { f(c) }

// Separate makes a Batch or Tx opened inside another one (with its queue
// context) send what it queued at its own end, in its own round trip,
// instead of joining the outer one. Outside a Batch or Tx it changes
// nothing. Default: join.
func Separate() BatchOption {
	return batchOptionFunc(func(c *batchConfig) { c.separate = true })
}

// join runs fn of a Batch or Tx opened inside the queue of outer: fn
// queues into it (see Store.Tx).
func (s *Store) join(ctx context.Context, name string, tx bool, outer *queueCtx, fn func(q context.Context) error) error {
	q := outer.q
	switch {
	case q.closed:
		return &Error{Op: name, Err: fmt.Errorf("%w: queue context used after its Batch or Tx ran", ErrInvalid)}
	case q.st != s:
		return &Error{Op: name, Err: fmt.Errorf("%w: a %s of another Store cannot join the outer one (use Separate)", ErrInvalid, name)}
	}
	ops, calls, wasTx := len(q.ops), q.calls, q.tx
	q.tx = q.tx || tx
	if err := fn(context.WithValue(ctx, queueKey{}, &queueCtx{q: q})); err != nil {
		q.ops, q.calls, q.tx = q.ops[:ops], calls, wasTx
		return err
	}
	return nil
}

// queue is the state behind a queue context.
type queue struct {
	st     *Store
	tx     bool
	ops    []queued
	calls  int // queued calls (a bulk call queues several units as one)
	closed bool
}

// queued is one queued unit: what it sends and how it completes. A call
// that queues several units (a bulk call) completes with many, set on its
// first unit (parts of them); its other units have parts 0.
type queued struct {
	op    string
	u     ops.Unit
	done  func(replies []any, err error) (any, error)
	many  func(res []ops.Result) (any, error)
	parts int
	call  int                    // the call's position among the queued calls
	sink  func(v any, err error) // Later's, when the call was wrapped
	m     *Model                 // the object it acts on
	cs    []*claim               // the unique values it claims (claim_queue.go)
	whole bool                   // a claim refused refuses its whole call
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

// add queues an operation of m (which must belong to the queue's Store)
// that claims cs (claim.go; none on one server) when the queue is sent.
func (qc *queueCtx) add(op string, m *Model, u ops.Unit, cs []*claim, done func([]any, error) (any, error)) error {
	q := qc.q
	if q.closed {
		return &Error{Op: op, Model: m.sc.name, ID: m.id, Err: fmt.Errorf("%w: queue context used after its Batch or Tx ran", ErrInvalid)}
	}
	if m.st != q.st {
		return &Error{Op: op, Model: m.sc.name, ID: m.id, Err: fmt.Errorf("%w: object bound to another Store than the Batch's", ErrInvalid)}
	}
	q.ops = append(q.ops, queued{op: op, u: u, done: done, sink: qc.sink, m: m, parts: 1, call: q.calls, cs: named(cs, op)})
	q.calls++
	return nil
}

// addMany queues units (unit i acting on ms[i], claiming uc.per[i]) as one
// call, which many completes with their results when the queue has run.
func (qc *queueCtx) addMany(op, model string, st *Store, ms []*Model, units []ops.Unit, uc unitClaims, many func([]ops.Result) (any, error)) error {
	q := qc.q
	switch {
	case q.closed:
		return &Error{Op: op, Model: model, Err: fmt.Errorf("%w: queue context used after its Batch or Tx ran", ErrInvalid)}
	case len(units) == 0: // nothing to send: complete at once
		v, err := many(nil)
		if qc.sink != nil {
			qc.q.calls++ // Later sees one call, completed at once
			qc.sink(v, err)
		}
		return err
	case st != q.st:
		return &Error{Op: op, Model: model, Err: fmt.Errorf("%w: objects bound to another Store than the Batch's", ErrInvalid)}
	}
	for i := range units {
		o := queued{op: op, u: units[i], m: ms[i], call: q.calls, whole: uc.whole}
		if i < len(uc.per) {
			o.cs = named(uc.per[i], op)
		}
		if i == 0 {
			o.many, o.parts, o.sink = many, len(units), qc.sink
		}
		q.ops = append(q.ops, o)
	}
	q.calls++
	return nil
}

// oneChunkQueued reports whether ctx is a queue context; a bulk call
// queued there goes as one call, every object in the queue's round trip
// (ChunkSize does not apply).
func oneChunkQueued(ctx context.Context, cfg *manyConfig, n int) bool {
	if queueOf(ctx) == nil {
		return false
	}
	cfg.chunk = max(n, 1)
	return true
}

// queuedNone completes a bulk call given nothing, with a queue context, as
// one call whose value is v (so that Later sees it); ok is false outside a
// queue.
func queuedNone(ctx context.Context, op, model string, v any) (ok bool, err error) {
	qc := queueOf(ctx)
	if qc == nil {
		return false, nil
	}
	return true, qc.addMany(op, model, nil, nil, nil, unitClaims{}, func([]ops.Result) (any, error) { return v, nil })
}

// sendMany sends units (unit i acting on ms[i]) in one round trip and
// completes them with done, or, with a queue context, queues them as one
// call completed by done when the queue has run (R's zero value is
// returned then).
func sendMany[R any](ctx context.Context, st *Store, op, model string, ms []*Model, units []ops.Unit, done func(res []ops.Result, err error) (R, error)) (R, error) {
	return sendClaimed(ctx, st, op, model, ms, units, unitClaims{}, done)
}

// sendClaimed is sendMany for units that claim unique values (uc, see
// claim_queue.go): queued with them; sent without them (outside a queue
// the bulk calls claim and settle their values themselves).
func sendClaimed[R any](ctx context.Context, st *Store, op, model string, ms []*Model, units []ops.Unit, uc unitClaims, done func(res []ops.Result, err error) (R, error)) (R, error) {
	if qc := queueOf(ctx); qc != nil {
		var zero R
		return zero, qc.addMany(op, model, st, ms, units, uc, func(res []ops.Result) (any, error) { return done(res, nil) })
	}
	res, err := st.exec(ctx, request{units: units})
	err, short := shortOf(err)
	r, err := done(res, err)
	if err == nil && short != nil {
		err = &Error{Op: op, Model: model, Err: short} // the writes stand
	}
	return r, err
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

func (s *Store) run(ctx context.Context, tx bool, fn func(q context.Context) error, opts []BatchOption) (oerr error) {
	name := "Batch"
	if tx {
		name = "Tx"
	}
	if s == nil {
		return &Error{Op: name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	if fn == nil {
		return &Error{Op: name, Err: fmt.Errorf("%w: nil function", ErrInvalid)}
	}
	var cfg batchConfig
	for _, o := range opts {
		if o != nil {
			o.applyBatch(&cfg)
		}
	}
	if err := cfg.wait.check(); err != nil {
		return &Error{Op: name, Err: err}
	}
	if outer := queueOf(ctx); outer != nil {
		if !cfg.separate {
			return s.join(ctx, name, tx, outer, fn)
		}
		ctx = context.WithValue(ctx, queueKey{}, (*queueCtx)(nil)) // out of the outer queue
	}
	q := &queue{st: s, tx: tx}
	err := fn(context.WithValue(ctx, queueKey{}, &queueCtx{q: q}))
	q.closed = true
	tx = q.tx // a Tx that joined makes a Batch one
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
	ctx, _ = s.perCall(ctx, cfg.wait) // checked above
	results, err := s.sendQueue(ctx, q, units, tx)
	err, short := shortOf(err)
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
		var v any
		var err error
		switch {
		case o.parts == 0:
			continue // completed with its call's first unit
		case o.many != nil:
			v, err = o.many(results[i : i+o.parts])
		default:
			v, err = o.done(results[i].Replies, results[i].Err)
		}
		if o.sink != nil {
			o.sink(v, err)
		}
		if err != nil {
			be.Failed = append(be.Failed, OpError{Index: o.call, Op: o.op, Err: err})
		}
	}
	if short != nil { // every operation ran: not known to be on enough replicas
		short = &Error{Op: name, Err: short}
	}
	if len(be.Failed) > 0 {
		be.Tx, be.Total = tx, q.calls
		if short != nil {
			return errors.Join(&be, short)
		}
		return &be
	}
	return short
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
	before := qc.q.calls
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
	if qc.q.calls != before+1 {
		r.done, r.err = true, fmt.Errorf("%w: Later's function queued %d operations, want 1", ErrInvalid, qc.q.calls-before)
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
