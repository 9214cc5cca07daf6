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
// the fixed cost of a script call is paid once per slot, not per object
// (at most 64 objects a call). The objects of a model with no index, no
// container and no version check are sent as their values alone, the
// field names once per call (see saveCall). On a cluster the chunk's
// scripts, one per slot, are sent per node concurrently.
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
		ms := make([]*Model, 0, len(part))
		werrs := make([]error, len(part)) // each write's outcome, for its claims
		sent := make([]int, 0, len(part))
		for i, m := range all {
			if refusedBy[i] != nil {
				failed, werrs[i] = cmp.Or(failed, refusedBy[i]), errNotWritten
				continue
			}
			ms, sent = append(ms, m), append(sent, i)
		}
		var groups [][]int // positions in ms of each script call's objects
		if queued {
			for i := range ms {
				groups = append(groups, []int{i})
			}
		} else {
			groups = slotGroups(st, ms, saveCallMax)
		}
		calls, heads := make([]ops.Unit, len(groups)), make([]*Model, len(groups))
		var uc unitClaims // queued: one call per object, with its claims
		for g, at := range groups {
			if calls[g], err = saveCall(op, ms, at); err != nil { // nothing of the chunk sent
				st.settleEach(ctx, claims, werrsOr(werrs, errNotWritten))
				return err
			}
			heads[g] = ms[at[0]]
			if queued {
				uc.per = append(uc.per, claims[sent[at[0]]])
			}
		}
		if !queued { // queued, the claims go with the queue (claim_queue.go)
			defer st.settleEach(ctx, claims, werrs)
		}
		if len(ms) == 0 { // every object refused by its claims
			first = cmp.Or(first, failed)
			return nil
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

// saveCall is the script call that saves ms[at...] (one hash slot): Save's
// own (lua/save.lua) for one object, else one lua/savemany.lua call. A
// model with one key, no version check and no index (leanSave) sends its
// objects in that script's shape form, the call's shape being all of the
// model's fields: an object with every field present (the usual case)
// sends its values alone, encoded straight into the call's arguments; one
// with absent fields goes in the compact form. Other models' objects go
// whole, each with its save.lua KEYS and ARGV. A value that does not
// encode is ErrInvalid naming object and field.
func saveCall(op string, ms []*Model, at []int) (ops.Unit, error) {
	head := ms[at[0]]
	if len(at) == 1 {
		return head.saveUnit(op)
	}
	keys := make([]string, 0, len(at))
	if !head.sc.leanSave() {
		args := []any{len(at), "0", "0", 0}
		for _, i := range at {
			u, err := ms[i].saveUnit(op)
			if err != nil {
				return ops.Unit{}, err
			}
			keys = append(keys, u.Keys...)
			args = append(append(args, len(u.Keys), len(u.Args)), u.Args...)
		}
		return ops.ScriptUnit(lua.SaveMany, keys, args), nil
	}
	// The TTL mode and the model's TTL are the model's (one for all).
	ttl := head.ttlArg()
	names := head.sc.argNames
	args := make([]any, 0, 4+len(names)+len(at)*(1+len(names)))
	args = append(args, len(at), head.touchTTL(), ttl, len(names))
	args = append(args, names...)
	for _, i := range at {
		m := ms[i]
		keys = append(keys, m.keys()...)
		mark := len(args)
		var whole bool
		var err error
		if args, whole, err = m.encodeWhole(op, append(args, "s")); err != nil {
			return ops.Unit{}, err
		}
		if whole {
			continue
		}
		lead := []any{nil} // the compact form: its own pairs and absent names
		pairs, absent, err := m.encodeFields(op, m.fields, lead, lead)
		if err != nil {
			return ops.Unit{}, err
		}
		args = append(args[:mark], "f", len(pairs)/2, len(absent)-1)
		args = append(append(args, pairs[1:]...), absent[1:]...)
	}
	return ops.ScriptUnit(lua.SaveMany, keys, args), nil
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
