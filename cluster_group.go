package rapyer

import (
	"context"
	"fmt"

	"github.com/rapyer-go/rapyer/ops"
)

// One node's group of a cluster request (cluster_exec.go): its request,
// and where its replies go.

// rawRoute is a cluster request's request.raw and where each of its units'
// replies start (off, by unit) in the order the request gave them.
type rawRoute struct {
	fn  func(i int, b []byte) bool
	off []int
}

// newRawRoute is r's rawRoute; nil without r.raw.
func newRawRoute(r request) *rawRoute {
	if r.raw == nil {
		return nil
	}
	rr := &rawRoute{fn: r.raw, off: make([]int, len(r.units))}
	n := 0
	for i := range r.units {
		rr.off[i] = n
		n += r.units[i].Size()
	}
	return rr
}

// group is the request.raw of a group of parts[idx...] when they are all
// plain commands (a script's or a MULTI's replies are not its commands'):
// the group's reply k is offered under its index in the whole request.
func (rr *rawRoute) group(parts []part, idx []int) func(int, []byte) bool {
	if rr == nil {
		return nil
	}
	var at []int
	for _, i := range idx {
		p := &parts[i]
		if p.u.Script != nil || p.u.Multi {
			return nil
		}
		for j := range p.u.Cmds {
			c := j
			if p.cmds != nil {
				c = p.cmds[j]
			}
			at = append(at, rr.off[p.unit]+c)
		}
	}
	fn := rr.fn
	return func(k int, b []byte) bool { return k < len(at) && fn(at[k], b) }
}

// sendGroup sends parts[idx...] to their node in one request and puts
// their results in place. unsent reports an error met before anything was
// written (no connection to the node). A WAIT short of w's count (the
// results in place) is returned naming the node.
func (s *Store) sendGroup(ctx context.Context, parts []part, idx []int, results []ops.Result, sent func(), w waitSpec, raw *rawRoute) (err error, unsent bool) {
	first := &parts[idx[0]]
	var r request
	if first.ask { // alone in its group: ASKING and the unit, contiguous
		r = request{units: []ops.Unit{first.u}, asking: true, sent: sent}
	} else {
		units := make([]ops.Unit, len(idx))
		for k, i := range idx {
			units[k] = parts[i].u
		}
		r = request{units: units, sent: sent, raw: raw.group(parts, idx)}
	}
	r.wait = waitFor(w, r.units)
	l, err := s.linkAt(ctx, first.addr, shareable(&r))
	if err != nil {
		return err, true
	}
	defer l.release()
	res, err := s.execOn(ctx, l, r)
	hard, short := shortOf(err)
	if hard != nil {
		return hard, false
	}
	for k, i := range idx[:len(r.units)] {
		results[i] = res[k]
	}
	if short != nil && wroteHere(r.units, res) {
		return fmt.Errorf("node %s: %w", first.addr, short), false
	}
	return nil, false
}

// wroteHere reports whether a unit of units that writes ran on the node
// that replied res: not every one was redirected (MOVED, ASK, TRYAGAIN,
// CLUSTERDOWN: nothing ran there; the unit goes to another node, whose
// WAIT counts it). A WAIT on a node where nothing was written counts
// nothing of the request's: its answer is not the request's (a node that
// lost the slot may have no replica, or be a replica now).
func wroteHere(units []ops.Unit, res []ops.Result) bool {
	for k := range units {
		if !writes(&units[k]) || k >= len(res) {
			continue
		}
		if _, moved := redirectOf(res[k].Err); !moved {
			return true
		}
		for _, rep := range res[k].Replies { // plain commands: each on its own
			if _, moved := redirectOf(asError(rep)); !moved {
				return true
			}
		}
	}
	return false
}
