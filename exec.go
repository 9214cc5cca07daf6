package rapyer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// The executor: the one code that takes a connection and writes to it.
// Every path (single operations, Batch, Tx, bulk calls, queries and their
// loads, Sweep, Reindex, locks, Modify, Ping) builds ops.Units and sends
// them through Store.exec. It owns the NOSCRIPT recovery (a unit whose
// script the server lost is sent again whole by EVAL, never a part of it)
// and the MULTI/EXEC framing of a Tx.

// request is what the executor sends in one go.
type request struct {
	units []ops.Unit
	// tx sends every unit inside one MULTI/EXEC, scripts as EVAL of their
	// whole source, so that EXEC never meets NOSCRIPT. A nil EXEC (a WATCH
	// of a pinned connection fired) is ErrConflict.
	tx bool
	// sent, when set, runs after the commands are flushed and before the
	// replies are read: work that overlaps with the server's.
	sent func()
	// pin sends on a connection the caller holds (see Store.pinned), for
	// sequences that need one connection (WATCH, then MULTI/EXEC).
	pin *pinned
	// fill, when set, completes unit i just before it is written (its
	// commands' count already set): work that overlaps with the server's,
	// which answers the first units while the last are made.
	fill func(i int)
	// asking sends ASKING first (a cluster's ASK redirection: the next
	// command, or MULTI and what it queues, may use a migrating slot).
	asking bool
	// wait, when on, appends WAIT after the units (WithWait: wait.go); its
	// count short of what was asked is the request's error, wrapping
	// ErrNotReplicated, with every result in place.
	wait waitSpec
	// raw, when set, is offered the reply of the request's i-th command
	// (counted over its units in order) as its RESP bytes, in place in the
	// connection's buffer (valid only during the call), before it is
	// parsed; a reply it takes (true) stands as rawTaken{} among the
	// results. On a cluster it is called concurrently (one goroutine per
	// node), for different i. Offered only where the replies are read by rapyer's own
	// reader on a pooled connection (not under TLS, not multiplexed, not in
	// a Tx, not after ASKING): the caller handles either form. (A load of
	// many objects decodes each HGETALL in place: Schema.loadIDs.)
	raw func(i int, b []byte) bool
}

// pinned is a connection held across several requests.
type pinned struct {
	c    redis.Conn
	addr string // its cluster node ("" on one server, or not known)
}

// pinned runs fn with one connection from the pool, held until fn returns;
// requests with pin set go on it. When fn fails, a WATCH it sent may still
// be open (its EXEC never ran, or was refused): the connection goes back
// only after an UNWATCH that succeeds, and is discarded otherwise (an ACL
// refusing UNWATCH, a broken connection), so that no later caller meets a
// stale WATCH. (redigo's pool sends UNWATCH itself, but puts the
// connection back whatever the reply.)
//
// route is a key of what fn works on: on a cluster the connection goes to
// its node (on one server it is not used).
func (s *Store) pinned(ctx context.Context, route string, fn func(p *pinned) error) error {
	c, addr, err := s.connFor(ctx, route)
	if err != nil {
		return err
	}
	return s.pinnedOn(ctx, c, addr, fn)
}

// pinnedOn is pinned on c (of the cluster node addr; "" on one server),
// which it closes.
func (s *Store) pinnedOn(ctx context.Context, c redis.Conn, addr string, fn func(p *pinned) error) error {
	defer c.Close()
	err := fn(&pinned{c: c, addr: addr})
	if _, short := shortOf(err); err != nil && short == nil && c.Err() == nil { // (short: EXEC ran, no WATCH is open)
		if _, uerr := wireDoContext(context.WithoutCancel(ctx), c, "UNWATCH"); uerr != nil {
			s.cfg.logger.Debug("rapyer: UNWATCH failed, discarding the connection", "err", uerr)
			discard(c)
		}
	}
	return err
}

// discard makes the pool close c instead of keeping it: redigo's pool has
// no call for that, but it closes a connection whose Err is set, which a
// failed read does (a read deadline already past fails at once).
func discard(c redis.Conn) {
	_, _ = wireDo(c, -time.Second, "PING")
}

// exec sends r's units in one round trip (two when a script was lost) and
// returns one result per unit. Its error is for the request as a whole: the
// Store closed, the context, the network, a Tx that did not run; a unit's
// own error reply is in its result. Under WithWait, an error wrapping
// ErrNotReplicated comes with every result in place (see shortOf).
func (s *Store) exec(ctx context.Context, r request) ([]ops.Result, error) {
	if len(r.units) == 0 {
		return nil, nil
	}
	s.noteUnits(ctx, &r)
	r.wait = s.waitOf(ctx, r.units)
	if s.cl != nil && r.pin == nil {
		return s.execCluster(ctx, r)
	}
	c, err := s.link(ctx, r.pin, shareable(&r))
	if err != nil {
		return nil, err
	}
	defer c.release()
	return s.execOn(ctx, c, r)
}

// execOn is exec on the link c.
func (s *Store) execOn(ctx context.Context, c link, r request) ([]ops.Result, error) {
	if r.tx {
		return s.execTx(ctx, c, r)
	}
	if len(r.units) == 1 && r.sent == nil && !r.asking && !r.wait.on() {
		if reply, err, ok := s.execOne(ctx, c, &r.units[0]); ok {
			if err != nil {
				return nil, err
			}
			rs := []any{reply}
			return []ops.Result{{Replies: rs, Err: ops.FirstError(rs)}}, nil
		}
	}
	n := 0
	var whole map[*lua.Script]bool // scripts sent whole (EVAL) in this request
	var eval []bool                // by unit: sent by EVAL
	for i := range r.units {
		u := &r.units[i]
		if sc := u.Script; sc != nil && !s.knows(sc) {
			if whole == nil {
				whole, eval = map[*lua.Script]bool{}, make([]bool, len(r.units))
			}
			// A script this Store never sent goes whole, once per request:
			// one round trip instead of EVALSHA, NOSCRIPT, EVAL.
			eval[i] = !whole[sc]
			whole[sc] = true
		}
		n += u.Size()
	}
	pos := 0
	if r.asking {
		n, pos = n+1, 1
	}
	if r.wait.on() {
		n++
	}
	raw := r.raw
	if r.asking {
		raw = nil // ASKING's reply comes first
	}
	replies, err := s.roundTrip(ctx, c, n, r.sent, r.wait, raw, func(send sendFunc) error {
		if r.asking {
			if err := send("ASKING"); err != nil {
				return err
			}
		}
		for i := range r.units {
			if r.fill != nil {
				r.fill(i)
			}
			if err := writeUnit(send, &r.units[i], i < len(eval) && eval[i]); err != nil {
				return err
			}
		}
		return sendWait(send, r.wait)
	})
	if err != nil {
		return nil, err
	}
	var short error
	if r.wait.on() {
		short = r.wait.acked(replies[len(replies)-1])
		replies = replies[:len(replies)-1]
	}
	out := make([]ops.Result, len(r.units))
	var retry []ops.Unit // sent again: each whole, never a part
	var at []int         // their positions
	for i := range r.units {
		u := &r.units[i]
		rs, err := unitReplies(u, replies, &pos)
		switch {
		case u.Script != nil && ops.IsNoScript(err):
			// Nothing of it ran: the whole script again, by EVAL.
			retry, at = append(retry, *u), append(at, i)
			continue
		case u.Read && u.Multi && isOOM(err):
			// Nothing of it ran (EXEC aborted): the reads again, in a
			// script, which an out-of-memory server still runs.
			retry, at = append(retry, u.ReadScript()), append(at, i)
			continue
		}
		out[i] = ops.Result{Replies: rs, Err: err}
	}
	for sc := range whole {
		s.known.Store(sc, struct{}{})
	}
	if len(retry) == 0 {
		return out, short
	}
	s.cfg.logger.Debug("rapyer: sending units again (scripts not cached, or reads refused in MULTI)", "units", len(retry))
	w := 0
	if r.wait.on() {
		w = 1
	}
	again, err := s.roundTrip(ctx, c, len(retry)+w, nil, r.wait, nil, func(send sendFunc) error {
		for i := range retry {
			if err := writeUnit(send, &retry[i], true); err != nil {
				return err
			}
		}
		return sendWait(send, r.wait)
	})
	if err != nil {
		return nil, err
	}
	if r.wait.on() { // this WAIT covers the first round trip's writes too
		short = r.wait.acked(again[len(again)-1])
		again = again[:len(again)-1]
	}
	for j, i := range at {
		rs := again[j : j+1]
		res := ops.Result{Replies: rs, Err: ops.FirstError(rs)}
		if r.units[i].Script == nil && res.Err == nil { // a read unit: EXEC's replies
			res.Replies, _ = rs[0].([]any)
			res.Err = ops.FirstError(res.Replies)
		}
		if res.Err == nil {
			s.known.Store(retry[j].Script, struct{}{})
		}
		out[i] = res
	}
	return out, short
}

// knows reports whether the server has been sent sc by this Store (SCRIPT
// LOAD at Ping, or a whole EVAL since): EVALSHA is then expected to hit.
func (s *Store) knows(sc *lua.Script) bool {
	_, ok := s.known.Load(sc)
	return ok
}

// execOne sends a unit of one command (a script call, or one plain
// command) with a single Do: no reply slice to gather. Its reply may be an
// error reply (a redis.Error value); err is for the round trip. ok is false
// for other units.
func (s *Store) execOne(ctx context.Context, c link, u *ops.Unit) (r any, err error, ok bool) {
	switch {
	case u.Script != nil:
		whole := !s.knows(u.Script)
		name, args := u.EvalArgs(whole)
		r, err = s.doTrip(ctx, c, name, args...)
		if !whole && ops.IsNoScript(err) {
			s.cfg.logger.Debug("rapyer: script not cached, sending it", "script", u.Script.Name())
			args[0] = u.Script.Src()
			r, err = s.doTrip(ctx, c, "EVAL", args...)
			whole = true
		}
		if whole && err == nil {
			s.known.Store(u.Script, struct{}{})
		}
	case !u.Multi && len(u.Cmds) == 1:
		r, err = s.doTrip(ctx, c, u.Cmds[0].Name, u.Cmds[0].Args...)
	default:
		return nil, nil, false
	}
	if _, isReply := err.(redis.Error); err != nil && !isReply {
		return nil, netErr(ctx, err), true
	}
	if err != nil {
		r = err
	}
	return r, nil, true
}

// execTx sends r's units as one MULTI/EXEC and splits EXEC's replies per
// unit. Script units go inside as EVAL with the whole script: an EVALSHA
// queued in MULTI meets NOSCRIPT when the server loses its scripts between
// queueing and EXEC (SCRIPT FLUSH, a failover), and then only that unit
// fails while the others run. EVAL cannot fail that way.
func (s *Store) execTx(ctx context.Context, c link, r request) ([]ops.Result, error) {
	n := 0
	for i := range r.units {
		n += r.units[i].Inlined()
	}
	skip, w := 0, 0
	if r.asking {
		skip = 1
	}
	if r.wait.on() {
		w = 1
	}
	replies, err := s.roundTrip(ctx, c, skip+2+n+w, r.sent, r.wait, nil, func(send sendFunc) error {
		if r.asking {
			if err := send("ASKING"); err != nil {
				return err
			}
		}
		if err := send("MULTI"); err != nil {
			return err
		}
		for i := range r.units {
			u := &r.units[i]
			var err error
			if u.Script != nil {
				err = writeUnit(send, u, true)
			} else {
				err = writeCmds(send, u.Cmds)
			}
			if err != nil {
				return err
			}
		}
		if err := send("EXEC"); err != nil {
			return err
		}
		return sendWait(send, r.wait)
	})
	if err != nil {
		return nil, err
	}
	var short error
	if r.wait.on() {
		short = r.wait.acked(replies[len(replies)-1])
		replies = replies[:len(replies)-1]
	}
	replies = replies[skip:]
	if err := ops.FirstError(replies[:1]); err != nil {
		// MULTI itself was refused: whatever was queued after it ran on
		// its own, outside any transaction.
		return nil, fmt.Errorf("MULTI refused, the queued commands ran outside a transaction: %w", err)
	}
	exec, err := execReplies(replies[len(replies)-1], n)
	if exec == nil {
		if qerr := ops.FirstError(replies[1 : len(replies)-1]); qerr != nil && err != ErrConflict {
			err = qerr // EXEC aborted: the queued command's refusal says why
		}
		return nil, err
	}
	out := make([]ops.Result, len(r.units))
	pos := 0
	for i := range r.units {
		k := r.units[i].Inlined()
		rs := exec[pos : pos+k]
		out[i] = ops.Result{Replies: rs, Err: ops.FirstError(rs)}
		pos += k
	}
	return out, short
}

// sendWait writes WAIT when w is on.
func sendWait(send sendFunc, w waitSpec) error {
	if !w.on() {
		return nil
	}
	return send("WAIT", w.args()...)
}

// sendFunc writes one command: a connection's Send.
type sendFunc = func(name string, args ...any) error

// writeUnit sends the unit's commands; eval sends a script unit by EVAL
// (whole source) instead of EVALSHA.
func writeUnit(send sendFunc, u *ops.Unit, eval bool) error {
	switch {
	case u.Script != nil:
		// The arguments' slice is scratch, reused once send returns: the
		// senders encode them at once (redigo's Send, into its output
		// buffer) or copy them (keepSender), so the room serves the next
		// call (SaveMany's calls carry about 900
		// arguments each: a fifth of its allocated bytes was this slice).
		sp := evalScratch.Get().(*[]any)
		name, args := u.AppendEvalArgs((*sp)[:0], eval)
		err := send(name, args...)
		clear(args)
		if cap(args) <= 1<<14 {
			*sp = args[:0]
			evalScratch.Put(sp)
		}
		return err
	case u.Multi:
		if err := send("MULTI"); err != nil {
			return err
		}
		if err := writeCmds(send, u.Cmds); err != nil {
			return err
		}
		return send("EXEC")
	default:
		return writeCmds(send, u.Cmds)
	}
}

// evalScratch keeps the room of script calls' argument lists (writeUnit).
var evalScratch = sync.Pool{New: func() any { return new([]any) }}

func writeCmds(send sendFunc, cmds []ops.Cmd) error {
	for _, cm := range cmds {
		if err := send(cm.Name, cm.Args...); err != nil {
			return err
		}
	}
	return nil
}

// roundTrip writes a request's commands with write, flushes them and
// reads their n replies (error replies included as values), bounded by
// ctx; sent, when set, runs between the flush and the reads. On rapyer's
// own connections the commands are written inside DoContext, under ctx
// (a pinned connection excepted: its WATCH must go through the pool's
// connection, which sends UNWATCH when it goes back with one open). A
// request ending in WAIT (w on) may wait w's timeout more for its replies.
func (s *Store) roundTrip(ctx context.Context, l link, n int, sent func(), w waitSpec, raw func(int, []byte) bool, write func(sendFunc) error) (_ []any, err error) {
	if s.obs != nil { // hooks (hook.go)
		var t *tripState
		ctx, t = s.tripStart(ctx, n, l.addr)
		defer func() { t.end(err) }()
	}
	if l.p != nil {
		replies, err := l.p.roundTrip(ctx, n, sent, write)
		return replies, netErr(ctx, err)
	}
	c := l.c
	var r any
	switch kind := s.connKind.Load(); {
	case kind == connOurs && !l.pinned:
		ci := &callInfo{write: write, sent: sent, wait: w.timeout, raw: raw}
		r, err = wireDoContext(context.WithValue(ctx, callKey{}, ci), c, "")
	case kind == connPlain:
		if err = write(keepSender(c)); err == nil && sent != nil {
			if err = wireFlush(c); err == nil {
				sent()
			}
		}
		if err == nil {
			r, err = s.doPlain(ctx, c, s.cfg.readTimeout+w.timeout, "")
		}
	default: // pinned, or not known yet
		if err = write(keepSender(c)); err != nil {
			break
		}
		ci := &callInfo{sent: sent, wait: w.timeout}
		r, err = wireDoContext(context.WithValue(ctx, callKey{}, ci), c, "")
		s.learn(ci)
		if sent != nil && !ci.ran && err == nil {
			sent() // a connection of another kind: after the replies
		}
	}
	if err != nil {
		return nil, netErr(ctx, err)
	}
	replies, _ := r.([]any)
	if len(replies) != n {
		return nil, fmt.Errorf("rapyer: %d replies for %d commands", len(replies), n)
	}
	return replies, nil
}

// The kinds of connection a Store's pool gives: unknown until the first
// round trip shows it, rapyer's own (Open, Dial, NewConn: the context
// interrupts them without a goroutine) or plain redigo ones (a pool given to
// NewStore), which get the read timeout cut to the context's deadline, as
// redigo's DoContext would spawn a goroutine per call.
const (
	connUnknown int32 = iota
	connOurs
	connPlain
)

// do sends cmd (none when "") after what was written, and reads the
// replies, bounded by ctx as the connection's kind allows.
func (s *Store) do(ctx context.Context, l link, cmd string, args ...any) (any, error) {
	if l.p != nil {
		return l.do(ctx, cmd, args)
	}
	c := l.c
	switch s.connKind.Load() {
	case connOurs:
		return wireDoContext(ctx, c, cmd, args...)
	case connPlain:
		return s.doPlain(ctx, c, s.cfg.readTimeout, cmd, args...)
	}
	ci := &callInfo{}
	r, err := wireDoContext(context.WithValue(ctx, callKey{}, ci), c, cmd, args...)
	s.learn(ci)
	return r, err
}

// doPlain is do on a plain redigo connection: the read timeout is read
// (0: none), cut to ctx's deadline.
func (s *Store) doPlain(ctx context.Context, c redis.Conn, read time.Duration, cmd string, args ...any) (any, error) {
	if s.cfg.readTimeout == 0 {
		read = 0
	}
	timeout, err := readTimeout(ctx, read)
	if err != nil {
		return nil, err
	}
	r, err := wireDo(c, timeout, cmd, args...)
	if _, reply := err.(redis.Error); err != nil && !reply {
		err = netErr(ctx, err)
	}
	return r, err
}

// learn notes the kind of connection a round trip showed.
func (s *Store) learn(ci *callInfo) {
	if s.connKind.Load() != connUnknown {
		return
	}
	if ci.ours {
		s.connKind.Store(connOurs)
	} else {
		s.connKind.Store(connPlain)
	}
}

// unitReplies takes the unit's replies from a pipeline's, at *pos (moved
// past them): a script's reply, EXEC's replies (MULTI's OK and the QUEUED
// are skipped; an error there makes EXEC fail with EXECABORT), or the plain
// commands' replies; and the first error reply among them.
func unitReplies(u *ops.Unit, all []any, pos *int) ([]any, error) {
	p := *pos
	switch {
	case u.Script != nil:
		*pos = p + 1
		rs := all[p : p+1]
		return rs, ops.FirstError(rs)
	case u.Multi:
		*pos = p + len(u.Cmds) + 2
		rs, err := execReplies(all[p+len(u.Cmds)+1], len(u.Cmds))
		if rs == nil && err != nil {
			// EXEC aborted: a queued command was refused (OOM, NOPERM,
			// READONLY...); that refusal says why.
			if qerr := ops.FirstError(all[p : p+len(u.Cmds)+1]); qerr != nil {
				err = qerr
			}
		}
		return rs, err
	default:
		*pos = p + len(u.Cmds)
		rs := all[p : p+len(u.Cmds)]
		return rs, ops.FirstError(rs)
	}
}

// execReplies checks the reply of an EXEC that ran n queued commands: its
// replies, and the first error reply among them as the error.
func execReplies(exec any, n int) ([]any, error) {
	switch r := exec.(type) {
	case []any:
		if len(r) != n {
			return nil, fmt.Errorf("rapyer: EXEC returned %d replies for %d commands", len(r), n)
		}
		return r, ops.FirstError(r)
	case nil:
		return nil, ErrConflict
	case error:
		return nil, r
	default:
		return nil, fmt.Errorf("rapyer: unexpected EXEC reply %T", exec)
	}
}
