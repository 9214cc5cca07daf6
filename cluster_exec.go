package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// part is what the cluster executor sends: a unit, or one command of a
// plain unit (cmd >= 0).
type part struct {
	unit, cmd int
	u         ops.Unit
	addr      string
	ask       bool // send ASKING first
}

// redirect is a cluster error reply's meaning.
type redirect struct {
	kind byte // 'M' MOVED, 'A' ASK, 'T' TRYAGAIN or CLUSTERDOWN, 'X' CROSSSLOT
	addr string
}

// redirectOf reads err (a unit's or a Tx's error reply).
func redirectOf(err error) (redirect, bool) {
	var re redis.Error
	if !errors.As(err, &re) {
		return redirect{}, false
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
// (any master for ""); on one server, from the pool.
func (s *Store) connFor(ctx context.Context, route string) (redis.Conn, error) {
	if s.cl == nil {
		return s.conn(ctx)
	}
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	addr, err := s.routeAddr(route)
	if err != nil {
		return nil, err
	}
	return s.connAt(ctx, addr)
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

// oneCluster is Store.one on a cluster.
func (s *Store) oneCluster(ctx context.Context, u *ops.Unit) (any, error) {
	res, err := s.execCluster(ctx, request{units: []ops.Unit{*u}})
	if err != nil {
		return nil, err
	}
	if len(res[0].Replies) == 0 {
		return nil, res[0].Err
	}
	return res[0].Replies[0], nil
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
	var parts []part
	for i := range r.units {
		u := &r.units[i]
		if u.Script != nil || u.Multi || len(u.Cmds) == 1 {
			parts = append(parts, part{unit: i, cmd: -1, u: *u})
			continue
		}
		for j, c := range u.Cmds {
			parts = append(parts, part{unit: i, cmd: j, u: ops.Unit{Cmds: []ops.Cmd{c}, Read: u.Read, Node: u.Node}})
		}
	}
	results := make([]ops.Result, len(parts))
	todo := make([]int, len(parts))
	for i := range todo {
		todo[i] = i
	}
	if err := s.sendParts(ctx, parts, results, todo, r.sent); err != nil {
		return nil, err
	}
	out := make([]ops.Result, len(r.units))
	for i, p := range parts {
		if p.cmd < 0 {
			out[p.unit] = results[i]
			continue
		}
		o := &out[p.unit]
		if o.Replies == nil {
			o.Replies = make([]any, len(r.units[p.unit].Cmds))
		}
		var rep any
		if len(results[i].Replies) > 0 {
			rep = results[i].Replies[0]
		} else if results[i].Err != nil {
			rep = redis.Error(results[i].Err.Error())
		}
		o.Replies[p.cmd] = rep
	}
	for i := range out {
		if r.units[i].Script == nil && !r.units[i].Multi && len(r.units[i].Cmds) > 1 {
			out[i].Err = ops.FirstError(out[i].Replies)
		}
	}
	return out, nil
}

// sendParts sends parts[todo...] and follows their redirections until each
// has a result that is not one, or the request fails.
func (s *Store) sendParts(ctx context.Context, parts []part, results []ops.Result, todo []int, sent func()) error {
	hops := make(map[int]int)
	var wait backoff
	for len(todo) > 0 {
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
		run := func(g int, sent func()) {
			idx := groups[order[g]]
			errs[g], unsent[g] = s.sendGroup(ctx, parts, idx, results, sent)
		}
		for g := 1; g < len(order); g++ {
			wg.Add(1)
			go func() { defer wg.Done(); run(g, nil) }()
		}
		run(0, sent)
		sent = nil
		wg.Wait()
		for g, err := range errs {
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
				rd, ok := redirectOf(results[i].Err)
				if !ok {
					continue
				}
				p := &parts[i]
				s.cfg.logger.Debug("rapyer: cluster redirection", "reply", results[i].Err.Error())
				switch rd.kind {
				case 'X':
					results[i].Err = fmt.Errorf("%w: %v (one unit's keys span hash slots)", ErrInvalid, results[i].Err)
					continue
				case 'M', 'A':
					if hops[i]++; hops[i] > maxRedirects {
						results[i].Err = fmt.Errorf("%w: %d redirections (%v)", ErrUnavailable, hops[i]-1, results[i].Err)
						continue
					}
					p.addr, p.ask = rd.addr, rd.kind == 'A'
					if rd.kind == 'M' {
						go s.cl.refresh(false) //nolint:errcheck // the next MOVED says it again
					}
				case 'T':
					p.addr, p.ask, down = "", false, true
				}
				next = append(next, i)
			}
		}
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

// sendGroup sends parts[idx...] to their node in one request and puts
// their results in place. unsent reports an error met before anything was
// written (no connection to the node).
func (s *Store) sendGroup(ctx context.Context, parts []part, idx []int, results []ops.Result, sent func()) (err error, unsent bool) {
	first := &parts[idx[0]]
	c, err := s.connAt(ctx, first.addr)
	if err != nil {
		return err, true
	}
	defer c.Close()
	if first.ask {
		res, err := s.execOn(ctx, link{c: c}, request{units: []ops.Unit{first.u}, asking: true, sent: sent})
		if err != nil {
			return err, false
		}
		results[idx[0]] = res[0]
		return nil, false
	}
	units := make([]ops.Unit, len(idx))
	for k, i := range idx {
		units[k] = parts[i].u
	}
	res, err := s.execOn(ctx, link{c: c}, request{units: units, sent: sent})
	if err != nil {
		return err, false
	}
	for k, i := range idx {
		results[i] = res[k]
	}
	return nil, false
}

// txCluster runs a Tx on a cluster: every unit in one hash slot (checked
// before anything is sent), then MULTI/EXEC on its master, sent again
// whole on MOVED or ASK (EXEC aborted: nothing ran) and after TRYAGAIN.
func (s *Store) txCluster(ctx context.Context, r request) ([]ops.Result, error) {
	route, slot := "", -1
	for i := range r.units {
		k := r.units[i].Route()
		sl := slotOf(k)
		if sl < 0 {
			continue
		}
		if slot >= 0 && sl != slot {
			return nil, fmt.Errorf("%w: a Tx on a cluster must stay in one hash slot: %q and %q are in slots %d and %d (one object, or objects of one shard, per Tx; a Batch may span slots)", ErrInvalid, route, k, slot, sl)
		}
		route, slot = k, sl
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
		c, err := s.connAt(ctx, addr)
		var res []ops.Result
		if err == nil {
			rr := r
			rr.asking = asking
			res, err = s.execOn(ctx, link{c: c}, rr)
			c.Close()
			if err == nil {
				return res, nil
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

// pingCluster is Ping on a cluster: the slot map read again, then PING and
// every script loaded (SCRIPT LOAD) on every master, each on its own
// connection.
func (s *Store) pingCluster(ctx context.Context) error {
	if err := s.usable(ctx); err != nil {
		return &Error{Op: "Ping", Err: err}
	}
	if err := s.cl.refresh(true); err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			err = fmt.Errorf("%w: not a cluster (%v)", ErrInvalid, err)
		}
		return &Error{Op: "Ping", Err: err}
	}
	ms, err := s.cl.masters()
	if err != nil {
		return &Error{Op: "Ping", Err: err}
	}
	for _, addr := range ms {
		c, err := s.connAt(ctx, addr)
		if err == nil {
			_, err = s.do(ctx, link{c: c}, "PING")
			if err == nil {
				err = s.loadScripts(ctx, c)
			} else {
				c.Close()
			}
		}
		if err != nil {
			return &Error{Op: "Ping", Err: fmt.Errorf("node %s: %w", addr, scriptError(err))}
		}
	}
	s.loaded.Store(true)
	return nil
}

// backoff waits between attempts: 10 ms, doubling to 200 ms, for as long
// as the context allows (clusterWait when it has no deadline).
type backoff struct {
	next  time.Duration
	until time.Time
}

func (b *backoff) sleep(ctx context.Context) error {
	now := time.Now()
	if b.next == 0 {
		b.next = 10 * time.Millisecond
		b.until = now.Add(clusterWait)
		if dl, ok := ctx.Deadline(); ok {
			b.until = dl
		}
	}
	d := b.next
	if now.Add(d).After(b.until) {
		return ErrUnavailable
	}
	b.next = min(2*b.next, 200*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
