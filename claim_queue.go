package rapyer

import (
	"cmp"
	"context"

	"github.com/rapyer-go/rapyer/ops"
)

// Claims in a Batch or Tx. On a cluster a write of a unique value of a
// model over several shards claims the value first (claim.go). Queued, the
// write keeps its claims (queued.cs) and the queue claims them when it is
// sent: every value of the queue in one claimAll (one request, per node
// concurrently), then the queue, then one request settling them by each
// write's outcome. See DESIGN.md, "Decided for claims in a queue".

// unitClaims are the claims of the units of one queued call (per[i]: unit
// i's); whole makes a claim refused refuse every unit of the call
// (InsertMany: all or nothing for its claims).
type unitClaims struct {
	per   [][]*claim
	whole bool
}

// named marks the claims of a queued operation with its name, for their
// errors (claimAll names the operation whose value is taken).
func named(cs []*claim, op string) []*claim {
	for _, c := range cs {
		c.op = op
	}
	return cs
}

// queueClaims are the claims of a queue: each value once (the same object
// writing the same value twice in a queue claims it once), with the queued
// operations that set it.
type queueClaims struct {
	all    []*claim
	owners [][]int // per claim of all, its operations (positions in q.ops)
	of     [][]int // per operation, its claims (positions in all)
}

// claimsOf gathers the queue's claims; nil when no operation claims.
func (q *queue) claimsOf() *queueClaims {
	var qc *queueClaims
	at := map[string]int{}
	for i := range q.ops {
		for _, c := range q.ops[i].cs {
			if qc == nil {
				qc = &queueClaims{of: make([][]int, len(q.ops))}
			}
			k := c.key + "\x00" + c.sk + "\x00" + c.m.id
			j, ok := at[k]
			if !ok {
				j = len(qc.all)
				at[k] = j
				qc.all = append(qc.all, c)
				qc.owners = append(qc.owners, nil)
			}
			qc.owners[j] = append(qc.owners[j], i)
			qc.of[i] = append(qc.of[i], j)
		}
	}
	return qc
}

// sendQueue sends the queue's units (guarded when it must be: runGuarded)
// and returns a result per queued operation. When operations claim unique
// values, their claims are made first: a claim refused refuses its
// operation (its result is the claim's error, ErrExists naming field and
// value, as the write alone would return) and, for a call whose claims are
// all or nothing, every operation of the call; in a Tx any refusal sends
// nothing and is the Tx's error. Once the queue has run, each claim is
// confirmed when an operation that set it succeeded, released when every
// one of them wrote nothing (refused by its claims, an error reply, a Tx
// that EXEC or the guard refused), left pending when the outcome is
// unknown (a failed round trip: the lease and the owner check settle it).
// A WAIT short of its count on the claims is returned as the queue's
// short when the queue itself is not short (the writes stand).
func (s *Store) sendQueue(ctx context.Context, q *queue, units []ops.Unit, tx bool) ([]ops.Result, error) {
	qc := q.claimsOf()
	if qc == nil {
		return s.sendUnits(ctx, q, units, tx)
	}
	if tx || q.guarded() { // a Tx over several slots: refused before any claim
		if _, err := txRoute(units); err != nil {
			return nil, err
		}
	}
	errs, cshort, err := s.claimAll(ctx, "", qc.all)
	if err != nil {
		s.settle(ctx, qc.all, errNotWritten)
		return nil, err
	}
	refusedBy := qc.refusals(q, errs)
	outcomes := make([]error, len(q.ops))
	var send []int
	for i := range q.ops {
		if refusedBy[i] != nil {
			outcomes[i] = errNotWritten
			continue
		}
		send = append(send, i)
	}
	if e := firstErr(refusedBy); e != nil && tx {
		qc.settle(ctx, s, werrsOr(outcomes, errNotWritten))
		return nil, e // nothing sent
	}
	results := make([]ops.Result, len(q.ops))
	var sent []ops.Result
	if len(send) == len(q.ops) {
		sent, err = s.sendUnits(ctx, q, units, tx)
	} else if len(send) > 0 {
		sub := &queue{st: q.st, tx: q.tx, ops: make([]queued, len(send))}
		subUnits := make([]ops.Unit, len(send))
		for k, i := range send {
			sub.ops[k], subUnits[k] = q.ops[i], units[i]
		}
		sent, err = s.sendUnits(ctx, sub, subUnits, tx)
	}
	hard, short := shortOf(err)
	for k, i := range send {
		switch {
		case hard != nil:
			outcomes[i] = hard // refused (nothing ran) or unknown
		case k < len(sent):
			results[i] = sent[k]
			outcomes[i] = sent[k].Err
		default:
			outcomes[i] = errUnknown
		}
	}
	for i, e := range refusedBy {
		if e != nil {
			results[i] = ops.Result{Err: e}
		}
	}
	qc.settle(ctx, s, outcomes)
	if hard != nil {
		return nil, hard
	}
	return results, cmp.Or(short, cshort)
}

// sendUnits sends a queue's units: guarded when the queue needs it (see
// runGuarded), else as one request (MULTI/EXEC for a Tx).
func (s *Store) sendUnits(ctx context.Context, q *queue, units []ops.Unit, tx bool) ([]ops.Result, error) {
	if q.guarded() {
		return s.runGuarded(ctx, q, units)
	}
	return s.exec(ctx, request{units: units, tx: tx})
}

// refusals is, per queued operation, the error of its first claim refused
// (nil: all taken); an operation of a whole call shares the first refusal
// among the call's operations.
func (qc *queueClaims) refusals(q *queue, errs []error) []error {
	refusedBy := make([]error, len(q.ops))
	byCall := map[int]error{}
	for i, cs := range qc.of {
		for _, j := range cs {
			if errs[j] != nil {
				refusedBy[i] = errs[j]
				break
			}
		}
		if o := &q.ops[i]; o.whole && refusedBy[i] != nil {
			if _, ok := byCall[o.call]; !ok {
				byCall[o.call] = refusedBy[i]
			}
		}
	}
	for i := range q.ops {
		if e, ok := byCall[q.ops[i].call]; ok && q.ops[i].whole && refusedBy[i] == nil {
			refusedBy[i] = e
		}
	}
	return refusedBy
}

// settle settles each claim by the outcomes of its operations (outcomes[i]
// the error of q.ops[i], nil when it succeeded): confirmed when one of
// them succeeded, released when none of them may have written, left
// pending otherwise (see Store.settleEach); one round trip.
func (qc *queueClaims) settle(ctx context.Context, s *Store, outcomes []error) {
	groups := make([][]*claim, len(qc.all))
	werrs := make([]error, len(qc.all))
	for j, c := range qc.all {
		groups[j] = []*claim{c}
		werrs[j] = errNotWritten
		for _, i := range qc.owners[j] {
			switch e := outcomes[i]; {
			case e == nil:
				werrs[j] = nil
			case !refused(e) && werrs[j] != nil:
				werrs[j] = errUnknown
			}
			if werrs[j] == nil {
				break
			}
		}
	}
	s.settleEach(ctx, groups, werrs)
}
