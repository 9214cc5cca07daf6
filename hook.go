package rapyer

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// Hook observes a Store's operations and round trips: tracing, metrics,
// logs of one's own. Give it with WithHook; package
// github.com/rapyer-go/rapyer/otel has one for OpenTelemetry.
//
// An operation is one call of the API that may send: Save, Get, Int.Incr,
// GetMany, Find, a Batch or Tx (the operations queued in it are not
// reported on their own: the Batch or Tx is), Lock, Reindex, Ping...
// OperationStart runs before anything is sent, OperationEnd when the call
// returns, with what it sent and its error. The context OperationStart
// returns is the one the operation goes on with: a span put in it is the
// parent of the round trips' (and of the operations called inside it, such
// as the Insert of a Duplicate, or the operations of a WithLock's
// function, which are reported too, nested).
//
// RoundTripStart and RoundTripEnd run around each round trip (one write of
// commands and the read of their replies), inside an operation.
//
// The *Operation and *RoundTrip are the Store's: read them during the call,
// do not keep them. Hooks run on the caller's goroutine, in the order
// WithHook gave them (the End calls in reverse order); they must be safe
// for concurrent use. With no hook, no logger and no slow threshold, none
// of this costs anything.
type Hook interface {
	// OperationStart is called before the operation sends anything; the
	// operation goes on with the context it returns.
	OperationStart(ctx context.Context, op *Operation) context.Context
	// OperationEnd is called as the operation returns, with the context
	// OperationStart returned and op complete.
	OperationEnd(ctx context.Context, op *Operation)
	// RoundTripStart is called before a round trip's commands are
	// written; the round trip goes on with the context it returns.
	RoundTripStart(ctx context.Context, rt *RoundTrip) context.Context
	// RoundTripEnd is called once its replies are read (or it failed).
	RoundTripEnd(ctx context.Context, rt *RoundTrip)
}

// Operation describes one operation for a Hook. The fields up to Server
// are set at OperationStart; the others at OperationEnd.
type Operation struct {
	Name  string // the operation: "Save", "Get", "Int.Incr", "GetMany", "Find", "Tx", ...
	Model string // the model's name ("" for Ping, Batch, Tx)
	ID    string // the object's id, for operations on one object
	Field string // the dotted field name, for field operations
	// Server is the host:port of the server ("" for a Store over a
	// caller's pool). On a cluster it is set at OperationEnd: the node every
	// round trip of the operation went to, "" when they went to several
	// (each RoundTrip names its own).
	Server string

	Start time.Time
	// Count is how many objects a bulk operation was given (ids or
	// objects), or how many operations a Batch or Tx queued; for queries,
	// Reindex, Sweep and DeleteWhere, how many objects they returned or
	// processed; 0 otherwise.
	Count int
	// Units is how many units went (each one a script call, a MULTI/EXEC
	// block or a group of plain commands: what one operation sends alone),
	// RoundTrips how many round trips: both 0 when nothing was sent
	// (refused arguments, a queue context). Those of nested operations
	// count here too.
	Units, RoundTrips int
	// Commands are the distinct scripts (by name, lower case: "save" is
	// lua/save.lua) and commands (upper case: "HGETALL") sent, in the
	// order first sent.
	Commands []string
	Duration time.Duration
	Err      error
}

// RoundTrip describes one round trip for a Hook.
type RoundTrip struct {
	Op       *Operation // the operation it belongs to; nil outside one
	Commands int        // commands written (MULTI and EXEC included)
	Server   string     // host:port it went to (on a cluster, the node); "" over a caller's pool
	Start    time.Time
	Duration time.Duration
	Err      error // the round trip's (network, context); error replies are the operation's
}

// WithHook adds h to the hooks the Store calls around every operation and
// round trip (see Hook). Hooks run in the order given. Default: none.
func WithHook(h Hook) Option {
	return optionFunc(func(c *config) {
		if h != nil {
			c.hooks = append(c.hooks, h)
		}
	})
}

// WithSlowThreshold logs, at Warn on WithLogger's logger, every operation
// that took d or longer (its name, model, id, duration, round trips and
// units). Default: 0, off.
func WithSlowThreshold(d time.Duration) Option {
	return optionFunc(func(c *config) { c.slow = d })
}

// observer is what a Store observes with: nil when there is nothing to
// call (no hook, no logger, no slow threshold), which is the fast path.
type observer struct {
	hooks  []Hook
	log    *slog.Logger // WithLogger's, else a silent one
	slow   time.Duration
	server func() string
}

// newObserver returns the Store's observer, nil when nothing observes.
func newObserver(s *Store, cfg *config) *observer {
	if len(cfg.hooks) == 0 && !cfg.logged && cfg.slow <= 0 {
		return nil
	}
	o := &observer{hooks: cfg.hooks, slow: cfg.slow, log: cfg.logger}
	o.server = sync.OnceValue(func() string { return hostPort(s.addr) })
	return o
}

// hostPort is the host:port of a redis:// URL, "" when there is none.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "6379")
	}
	return u.Host
}

// opState is an operation in flight: its Operation, kept in the
// operation's context so that round trips find it.
type opState struct {
	op     Operation
	st     *Store
	parent *opState
	ctx    context.Context // as the hooks returned it
	// lastErr is the last error an iterator yielded (Iter).
	lastErr error
	mu      sync.Mutex // Units, RoundTrips, Commands, node, nodes: a nested operation's function may run goroutines
	// node is, on a cluster, the node of the operation's round trips while
	// they all went to one (nodes > 1: to several).
	node  string
	nodes int
}

type opKey struct{}

// opOf returns the operation in flight in ctx, nil when none.
func opOf(ctx context.Context) *opState {
	o, _ := ctx.Value(opKey{}).(*opState)
	return o
}

// begin starts observing an operation of s: it returns the context the
// operation goes on with and its state, which end completes. Without an
// observer (or with only a logger whose levels are off) it returns ctx
// and nil, and end does nothing.
func (s *Store) begin(ctx context.Context, name, model, id string) (context.Context, *opState) {
	if s == nil || s.obs == nil {
		return ctx, nil
	}
	return s.obs.begin(ctx, s, name, model, id, "")
}

// beginField is begin for an operation on field f.
func (s *Store) beginField(ctx context.Context, name, model, id string, f handle) (context.Context, *opState) {
	if s == nil || s.obs == nil {
		return ctx, nil
	}
	return s.obs.begin(ctx, s, name, model, id, f.fullName())
}

func (ob *observer) begin(ctx context.Context, s *Store, name, model, id, field string) (context.Context, *opState) {
	if len(ob.hooks) == 0 && ob.slow <= 0 && !ob.log.Enabled(ctx, slog.LevelDebug) {
		return ctx, nil
	}
	o := &opState{st: s, parent: opOf(ctx)}
	o.op = Operation{Name: name, Model: model, ID: id, Field: field, Start: time.Now()}
	if s.cl == nil {
		o.op.Server = ob.server()
	}
	for _, h := range ob.hooks {
		ctx = h.OperationStart(ctx, &o.op)
	}
	o.ctx = ctx
	return context.WithValue(ctx, opKey{}, o), o
}

// count sets the operation's Count.
func (o *opState) count(n int) {
	if o != nil {
		o.op.Count = n
	}
}

// seq wraps an iterator's yield: an error yielded becomes the
// operation's, the objects yielded its Count; the caller ends the
// operation when the iteration ends (with the yield's last error).
func seq[P any](o *opState, yield func(P, error) bool) func(P, error) bool {
	return func(p P, err error) bool {
		if err != nil {
			o.lastErr = err
		} else {
			o.op.Count++
		}
		return yield(p, err)
	}
}

// end completes the operation with its error: hooks, then logs.
func (o *opState) end(err error) {
	if o != nil {
		o.finish(err)
	}
}

func (o *opState) finish(err error) {
	op := &o.op
	op.Duration, op.Err = time.Since(op.Start), err
	if o.st.cl != nil {
		o.mu.Lock()
		if o.nodes == 1 {
			op.Server = o.node
		}
		o.mu.Unlock()
	}
	ob := o.st.obs
	for i := len(ob.hooks) - 1; i >= 0; i-- {
		ob.hooks[i].OperationEnd(o.ctx, op)
	}
	if p := o.parent; p != nil {
		o.mu.Lock()
		units, trips, cmds := op.Units, op.RoundTrips, op.Commands
		o.mu.Unlock()
		o.mu.Lock()
		node, nodes := o.node, o.nodes
		o.mu.Unlock()
		p.mu.Lock()
		switch {
		case nodes == 1:
			p.noteNode(node)
		case nodes > 1:
			p.node, p.nodes = "", 2
		}
		p.op.Units += units
		p.op.RoundTrips += trips
		for _, c := range cmds {
			p.op.Commands = addName(p.op.Commands, c)
		}
		p.mu.Unlock()
	}
	ctx := o.ctx
	if err != nil && ob.log.Enabled(ctx, slog.LevelDebug) {
		ob.log.LogAttrs(ctx, slog.LevelDebug, "rapyer: operation failed", o.attrs(slog.Any("err", err))...)
	}
	if ob.slow > 0 && op.Duration >= ob.slow && ob.log.Enabled(ctx, slog.LevelWarn) {
		ob.log.LogAttrs(ctx, slog.LevelWarn, "rapyer: slow operation", o.attrs(slog.Duration("duration", op.Duration),
			slog.Int("round_trips", op.RoundTrips), slog.Int("units", op.Units), slog.Any("err", err))...)
	}
}

// attrs are a log line's attributes: the operation, its model, id and
// field when it has them, then more.
func (o *opState) attrs(more ...slog.Attr) []slog.Attr {
	op := &o.op
	out := append(make([]slog.Attr, 0, 4+len(more)), slog.String("op", op.Name))
	if op.Model != "" {
		out = append(out, slog.String("model", op.Model))
	}
	if op.ID != "" {
		out = append(out, slog.String("id", op.ID))
	}
	if op.Field != "" {
		out = append(out, slog.String("field", op.Field))
	}
	return append(out, more...)
}

// addName appends name to names unless it is there already.
func addName(names []string, name string) []string {
	for _, n := range names {
		if n == name {
			return names
		}
	}
	return append(names, name)
}

// noteUnits adds r's units to the operation in flight in ctx (exec's
// call, before it sends); units that r.fill completes, as they are.
func (s *Store) noteUnits(ctx context.Context, r *request) {
	if s.obs == nil {
		return
	}
	if r.fill == nil {
		noteUnits(ctx, r.units)
		return
	}
	fill, units := r.fill, r.units
	r.fill = func(i int) {
		fill(i)
		noteUnits(ctx, units[i:i+1])
	}
}

// noteUnit is noteUnits for one unit (Store.one's call).
func (s *Store) noteUnit(ctx context.Context, u *ops.Unit) {
	if s.obs != nil {
		noteUnits(ctx, []ops.Unit{*u})
	}
}

func noteUnits(ctx context.Context, units []ops.Unit) {
	o := opOf(ctx)
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.op.Units += len(units)
	for i := range units {
		u := &units[i]
		if u.Script != nil {
			o.op.Commands = addName(o.op.Commands, u.Script.Name())
			continue
		}
		for _, c := range u.Cmds {
			o.op.Commands = addName(o.op.Commands, c.Name)
		}
	}
}

// noteNode records that a round trip of o went to node (a cluster's);
// under o.mu.
func (o *opState) noteNode(node string) {
	switch {
	case node == "": // not known (a connection pinned by its key)
	case o.nodes == 0:
		o.node, o.nodes = node, 1
	case node != o.node:
		o.node, o.nodes = "", 2
	}
}

// tripStart starts observing a round trip of n commands to node (the
// cluster node it goes to; "" on one server): nil without an observer,
// else what tripEnd completes.
func (s *Store) tripStart(ctx context.Context, n int, node string) (context.Context, *tripState) {
	if s.obs == nil {
		return ctx, nil
	}
	if len(s.obs.hooks) == 0 { // logs only: the count for the slow log
		if o := opOf(ctx); o != nil {
			o.mu.Lock()
			o.op.RoundTrips++
			o.mu.Unlock()
		}
		return ctx, nil
	}
	server := node
	if s.cl == nil {
		server = s.obs.server()
	}
	t := &tripState{ob: s.obs, rt: RoundTrip{Commands: n, Server: server, Start: time.Now()}}
	if o := opOf(ctx); o != nil {
		t.rt.Op = &o.op
		o.mu.Lock()
		o.op.RoundTrips++
		if s.cl != nil {
			o.noteNode(node)
		}
		o.mu.Unlock()
	}
	for _, h := range s.obs.hooks {
		ctx = h.RoundTripStart(ctx, &t.rt)
	}
	t.ctx = ctx
	return ctx, t
}

// tripState is a round trip in flight.
type tripState struct {
	ob  *observer
	rt  RoundTrip
	ctx context.Context
}

// tripEnd completes a round trip with its error.
func (t *tripState) end(err error) {
	if t == nil {
		return
	}
	t.rt.Duration, t.rt.Err = time.Since(t.rt.Start), err
	for i := len(t.ob.hooks) - 1; i >= 0; i-- {
		t.ob.hooks[i].RoundTripEnd(t.ctx, &t.rt)
	}
}

// doTrip is Store.do as one observed round trip (execOne's).
func (s *Store) doTrip(ctx context.Context, c link, cmd string, args ...any) (any, error) {
	if s.obs == nil {
		return s.do(ctx, c, cmd, args...)
	}
	ctx, t := s.tripStart(ctx, 1, c.addr)
	r, err := s.do(ctx, c, cmd, args...)
	if _, reply := err.(redis.Error); reply {
		t.end(nil)
	} else {
		t.end(err)
	}
	return r, err
}
