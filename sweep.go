package rapyer

import (
	"context"
	"fmt"

	"github.com/rapyer-go/rapyer/index"
)

// Sweep reclaims the index entries of dead objects (expired, or removed by
// something other than rapyer's Delete) in every shard of the model, and
// returns how many objects it reclaimed. Queries already skip such entries
// and reclaim those they meet; Sweep bounds index memory without waiting
// for a query, so call it from time to time (a ticker) on models whose
// objects expire.
//
// Each shard's x:all (lua/index.lua) is walked in id order by
// lua/sweep.lua, ChunkSize ids (default DefaultChunk) per script call: the
// script checks that each id's hash exists and removes every entry of the
// dead ones (x:i of each indexed field, x:rev, x:all). One round trip
// carries one call per shard still walking, so a sweep of n indexed objects
// over N shards takes about n/(N*ChunkSize)+1 round trips, and no script
// runs longer than one chunk. Each call is atomic, so Sweep is safe while
// writes continue: an object that dies after its chunk was swept is left to
// the next Sweep (or query). Other options are ignored. A model without
// indexes has nothing to sweep: 0, no I/O. On a cluster, for a model with
// a Unique field over several shards, Sweep also drops the stale claims of
// unique values (claim.go: confirmed, or pending past the lease, whose
// owner does not hold the value), three more round trips; they are not
// counted. Progress reports the index
// entries checked against their total (one more round trip, first). Sweep cannot be queued in a
// Batch or Tx (ErrInvalid). Under WithWait a write not acknowledged by
// enough replicas does not stop it: it sweeps everything and returns
// ErrNotReplicated with the count at the end. Errors: ErrInvalid (nil Store), the network's
// and the context's, returned with the count reclaimed so far.
func (s *Schema[M, P]) Sweep(ctx context.Context, st *Store, opts ...ManyOption) (ores int, oerr error) {
	ctx, o := st.begin(ctx, "Sweep", s.sc.name, "")
	defer func() {
		o.count(ores)
		o.end(oerr)
	}()
	const op = "Sweep"
	if st == nil {
		return 0, &Error{Op: op, Model: s.sc.name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	if len(s.sc.idx) == 0 {
		return 0, nil
	}
	cfg := manyOptions(opts)
	m := s.sc.withKeys(s.sc.indexModel(), st)
	var wl waitLog // a WAIT short of its count: reported at the end
	dead, err := index.Sweep(ctx, wl.exec(st), m, cfg.chunk, cfg.progress)
	if err != nil {
		return dead, &Error{Op: op, Model: s.sc.name, Err: indexErr(err)}
	}
	if probe := (&Model{st: st, sc: s.sc}); probe.claiming() {
		// Stale claims of unique values go too (claim_maint.go); they are
		// not objects, so they do not count.
		if _, err := s.sc.sweepClaims(ctx, st, &wl); err != nil {
			return dead, &Error{Op: op, Model: s.sc.name, Err: indexErr(err)}
		}
	}
	if wl.first != nil {
		return dead, &Error{Op: op, Model: s.sc.name, Err: wl.first}
	}
	return dead, nil
}
