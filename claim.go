package rapyer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/index"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Unique values of a model spread over several shards of a cluster cannot
// be checked in the write's own script (the shards' indexes live in other
// slots). Such a write first claims each unique value it sets in a claim
// key of the value's own slot (lua/claim.lua), then runs its usual script
// (which still checks its own shard), then confirms the claims. Key layout:
// <prefix>{<model>:u:<field>:<bucket>}, a HASH from the value's sort key
// to "<state><ms>:<owner id>", bucket = the FNV-1a hash of the sort key
// (as shardOf hashes ids) mod claimBuckets. See DESIGN.md, "Decided for
// unique values on a cluster".

// claimBuckets is how many claim keys each unique field has on a cluster:
// part of the key layout (changing it loses every claim).
const claimBuckets = 64

// defaultClaimLease is WithClaimLease's default.
const defaultClaimLease = 10 * time.Second

// WithClaimLease sets how long a pending claim of a unique value (a write
// of a model over several shards of a cluster that has claimed the value
// and not yet confirmed it) protects its owner: another writer of the
// value takes over such a claim only once it is older than d and its owner
// does not hold the value. A write that takes longer than d between its
// claim and its own script can be overtaken (two objects then hold the
// value). Default: 10 s. Ignored on one server.
func WithClaimLease(d time.Duration) Option {
	return optionFunc(func(c *config) { c.claimLease = d })
}

// claimLease is the Store's lease of pending claims.
func (s *Store) claimLease() time.Duration {
	if s.cfg.claimLease > 0 {
		return s.cfg.claimLease
	}
	return defaultClaimLease
}

// claimKey is the claim key of sort key sk of the model's unique field.
func claimKey(prefix, model, field, sk string) string {
	return claimKeyAt(prefix, model, field, shardOf(sk, claimBuckets))
}

// claimKeyAt is the claim key of bucket b of the model's unique field.
func claimKeyAt(prefix, model, field string, b uint32) string {
	return prefix + "{" + model + ":u:" + field + ":" + strconv.FormatUint(uint64(b), 10) + "}"
}

// claim is one unique value a write claims.
type claim struct {
	m      *Model
	field  string
	text   string // the stored text
	sk     string // its sort key
	key    string // the claim key
	kind   byte   // the field's sort kind
	expect string // a record found stale, to take over
	op     string // the operation named in its errors ("": claimAll's)
	nonce  string // random, set at its first claim: its records are its own
	taken  bool   // this write holds the claim (pending)
	rec    string // the record it set (taken)
	made   bool   // the record was not the id's own before (taken)
	heldBy string // the owner found holding the value (a refused claim)
}

// claiming reports whether m's writes of unique values claim them first:
// on a cluster, for a model with a Unique field over more than one shard.
func (m *Model) claiming() bool {
	return m.sc.unique && m.st != nil && m.st.cl != nil && m.sc.shardsOn(m.st) > 1
}

// claimsOf returns the claims of a write of m's fields among specs: one
// per unique field whose local value is present (nil when m does not
// claim). A value that does not encode is ErrInvalid naming the field.
func (m *Model) claimsOf(op string, specs []indexSpec) ([]*claim, error) {
	if !m.claiming() {
		return nil, nil
	}
	var cs []*claim
	for _, sp := range specs {
		if !sp.unique {
			continue
		}
		b, present, err := m.fields[sp.pos].(binder).encodeLocal(m.st.cfg.fallback)
		if err != nil {
			return nil, detail(op, m.sc.name, m.id, sp.name, err)
		}
		if present {
			if c := m.claimOf(sp, b); c != nil {
				cs = append(cs, c)
			}
		}
	}
	return cs, nil
}

// claimOf is the claim of stored text b in unique field sp (nil when b has
// no sort key: the index leaves it out, so nothing is unique about it).
func (m *Model) claimOf(sp indexSpec, b []byte) *claim {
	sk, ok := index.SortKey(sp.kind, b)
	if !ok {
		return nil
	}
	return &claim{m: m, field: sp.name, text: string(b), sk: sk, kind: sp.kind, key: claimKey(m.st.cfg.prefix, m.sc.name, sp.name, sk)}
}

// takenErr is the error of a claim lost to another object (why: what more
// to say).
func (c *claim) takenErr(op, why string) error {
	text := c.text
	if len(text) > 60 {
		text = text[:60]
	}
	return c.m.fail(op, fmt.Errorf("%w: unique field %s: value %s is taken%s", ErrExists, c.field, text, why))
}

// claimRounds bounds how often a claim is retried after a takeover found
// its record changed (another writer moved first).
const claimRounds = 3

// claimAll claims every claim of cs: one round trip when every value is
// free or already the writer's; a value held by another id costs a read
// of that owner's field (one more round trip for all of them) and, when
// the owner no longer holds it and its claim is confirmed or older than
// the lease, a takeover (one more). It returns per claim nil or its error
// (ErrExists naming field and value; the failure of the claim key), a WAIT
// short of its count on a claim's round trip (WithWait: the claims stand,
// the write goes on and reports it) and an error of the round trips
// themselves (the claims of cs then stay as they are: the caller settles
// those taken).
func (s *Store) claimAll(ctx context.Context, op string, cs []*claim) (errs []error, short, err error) {
	errs = make([]error, len(cs))
	todo := make([]int, len(cs))
	for i := range cs {
		todo[i] = i
	}
	lease := s.claimLease().Milliseconds()
	opOf := func(c *claim) string { return cmp.Or(c.op, op) }
	for round := 0; len(todo) > 0; round++ {
		if round == claimRounds {
			for _, i := range todo {
				errs[i] = cs[i].takenErr(opOf(cs[i]), " (its claim kept changing hands)")
			}
			break
		}
		units := make([]ops.Unit, len(todo))
		for j, i := range todo {
			units[j] = cs[i].unit("claim")
		}
		res, err := s.exec(ctx, request{units: units})
		err, sh := shortOf(err)
		short = cmp.Or(short, sh)
		if err != nil {
			return errs, short, err
		}
		type heldBy struct {
			i          int
			rec, owner string
			age        int64
		}
		var held []heldBy
		for j, i := range todo {
			c := cs[i]
			if res[j].Err != nil {
				errs[i] = detail(opOf(c), c.m.sc.name, c.m.id, c.field, res[j].Err)
				continue
			}
			vs, _ := redis.Values(res[j].Replies[0], nil)
			if len(vs) != 3 {
				errs[i] = c.m.fail(opOf(c), fmt.Errorf("%w: claim.lua replied %v", ErrDecode, vs))
				continue
			}
			if ok, _ := redis.Int(vs[0], nil); ok == 1 {
				made, _ := redis.Int(vs[2], nil)
				c.taken, c.made = true, made == 1
				c.rec, _ = redis.String(vs[1], nil)
				continue
			}
			rec, _ := redis.String(vs[1], nil)
			age, _ := redis.Int64(vs[2], nil)
			_, owner, found := strings.Cut(rec, ":")
			if !found || len(rec) < 2 || (rec[0] != 'p' && rec[0] != 'c') || checkID(owner) != nil {
				errs[i] = c.m.fail(opOf(c), fmt.Errorf("%w: claim key %s holds %q for unique field %s", ErrDecode, c.key, rec, c.field))
				continue
			}
			held = append(held, heldBy{i, rec, owner, age})
		}
		if len(held) == 0 {
			break
		}
		// Each conflict is validated against its owner: does it hold the
		// value now?
		reads := make([]ops.Unit, len(held))
		for j, h := range held {
			c := cs[h.i]
			reads[j] = ops.Unit{Cmds: []ops.Cmd{{Name: "HGET", Args: []any{c.m.sc.keysOf(s, h.owner).arg, c.field}}}}
		}
		res, err = s.exec(ctx, request{units: reads})
		if err != nil {
			return errs, short, err
		}
		todo = todo[:0]
		for j, h := range held {
			c := cs[h.i]
			if res[j].Err != nil {
				errs[h.i] = detail(opOf(c), c.m.sc.name, c.m.id, c.field, res[j].Err)
				continue
			}
			b, _ := redis.Bytes(res[j].Replies[0], nil)
			sk, ok := index.SortKey(c.kind, b)
			switch {
			case b != nil && ok && sk == c.sk:
				errs[h.i], c.heldBy = c.takenErr(opOf(c), ""), h.owner
			case h.rec[0] == 'p' && h.age < lease:
				errs[h.i] = c.takenErr(opOf(c), " (claimed by "+h.owner+", whose write may be under way)")
			default:
				c.expect = h.rec
				todo = append(todo, h.i)
			}
		}
	}
	return errs, short, nil
}

// unit is lua/claim.lua's op on the claim: claim (a takeover of c.expect
// when set), confirm or release (a drop of the record it set).
func (c *claim) unit(op string) ops.Unit {
	switch op {
	case "confirm":
		return ops.ScriptUnit(lua.Claim, []string{c.key}, []any{op, c.sk, c.m.id, c.rec})
	case "release":
		return ops.ScriptUnit(lua.Claim, []string{c.key}, []any{"drop", c.sk, c.m.id, c.rec, 0})
	}
	if c.nonce == "" {
		c.nonce = strconv.FormatUint(rand.Uint64(), 36)
	}
	return ops.ScriptUnit(lua.Claim, []string{c.key}, []any{op, c.sk, c.m.id, c.expect, c.nonce})
}

// settle ends the claims taken in cs after their write: confirmed when it
// succeeded (werr nil), released when it was refused (an error reply: the
// scripts write nothing then) and the claim was made by this write (not a
// record of the same object that another of its writes, maybe under way,
// holds), left pending otherwise (a lost connection or context: the write
// may have run, and the claim, validated against its owner, still
// protects it). Each is a compare-and-set on the record the write set:
// when another write of the object refreshed it meanwhile, that write
// settles it. Best effort, one round trip: a claim left pending is taken
// over once older than the lease when its owner does not hold the value,
// and Sweep removes stale ones.
func (s *Store) settle(ctx context.Context, cs []*claim, werr error) {
	s.settleEach(ctx, [][]*claim{cs}, []error{werr})
}

// settleEach is settle for the claims of several writes (groups[i] those
// of the write whose outcome is werrs[i]) in one round trip.
func (s *Store) settleEach(ctx context.Context, groups [][]*claim, werrs []error) {
	var units []ops.Unit
	for i, cs := range groups {
		op := "confirm"
		switch werr := werrs[i]; {
		case werr == nil:
		case refused(werr):
			op = "release"
		default:
			continue
		}
		for _, c := range cs {
			if c.taken && (op == "confirm" || c.made) {
				units = append(units, c.unit(op))
			}
			c.taken = false
		}
	}
	if len(units) > 0 {
		_, _ = s.exec(ctx, request{units: units})
	}
}

// claimMany claims the unique values of the writes of ms at once (one
// claimAll): it returns each object's claims, the first error of each
// object's claims (nil: all taken) and a WAIT short of its count on the
// claims' round trip (the claims stand). err is a failed round trip; the
// claims taken are then released. With a queue context nothing is sent:
// the claims come back untaken, for the queue to claim when it is sent
// (claim_queue.go).
func (s *Store) claimMany(ctx context.Context, op string, ms []*Model) (groups [][]*claim, refusedBy []error, short, err error) {
	groups = make([][]*claim, len(ms))
	refusedBy = make([]error, len(ms))
	var all []*claim
	var owner []int
	for i, m := range ms {
		cs, err := m.claimsOf(op, m.sc.idx)
		if err != nil {
			return nil, nil, nil, err
		}
		groups[i] = cs
		for range cs {
			owner = append(owner, i)
		}
		all = append(all, cs...)
	}
	if len(all) == 0 || queueOf(ctx) != nil {
		return groups, refusedBy, nil, nil
	}
	errs, short, err := s.claimAll(ctx, op, all)
	if err != nil {
		s.settle(ctx, all, errNotWritten)
		return nil, nil, nil, err
	}
	for j, e := range errs {
		if e != nil && refusedBy[owner[j]] == nil {
			refusedBy[owner[j]] = e
		}
	}
	return groups, refusedBy, short, nil
}

// errNotWritten is what a write function of withClaims returns when it
// wrote nothing without an error (Modify's lost race).
var errNotWritten = errors.New("rapyer: nothing written")

// refused reports whether err says a write was refused with nothing
// written (an error reply or a check before sending), as opposed to a
// failed round trip after which the write may have run.
func refused(err error) bool {
	var re redis.Error
	for _, s := range []error{errNotWritten, ErrExists, ErrNotFound, ErrConflict, ErrWrongType, ErrDecode, ErrInvalid, ErrLockLost, ErrOverflow} {
		if errors.Is(err, s) {
			return true
		}
	}
	return errors.As(err, &re)
}

// withClaims runs write between claiming cs (nothing when empty) and
// settling them. A claim refused returns its error, the claims taken
// released, and write does not run. A WAIT short of its count on the
// claims' round trip (WithWait) does not stop the write: when write
// succeeds without a short of its own (set in *short by write), it
// becomes *short (the caller reports it, the write standing). Not for a
// queue context: a queued write's claims go with its queue (claim_queue.go).
func (m *Model) withClaims(ctx context.Context, op string, cs []*claim, short *error, write func(ctx context.Context) error) error {
	if len(cs) == 0 {
		return write(ctx)
	}
	errs, cshort, err := m.st.claimAll(ctx, op, cs)
	if err == nil {
		err = firstErr(errs)
	}
	if err != nil {
		m.st.settle(ctx, cs, errNotWritten)
		return err
	}
	err = write(ctx)
	m.st.settle(ctx, cs, err)
	if err == nil && *short == nil {
		*short = cshort
	}
	return err
}

// firstErr is the first non-nil error of errs.
func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// werrsOr returns werrs with every nil replaced by e (writes that will not
// run).
func werrsOr(werrs []error, e error) []error {
	out := make([]error, len(werrs))
	for i, w := range werrs {
		out[i] = cmp.Or(w, e)
	}
	return out
}

// manyErr is the error of a bulk operation's failed claim round trip: an
// *Error as it is, anything else wrapped.
func manyErr(op, model string, err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	return &Error{Op: op, Model: model, Err: err}
}
