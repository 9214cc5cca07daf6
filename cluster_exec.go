package rapyer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// The executor on a cluster. A request's units are routed by their first
// key's hash slot: a script and a MULTI unit go whole to one node (an
// object's keys share a hash tag); a unit of plain commands (pipelined
// reads) is split per command, since each is independent. The parts are
// grouped per node and each group sent as one request on that node's
// connection, the groups concurrently (one goroutine per node after the
// first): one round trip per node, in parallel. Redirections are handled
// here, for every path, by sending a part again WHOLE, never a piece of
// it:
//
//	MOVED       the slot has a new owner: refresh the map (rate-limited)
//	            and send the part to the node named
//	ASK         the slot is migrating and the part's keys are there:
//	            ASKING, then the part, on the node named
//	TRYAGAIN    the part's keys are split by a migration, or
//	CLUSTERDOWN the cluster is failing over: wait (backing off) and send
//	            again, until the context's deadline; then ErrUnavailable
//	no conn     a node that cannot be dialled: nothing was sent; as
//	            CLUSTERDOWN, after a refresh of the map
//	CROSSSLOT   a bug or a bad key: ErrInvalid, never sent again
//
// A network error after the commands went out is returned as is, never
// sent again: the part may have run. A MULTI refused by MOVED or ASK on a
// queued command is aborted by EXEC (EXECABORT: nothing ran), which is what
// makes sending it again safe; redisc's RetryConn, which re-sends single
// commands, is never used.

// clusterWait bounds the wait for TRYAGAIN and CLUSTERDOWN when the context
// has no deadline.
const clusterWait = 5 * time.Second

// maxRedirects bounds MOVED and ASK hops for one part.
const maxRedirects = 16

// part is what the cluster executor sends: a unit, or the commands of a
// plain unit that go to one node (cmds: their positions in the unit).
type part struct {
	unit int
	cmds []int // nil: the whole unit
	u    ops.Unit
	addr string
	ask  bool // send ASKING first
}

// redirect is a cluster error reply's meaning.
type redirect struct {
	kind byte // 'M' MOVED, 'A' ASK, 'T' TRYAGAIN or CLUSTERDOWN, 'X' CROSSSLOT
	addr string
}

// redirectOf reads err (a unit's or a Tx's error reply).
func redirectOf(err error) (redirect, bool) {
	re, ok := err.(redis.Error)
	if !ok {
		if err == nil {
			return redirect{}, false
		}
		var wrapped redis.Error // (declared here: allocated only when reached)
		if !errors.As(err, &wrapped) {
			return redirect{}, false
		}
		re = wrapped
	}
	msg := string(re)
	code, rest, _ := strings.Cut(msg, " ")
	switch code {
	case "MOVED", "ASK":
		_, addr, ok := strings.Cut(rest, " ")
		if !ok || addr == "" {
			return redirect{}, false
		}
		return redirect{kind: code[0], addr: addr}, true
	case "TRYAGAIN", "CLUSTERDOWN":
		return redirect{kind: 'T'}, true
	case "CROSSSLOT":
		return redirect{kind: 'X'}, true
	}
	return redirect{}, false
}

// connFor takes a connection for route: on a cluster, to its slot's master
// (any master for ""), whose address it returns; on one server, from the
// pool ("").
func (s *Store) connFor(ctx context.Context, route string) (redis.Conn, string, error) {
	if s.cl == nil {
		c, err := s.conn(ctx)
		return c, "", err
	}
	if err := s.usable(ctx); err != nil {
		return nil, "", err
	}
	addr, err := s.routeAddr(route)
	if err != nil {
		return nil, "", err
	}
	c, err := s.connAt(ctx, addr)
	return c, addr, err
}

// routeAddr is the master for route; "" goes to the first master known.
func (s *Store) routeAddr(route string) (string, error) {
	if slot := slotOf(route); slot >= 0 {
		return s.cl.addrOf(slot)
	}
	ms, err := s.cl.masters()
	if err != nil {
		return "", err
	}
	if len(ms) == 0 {
		return "", fmt.Errorf("%w: no master known", ErrUnavailable)
	}
	return ms[0], nil
}

// nodes lists the addresses a walk over the whole keyspace visits: every
// master of a cluster; on one server a single "" (no Node set).
func (s *Store) nodes() ([]string, error) {
	if s.cl == nil {
		return []string{""}, nil
	}
	return s.cl.masters()
}

// oneCluster is Store.one on a cluster: u (one command) straight to its
// node, without the grouping of execCluster; a redirection reply (nothing
// ran) or a node that cannot be reached (nothing sent) hands the unit to
// execCluster, which follows it. CROSSSLOT is returned as it came.
func (s *Store) oneCluster(ctx context.Context, u *ops.Unit) (any, error) {
	addr := u.Node
	if addr == "" {
		var err error
		if addr, err = s.routeAddr(u.Route()); err != nil {
			return nil, err
		}
	}
	if l, err := s.linkAt(ctx, addr, unitBytes(u) <= muxMaxBytes); err == nil {
		r, err, _ := s.execOne(ctx, l, u)
		l.release()
		if rd, ok := redirectOf(asError(r)); err != nil || !ok || rd.kind == 'X' {
			return r, err
		}
	} else if ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrInvalid) {
		return nil, err
	}
	res, err := s.execCluster(ctx, request{units: []ops.Unit{*u}})
	if err != nil {
		return nil, err
	}
	if len(res[0].Replies) == 0 {
		return nil, res[0].Err
	}
	return res[0].Replies[0], nil
}

// asError is r when it is an error reply, else nil.
func asError(r any) error {
	if e, ok := r.(redis.Error); ok {
		return e
	}
	return nil
}

// execCluster is exec on a cluster, for requests that hold no connection.
func (s *Store) execCluster(ctx context.Context, r request) ([]ops.Result, error) {
	if r.fill != nil { // every unit complete before it is routed
		for i := range r.units {
			r.fill(i)
		}
		r.fill = nil
	}
	if r.tx {
		return s.txCluster(ctx, r)
	}
	parts, err := s.splitParts(r.units)
	if err != nil {
		return nil, err
	}
	results := make([]ops.Result, len(parts))
	todo := make([]int, len(parts))
	for i := range todo {
		todo[i] = i
	}
	hard, short := shortOf(s.sendParts(ctx, &parts, &results, todo, r.sent, r.wait, newRawRoute(r)))
	if hard != nil {
		return nil, hard
	}
	out := make([]ops.Result, len(r.units))
	for i, p := range parts {
		if p.cmds == nil {
			out[p.unit] = results[i]
			continue
		}
		o := &out[p.unit]
		if o.Replies == nil {
			o.Replies = make([]any, len(r.units[p.unit].Cmds))
		}
		for k, c := range p.cmds {
			var rep any
			if k < len(results[i].Replies) {
				rep = results[i].Replies[k]
			} else if results[i].Err != nil {
				rep = redis.Error(results[i].Err.Error())
			}
			o.Replies[c] = rep
		}
	}
	for i := range out {
		if r.units[i].Script == nil && !r.units[i].Multi && len(r.units[i].Cmds) > 1 {
			out[i].Err = ops.FirstError(out[i].Replies)
		}
	}
	return out, short
}

// splitParts makes the parts of units: a script, a MULTI unit or a unit of
// one command whole (routed when sent); a plain unit of several commands
// (independent reads) one part per node its commands' keys map to, the
// commands in their order.
func (s *Store) splitParts(units []ops.Unit) ([]part, error) {
	parts := make([]part, 0, len(units))
	var node []int        // a plain unit's commands: their part's index
	var count map[int]int // commands per part
	var at map[string]int // a plain unit's part per node
	for i := range units {
		u := &units[i]
		if u.Script != nil || u.Multi || len(u.Cmds) == 1 {
			parts = append(parts, part{unit: i, u: *u})
			continue
		}
		if at == nil {
			at, count = map[string]int{}, map[int]int{}
		}
		clear(at)
		clear(count)
		node = slices.Grow(node[:0], len(u.Cmds))[:len(u.Cmds)]
		for j := range u.Cmds {
			addr := u.Node
			if addr == "" {
				var err error
				if addr, err = s.routeAddr(cmdRoute(&u.Cmds[j])); err != nil {
					return nil, err
				}
			}
			k, ok := at[addr]
			if !ok {
				k = len(parts)
				at[addr] = k
				parts = append(parts, part{unit: i, addr: addr, u: ops.Unit{Read: u.Read, Node: u.Node}})
			}
			node[j] = k
			count[k]++
		}
		for k, n := range count { // room for each part's commands, once
			parts[k].cmds = make([]int, 0, n)
			parts[k].u.Cmds = make([]ops.Cmd, 0, n)
		}
		for j, k := range node {
			p := &parts[k]
			p.cmds = append(p.cmds, j)
			p.u.Cmds = append(p.u.Cmds, u.Cmds[j])
		}
	}
	return parts, nil
}

// cmdRoute is the key a plain command is routed by (its first argument).
func cmdRoute(c *ops.Cmd) string {
	u := ops.Unit{Cmds: []ops.Cmd{*c}}
	return u.Route()
}

// sendParts sends parts[todo...] and follows their redirections until each
// has a result that is not one, or the request fails. A part of several
// plain commands whose replies hold redirections leaves those commands to
// new parts of one command each (appended to parts and results). With w
// on, each node's group that writes ends in WAIT; a count short of w's is
// returned (wrapping ErrNotReplicated, naming the node) once every part
// has its result.
//
// raw, when set, is the request's request.raw, offered in each group the
// replies of plain parts (see rawRoute). The groups but the first, sent
// concurrently, offer them only once the first group's sent has run (the
// caller's objects are made there), and never if it did not run (its node
// could not be reached): then they parse them. A sent that did not run
// goes with the next pass.
func (s *Store) sendParts(ctx context.Context, partsp *[]part, resultsp *[]ops.Result, todo []int, sent func(), w waitSpec, raw *rawRoute) (oerr error) {
	var short error
	defer func() {
		if oerr == nil {
			oerr = short
		}
	}()
	hops := make(map[int]int)
	var wait backoff
	for len(todo) > 0 {
		parts, results := *partsp, *resultsp
		// Route what has no node yet (first pass, after TRYAGAIN).
		var retry []int // nothing sent: a node that could not be reached
		for _, i := range todo {
			if parts[i].addr == "" && parts[i].u.Node != "" {
				parts[i].addr = parts[i].u.Node
			} else if parts[i].addr == "" {
				addr, err := s.routeAddr(parts[i].u.Route())
				if err != nil {
					return err
				}
				parts[i].addr = addr
			}
		}
		groups := map[string][]int{}
		var order []string
		for _, i := range todo {
			a := parts[i].addr
			if parts[i].ask {
				a = "\x00ask" + strconv.Itoa(i) // alone: ASKING covers one command
			}
			if _, ok := groups[a]; !ok {
				order = append(order, a)
			}
			groups[a] = append(groups[a], i)
		}
		errs := make([]error, len(order))
		unsent := make([]bool, len(order))
		var wg sync.WaitGroup
		run := func(g int, sent func(), raw *rawRoute) {
			idx := groups[order[g]]
			errs[g], unsent[g] = s.sendGroup(ctx, parts, idx, results, sent, w, raw)
		}
		first, others, release := sent, raw, func() {}
		var ran atomic.Bool
		if sent != nil {
			ready := make(chan struct{})
			var once sync.Once
			release = func() { once.Do(func() { close(ready) }) }
			first = func() {
				sent()
				ran.Store(true)
				release()
			}
			if raw != nil {
				others = &rawRoute{fn: func(i int, b []byte) bool {
					<-ready
					return ran.Load() && raw.fn(i, b)
				}, off: raw.off}
			}
		}
		for g := 1; g < len(order); g++ {
			wg.Add(1)
			go func() { defer wg.Done(); run(g, nil, others) }()
		}
		run(0, first, raw)
		release()
		if ran.Load() {
			sent = nil
		}
		wg.Wait()
		for g, err := range errs {
			if _, sh := shortOf(err); sh != nil {
				if short == nil {
					short = sh
				}
				continue
			}
			if err == nil {
				continue
			}
			if !unsent[g] || ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrInvalid) {
				return err
			}
			// The node could not be reached: nothing was sent there.
			for _, i := range groups[order[g]] {
				parts[i].addr, parts[i].ask = "", false
				results[i] = ops.Result{Err: err}
				retry = append(retry, i)
			}
		}
		next := retry
		down := len(retry) > 0
		for _, g := range order {
			for _, i := range groups[g] {
				// *partsp and *resultsp grow here: indexed afresh each time.
				if p := (*partsp)[i]; len(p.cmds) > 1 && len((*resultsp)[i].Replies) == len(p.cmds) {
					// Plain commands: each redirected one goes on alone.
					for k, rep := range (*resultsp)[i].Replies {
						if e, isErr := rep.(redis.Error); !isErr {
							continue
						} else if _, ok := redirectOf(e); !ok {
							continue
						}
						*partsp = append(*partsp, part{unit: p.unit, cmds: p.cmds[k : k+1 : k+1],
							u: ops.Unit{Cmds: p.u.Cmds[k : k+1 : k+1], Read: p.u.Read, Node: p.u.Node}})
						*resultsp = append(*resultsp, ops.Result{Replies: []any{rep}, Err: asError(rep)})
						j := len(*partsp) - 1
						hops[j] = hops[i]
						if s.redirected(&(*partsp)[j], &(*resultsp)[j], hops, j, &down) {
							next = append(next, j)
						}
					}
					continue
				}
				if s.redirected(&(*partsp)[i], &(*resultsp)[i], hops, i, &down) {
					next = append(next, i)
				}
			}
		}
		parts, results = *partsp, *resultsp
		if down {
			if err := wait.sleep(ctx); err != nil {
				for _, i := range next {
					if results[i].Err != nil {
						results[i].Err = fmt.Errorf("%w: %v", ErrUnavailable, results[i].Err)
					}
				}
				if len(retry) > 0 {
					return fmt.Errorf("%w: %v", ErrUnavailable, results[retry[0]].Err)
				}
				return nil
			}
			if len(retry) > 0 {
				_ = s.cl.refresh(false)
			}
		}
		todo = next
	}
	return nil
}

// redirected reads a part's result: when it is a redirection to follow,
// it readies the part to be sent again (its node, ASKING; down for
// TRYAGAIN and CLUSTERDOWN) and reports true.
func (s *Store) redirected(p *part, res *ops.Result, hops map[int]int, i int, down *bool) bool {
	rd, ok := redirectOf(res.Err)
	if !ok {
		return false
	}
	s.cfg.logger.Debug("rapyer: cluster redirection", "reply", res.Err.Error())
	switch rd.kind {
	case 'X':
		res.Err = fmt.Errorf("%w: %v (one unit's keys span hash slots)", ErrInvalid, res.Err)
		return false
	case 'M', 'A':
		if hops[i]++; hops[i] > maxRedirects {
			res.Err = fmt.Errorf("%w: %d redirections (%v)", ErrUnavailable, hops[i]-1, res.Err)
			return false
		}
		p.addr, p.ask = rd.addr, rd.kind == 'A'
		if rd.kind == 'M' {
			go s.cl.refresh(false) //nolint:errcheck // the next MOVED says it again
		}
	case 'T':
		p.addr, p.ask, *down = "", false, true
	}
	return true
}

// txRoute is the key a Tx of units on a cluster is routed by: ErrInvalid
// when their keys are in more than one hash slot.
func txRoute(units []ops.Unit) (string, error) {
	route, slot := "", -1
	for i := range units {
		k := units[i].Route()
		sl := slotOf(k)
		if sl < 0 {
			continue
		}
		if slot >= 0 && sl != slot {
			return "", fmt.Errorf("%w: a Tx on a cluster must stay in one hash slot: %q and %q are in slots %d and %d (one object, or objects of one shard, per Tx; a Batch may span slots)", ErrInvalid, route, k, slot, sl)
		}
		route, slot = k, sl
	}
	return route, nil
}

// txCluster runs a Tx on a cluster: every unit in one hash slot (checked
// before anything is sent), then MULTI/EXEC on its master, sent again
// whole on MOVED or ASK (EXEC aborted: nothing ran) and after TRYAGAIN.
func (s *Store) txCluster(ctx context.Context, r request) ([]ops.Result, error) {
	route, err := txRoute(r.units)
	if err != nil {
		return nil, err
	}
	var wait backoff
	addr, asking := "", false
	for hops := 0; ; hops++ {
		if addr == "" {
			var err error
			if addr, err = s.routeAddr(route); err != nil {
				return nil, err
			}
		}
		rr := r
		rr.asking = asking
		l, err := s.linkAt(ctx, addr, shareable(&rr))
		var res []ops.Result
		if err == nil {
			res, err = s.execOn(ctx, l, rr)
			l.release()
			if hard, short := shortOf(err); hard == nil {
				if short != nil {
					short = fmt.Errorf("node %s: %w", addr, short)
				}
				return res, short
			}
			r.sent = nil
		} else if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return nil, err
		} else {
			err = fmt.Errorf("%w: %v", ErrUnavailable, err) // nothing sent
			_ = s.cl.refresh(false)
			addr = ""
			if werr := wait.sleep(ctx); werr != nil {
				return nil, err
			}
			continue
		}
		rd, ok := redirectOf(err)
		if !ok || hops >= maxRedirects {
			return nil, err
		}
		s.cfg.logger.Debug("rapyer: cluster redirection", "reply", err.Error())
		switch rd.kind {
		case 'X':
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		case 'M', 'A':
			addr, asking = rd.addr, rd.kind == 'A'
			if rd.kind == 'M' {
				go s.cl.refresh(false) //nolint:errcheck
			}
		case 'T':
			addr, asking = "", false
			if werr := wait.sleep(ctx); werr != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
		}
	}
}
