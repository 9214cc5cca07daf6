package rapyer

import (
	"cmp"
	"context"
	"regexp"
	"strconv"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// SaveMany saves every object as Save does, each one atomic on its own,
// ChunkSize objects per round trip. A value that does not encode stops
// SaveMany with ErrInvalid naming object and field before its chunk is
// sent (earlier chunks are written). When the server refuses one object
// (a key of the wrong type, a unique value taken, a version conflict), it
// writes nothing of that object, the others of the chunk are still saved,
// and the first such failure is returned, naming its object. Objects are
// saved in order: a unique value an earlier object of the call takes is
// taken for a later one. Every saved object's Version is updated.
//
// The objects of a chunk in one hash slot (all of them on one server) are
// one call of lua/savemany.lua, which runs Save's script once per object:
// the fixed cost of a script call is paid once per slot, not per object.
// On a cluster the chunk's scripts, one per slot, are sent per node
// concurrently.
//
// With a queue context (Batch, Tx) it is queued as one operation, every
// object in the queue's round trip, one Save script per object (a checked
// Save in a queue may need its own script: see guarded); Later reads what
// it returns.
func (s *Schema[M, P]) SaveMany(ctx context.Context, objs []P, opts ...ManyOption) (oerr error) {
	const op = "SaveMany"
	ctx, st, cfg, o, err := s.manyStart(ctx, op, objs, opts)
	if err != nil || st == nil {
		return err
	}
	defer func() { o.end(oerr) }()
	queued := oneChunkQueued(ctx, &cfg, len(objs))
	var first error
	var claimShort error // a WAIT short of its count on the claims: the writes stand
	err = chunks(objs, cfg.chunk, func(_ int, part []P) error {
		all := make([]*Model, len(part))
		for i, p := range part {
			all[i] = p.base()
		}
		// On a cluster, unique values are claimed first (claim.go); an
		// object whose claim is refused is not sent.
		claims, refusedBy, cshort, err := st.claimMany(ctx, op, all)
		if err != nil {
			return manyErr(op, s.sc.name, err)
		}
		claimShort = cmp.Or(claimShort, cshort)
		var failed error // this chunk's first refused object
		units := make([]ops.Unit, 0, len(part))
		ms := make([]*Model, 0, len(part))
		werrs := make([]error, len(part)) // each write's outcome, for its claims
		sent := make([]int, 0, len(part))
		for i, m := range all {
			if refusedBy[i] != nil {
				failed, werrs[i] = cmp.Or(failed, refusedBy[i]), errNotWritten
				continue
			}
			u, err := m.saveUnit(op)
			if err != nil {
				st.settleEach(ctx, claims, werrsOr(werrs, errNotWritten))
				return err
			}
			units, ms, sent = append(units, u), append(ms, m), append(sent, i)
		}
		if !queued { // queued, the claims go with the queue (claim_queue.go)
			defer st.settleEach(ctx, claims, werrs)
		}
		if len(units) == 0 { // every object refused by its claims
			first = cmp.Or(first, failed)
			return nil
		}
		var groups [][]int // positions in units of each script call's objects
		if queued {
			for i := range units {
				groups = append(groups, []int{i})
			}
		} else {
			groups = slotGroups(st, ms, saveCallMax)
		}
		calls, heads := make([]ops.Unit, len(groups)), make([]*Model, len(groups))
		var uc unitClaims // queued: one call per object, with its claims
		for g, at := range groups {
			calls[g], heads[g] = saveCall(units, at), ms[at[0]]
			if queued {
				uc.per = append(uc.per, claims[sent[at[0]]])
			}
		}
		_, err = sendClaimed(ctx, st, op, s.sc.name, heads, calls, uc, func(res []ops.Result, err error) (struct{}, error) {
			if err != nil {
				for _, i := range sent {
					werrs[i] = err
				}
				return struct{}{}, &Error{Op: op, Model: s.sc.name, Err: err}
			}
			for g, at := range groups {
				for j, e := range saveOutcomes(&calls[g], res[g], len(at)) {
					i := at[j]
					switch {
					case e.err == nil:
						ms[i].version = e.version
					case e.refused:
						werrs[sent[i]] = ms[i].fail(op, scriptError(e.err))
						failed = cmp.Or(failed, werrs[sent[i]])
					default: // the whole call failed: some objects may be written
						werrs[sent[i]] = errUnknown
						failed = cmp.Or(failed, ms[i].fail(op, scriptError(e.err)))
					}
				}
			}
			if queued {
				return struct{}{}, failed // the queued call's error
			}
			if first == nil {
				first = failed // later chunks still go
			}
			return struct{}{}, nil
		})
		return err
	})
	if err != nil {
		return err
	}
	if first == nil && claimShort != nil {
		return &Error{Op: op, Model: s.sc.name, Err: claimShort}
	}
	return first
}

// saveCallMax is the most objects one lua/savemany.lua call saves. Past a
// few dozen the fixed cost of a call is paid off; smaller calls let the
// server run the first while the rest of the request is still arriving,
// and keep each call short for the other clients (a script blocks the
// server while it runs).
const saveCallMax = 64

// slotGroups groups the positions of ms by hash slot (one slot on one
// server), in order of first appearance, at most most positions a group.
func slotGroups(st *Store, ms []*Model, most int) [][]int {
	var out [][]int
	open := map[int]int{} // slot -> its group in out still filling
	for i, m := range ms {
		sl := 0
		if st.cl != nil {
			sl = slotOf(m.key[0])
		}
		g, ok := open[sl]
		if !ok || len(out[g]) == most {
			g, open[sl] = len(out), len(out)
			out = append(out, make([]int, 0, min(most, len(ms)-i)))
		}
		out[g] = append(out[g], i)
	}
	return out
}

// saveCall is the script call that saves the objects of units at (their
// lua/save.lua calls, one hash slot): that unit alone for one object, else
// one lua/savemany.lua call carrying each one's KEYS and ARGV, in the
// shape form or the compact form when it allows (see compact), else whole.
// The call's shape is the field names of its first object in the compact
// form: an object with the same names (the usual case: every field of the
// model present) sends only its values.
func saveCall(units []ops.Unit, at []int) ops.Unit {
	if len(at) == 1 {
		return units[at[0]]
	}
	keys := make([]string, 0, len(at))
	n := 5
	for _, i := range at {
		n += 2 + len(units[i].Args)
	}
	// The compact forms' TTL mode and model TTL: the first object's.
	head := units[at[0]].Args
	mode, ttl := head[0], head[2]
	var shape []any // the shape's names: pairs' (every other item), then absent ones
	var sp, sx int
	for _, i := range at {
		if u := &units[i]; compact(u, mode, ttl) {
			sp, sx = saveCounts(u)
			shape = saveNames(u, sp, sx)
			break
		}
	}
	args := append(make([]any, 0, n), len(at), mode, ttl, sp, sx)
	args = append(args, shape...)
	for _, i := range at {
		u := &units[i]
		keys = append(keys, u.Keys...)
		if !compact(u, mode, ttl) {
			args = append(append(args, len(u.Keys), len(u.Args)), u.Args...)
			continue
		}
		if shaped(u, shape, sp, sx) {
			args = append(args, "s")
			for j := range sp {
				args = append(args, u.Args[7+2*j])
			}
			continue
		}
		args = append(append(args, "f"), u.Args[4:len(u.Args)-1]...)
	}
	return ops.ScriptUnit(lua.SaveMany, keys, args)
}

// saveCounts is a save.lua call's counts of pairs and of absent fields
// (its ARGV[5] and ARGV[6], as Model.saveUnitAs puts them).
func saveCounts(u *ops.Unit) (p, x int) {
	p, _ = u.Args[4].(int)
	x, _ = u.Args[5].(int)
	return p, x
}

// saveNames is the names of a save.lua call's p pairs, then of its x
// absent fields.
func saveNames(u *ops.Unit, p, x int) []any {
	names := make([]any, 0, p+x)
	for j := range p {
		names = append(names, u.Args[6+2*j])
	}
	return append(names, u.Args[6+2*p:6+2*p+x]...)
}

// shaped reports whether u, a save.lua call in the compact case, has the
// field names of shape (sp pairs, then sx absent fields), in order: it then
// goes in savemany.lua's shape form, its values alone. The names are
// usually the schema's own boxed strings, compared without reading them.
func shaped(u *ops.Unit, shape []any, sp, sx int) bool {
	if p, x := saveCounts(u); p != sp || x != sx {
		return false
	}
	for j := range sp {
		if u.Args[6+2*j] != shape[j] {
			return false
		}
	}
	for j := range sx {
		if u.Args[6+2*sp+j] != shape[sp+j] {
			return false
		}
	}
	return true
}

// compact reports whether u, a save.lua call, can go in savemany.lua's
// compact form: one key (no container), no version check, no index
// section, the call's TTL mode and model TTL. That form leaves out the
// nine items that would repeat for every object: ARGV's counts, modes and
// the empty index section, which cost the server as much to read as the
// object's own writes (lua/savefast.lua saves it with native commands).
func compact(u *ops.Unit, mode, ttl any) bool {
	a := u.Args
	return len(u.Keys) == 1 && len(a) >= 7 && a[0] == mode && a[1] == 1 && a[2] == ttl && a[3] == "" && a[len(a)-1] == "0"
}

// saveOutcome is one object's outcome in a save call's reply: its new
// version, or the error that refused it (refused: nothing of it written),
// or the error of a whole call that failed (not refused: unknown).
type saveOutcome struct {
	version int64
	err     error
	refused bool
}

// digits is a version in lua/savemany.lua's reply; any other item is an
// error message.
var digits = regexp.MustCompile(`^[0-9]+$`)

// saveOutcomes reads the n objects' outcomes from r, the result of call
// (saveCall). A one-object call is lua/save.lua's: its error reply refuses
// its object (nothing written).
func saveOutcomes(call *ops.Unit, r ops.Result, n int) []saveOutcome {
	out := make([]saveOutcome, n)
	if call.Script != lua.SaveMany {
		if r.Err != nil {
			out[0] = saveOutcome{err: r.Err, refused: true}
		} else {
			out[0].version = call.Version(r.Replies)
		}
		return out
	}
	var items []any
	if r.Err == nil && len(r.Replies) == 1 {
		items, _ = r.Replies[0].([]any)
	}
	if r.Err != nil || len(items) != n {
		err := cmp.Or(r.Err, error(redis.Error("DECODE savemany.lua replied "+strconv.Itoa(len(items))+" items for "+strconv.Itoa(n)+" objects")))
		for j := range out {
			out[j] = saveOutcome{err: err}
		}
		return out
	}
	for j, it := range items {
		if v, ok := it.(int64); ok { // lua/savefast.lua's reply
			out[j].version = v
			continue
		}
		text, _ := redis.String(it, nil)
		if digits.MatchString(text) {
			out[j].version, _ = strconv.ParseInt(text, 10, 64)
			continue
		}
		out[j] = saveOutcome{err: redis.Error(text), refused: true}
	}
	return out
}
