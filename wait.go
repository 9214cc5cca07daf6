package rapyer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Replication (WithWait). Redis replicates asynchronously: a master
// acknowledges a write before any replica has it, and a failover promotes
// a replica that may lack the last writes. WAIT n timeout, sent after a
// write on the same connection, blocks until n replicas acknowledged every
// write the connection made, or the timeout passed, and replies how many
// did. The executor appends it to every request that writes (exec.go's
// execOn and execTx), in the same round trip, on a connection of its own
// (WAIT blocks the connection: on a multiplexed one it would hold the
// other callers' replies).

// WaitOption is WithWait's option: a Store option (every write of the
// Store), a BatchOption (the writes of one Batch or Tx) and a ManyOption
// (the writes of one bulk call: SaveMany, InsertMany, DeleteMany,
// DuplicateMany, DeleteKeys). Given to a call, it replaces the Store's for
// that call.
type WaitOption struct{ w waitSpec }

// waitSpec is what WithWait asked: WAIT replicas timeout after each write.
type waitSpec struct {
	replicas int
	timeout  time.Duration
	set      bool // given (a per-call WithWait(0, ...) turns the Store's off)
}

// WithWait makes every write wait until replicas replicas acknowledged it,
// at most timeout: WAIT replicas timeout (in milliseconds, rounded up) is
// appended to each request that writes, in the same round trip (on a
// cluster, one WAIT per node the request went to). A write that fewer
// replicas acknowledged in time returns an error wrapping ErrNotReplicated
// that says how many of how many: the write happened on the master (local
// values are updated as on success), it is just not known to be on enough
// replicas, so a failover may still lose it. Reads never wait. Requests
// that wait go on a connection of the pool, never on a multiplexed one
// (WAIT blocks its connection), and their read timeout is lengthened by
// timeout.
//
// Writes are Save, Insert, Update, Delete, the field and container
// operations that write, SetTTL and Persist, the bulk writes, Batch and
// Tx, locks (Lock, Extend, Unlock, WithLock's save), blocking pops (the
// WAIT goes with the version bump that follows the pop), DeleteWhere,
// Sweep and Reindex.
//
// Given to Open, OpenCluster or NewStore it applies to every write of the
// Store; given to Batch, Tx or a bulk call it applies to that call's
// writes, in place of the Store's; a single operation (Save, Incr, ...)
// takes one by running in a Batch. A Batch, Tx or bulk call queued in an
// outer Batch or Tx runs with the outer one's. WithWait(0, ...) waits for
// nothing (per call: turns the Store's off for that call). Default: no
// WAIT.
//
// On one server without replicas WithWait(1, t) fails every write with
// ErrNotReplicated after t. The embedded server answers WAIT at once with
// 0 replicas (it has none): ErrNotReplicated at once. Errors: ErrInvalid
// (at Open, or at the call) for replicas < 0, timeout < 0, or timeout 0
// with replicas > 0 (WAIT 0 would block for ever).
func WithWait(replicas int, timeout time.Duration) WaitOption {
	return WaitOption{waitSpec{replicas: replicas, timeout: timeout, set: true}}
}

func (o WaitOption) apply(c *config)           { c.wait = o.w }
func (o WaitOption) applyBatch(c *batchConfig) { c.wait = o.w }
func (o WaitOption) applyMany(c *manyConfig)   { c.wait = o.w }
func (w waitSpec) on() bool                    { return w.replicas > 0 }
func (w waitSpec) args() []any                 { return []any{w.replicas, w.millis()} }
func (w waitSpec) millis() int64               { return int64((w.timeout + time.Millisecond - 1) / time.Millisecond) }
func (w waitSpec) String() string              { return fmt.Sprintf("WithWait(%d, %v)", w.replicas, w.timeout) }

// waitKey carries a per-call WithWait in the call's context.
type waitKey struct{}

// check validates a WithWait given as w: nil when fine or not given.
func (w waitSpec) check() error {
	switch {
	case !w.set:
		return nil
	case w.replicas < 0:
		return fmt.Errorf("%w: %v: replicas must be 0 or more", ErrInvalid, w)
	case w.timeout < 0:
		return fmt.Errorf("%w: %v: negative timeout", ErrInvalid, w)
	case w.replicas > 0 && w.timeout == 0:
		return fmt.Errorf("%w: %v: a timeout is needed (WAIT with 0 blocks for ever)", ErrInvalid, w)
	}
	return nil
}

// perCall starts a call given w (a per-call WithWait): ctx carries it to
// the executor. An invalid one is ErrInvalid, nothing sent.
func (s *Store) perCall(ctx context.Context, w waitSpec) (context.Context, error) {
	if !w.set {
		return ctx, nil
	}
	if err := w.check(); err != nil {
		return ctx, err
	}
	if s != nil {
		s.waitCalls.Store(true)
	}
	return context.WithValue(ctx, waitKey{}, w), nil
}

// mayWait reports whether a request of this Store may carry WAIT: the
// Store waits, or a call was given its own WithWait.
func (s *Store) mayWait() bool { return s.cfg.wait.on() || s.waitCalls.Load() }

// waitOf is the WAIT for units sent with ctx: the call's WithWait, else
// the Store's; none when no unit writes.
func (s *Store) waitOf(ctx context.Context, units []ops.Unit) waitSpec {
	w := s.cfg.wait
	if s.waitCalls.Load() {
		if cw, ok := ctx.Value(waitKey{}).(waitSpec); ok {
			w = cw
		}
	}
	return waitFor(w, units)
}

// waitFor is w when some unit writes, else none.
func waitFor(w waitSpec, units []ops.Unit) waitSpec {
	if !w.on() {
		return waitSpec{}
	}
	for i := range units {
		if writes(&units[i]) {
			return w
		}
	}
	return waitSpec{}
}

// writes reports whether u may write: a script (but lua/read.lua and the
// query script, whose only write is dropping a stale index entry), or a
// command that is not a read. Units marked Read (whose PEXPIRE re-arms a
// TTL on a read) never wait; nor do blocking pops, whose WAIT goes with
// the touch script that follows each pop on the same connection.
func writes(u *ops.Unit) bool {
	if u.Read {
		return false
	}
	if u.Script != nil {
		return u.Script != lua.Read && u.Script != lua.Query
	}
	for _, c := range u.Cmds {
		if !readOnly[c.Name] {
			return true
		}
	}
	return false
}

// readOnly lists the commands the library sends that never write.
var readOnly = map[string]bool{
	"GET": true, "HGET": true, "HMGET": true, "HGETALL": true, "HSTRLEN": true, "HLEN": true,
	"HEXISTS": true, "EXISTS": true, "TTL": true, "PTTL": true, "SCAN": true, "LRANGE": true,
	"LLEN": true, "LINDEX": true, "SMEMBERS": true, "SISMEMBER": true, "SCARD": true,
	"ZRANGE": true, "ZCARD": true, "ZSCORE": true, "ZRANK": true, "ZCOUNT": true,
	"ZRANGEBYSCORE": true, "ZREVRANGEBYSCORE": true, "ZRANGEBYLEX": true, "ZLEXCOUNT": true,
	"PING": true, "SCRIPT": true, "WATCH": true, "UNWATCH": true, "MULTI": true, "EXEC": true,
	"BLPOP": true, "BRPOP": true, "BLMOVE": true, "BZPOPMIN": true, "BZPOPMAX": true,
}

// acked reads WAIT's reply: nil when at least w.replicas acknowledged,
// else an error wrapping ErrNotReplicated with the numbers.
func (w waitSpec) acked(reply any) error {
	n, err := redis.Int(reply, nil)
	if err != nil {
		return fmt.Errorf("%w: WAIT failed: %v (the write was applied on the master)", ErrNotReplicated, err)
	}
	if n >= w.replicas {
		return nil
	}
	return fmt.Errorf("%w: %d of %d replicas acknowledged within %v (the write was applied on the master)", ErrNotReplicated, n, w.replicas, w.timeout)
}

// shortOf splits an executor error: short is a WAIT that counted too few
// replicas (every unit ran, the results stand), hard anything else.
func shortOf(err error) (hard, short error) {
	if err != nil && errors.Is(err, ErrNotReplicated) {
		return nil, err
	}
	return err, nil
}

// waitLog keeps the first WAIT short of its count that a maintenance walk
// (Sweep, Reindex) met: the walk finishes its work (each write happened)
// and reports it at the end.
type waitLog struct{ first error }

// keep returns err without a WAIT short of its count, which it keeps.
func (w *waitLog) keep(err error) error {
	hard, short := shortOf(err)
	if short != nil && w.first == nil {
		w.first = short
	}
	return hard
}

// exec is indexExec keeping the WAITs short of their count.
func (w *waitLog) exec(st *Store) index.Exec {
	ex := indexExec(st)
	return func(ctx context.Context, units []ops.Unit) ([]ops.Result, error) {
		res, err := ex(ctx, units)
		return res, w.keep(err)
	}
}
