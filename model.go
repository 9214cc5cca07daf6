package rapyer

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/gomodule/redigo/redis"
	"github.com/google/uuid"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// metaVersion is the metadata field every object hash holds: a version
// counter incremented by every write. Because it is always there, an empty
// HGETALL means "not found" with no extra EXISTS. Field names start with a
// letter, so they never collide with it.
const metaVersion = "_v"

// Model is embedded (by value) in every model struct. It holds the object's
// id and its binding to a Store, and gives the struct the whole-object
// operations: Save, Insert, Reload, Update, Delete, Exists and the TTL calls.
// Use models through the pointers Schema.New and Schema.Get return; the zero
// Model is unbound and its I/O methods return ErrUnbound. An object (its local
// values) is not safe for concurrent use; the Store is, so give each goroutine
// its own object, or use the atomic field operations.
type Model struct {
	st      *Store
	sc      *schema
	id      string
	key     [1]string // the hash's key; keys() is key[:] without containers
	fields  []Field   // scalar handles (each a binder), in schema order
	version int64
	x       *modelExt  // nil unless the model has containers or a load left errors
	obj     ops.Object // what the handles' ops.Ref point to (see object)
}

// modelExt holds what most objects do not need, so that a Model stays small
// (a load of many objects allocates one per object).
type modelExt struct {
	conts    []*Container // container handles, in schema order
	keyList  []string     // the hash, then one key per container
	loadErrs []error
}

func (m *Model) base() *Model { return m }

// ID returns the object's id.
func (m *Model) ID() string { return m.id }

// Key returns the Redis key of the object's hash.
func (m *Model) Key() string { return m.key[0] }

// Version returns the object's version counter as last seen (loaded or
// written). Every write increments it.
func (m *Model) Version() int64 { return m.version }

// LoadErrors lists the fields that did not decode during the last tolerant
// load (see Tolerant), each an *Error wrapping ErrDecode; those fields were
// left absent. It is empty after a strict load.
func (m *Model) LoadErrors() []error {
	if m.x == nil {
		return nil
	}
	return m.x.loadErrs
}

// ext returns m.x, made when first needed.
func (m *Model) ext() *modelExt {
	if m.x == nil {
		m.x = &modelExt{}
	}
	return m.x
}

// containers returns the object's container handles, in schema order.
func (m *Model) containers() []*Container {
	if m.x == nil {
		return nil
	}
	return m.x.conts
}

// New returns a new, unsaved object with a generated id (a UUIDv7: unique
// and ordered by creation time) and its fields' declared defaults. No I/O.
// With a nil Store it returns an unbound object: its local values can be
// read and set (container defaults are not applied), and every operation
// that does I/O returns ErrUnbound; use NewWithID, which reports a nil Store
// as ErrInvalid, where a mistake should surface at once.
func (s *Schema[M, P]) New(st *Store) P {
	p := s.instance(st, uuid.Must(uuid.NewV7()).String())
	p.base().applyDefaults()
	return p
}

// NewBeside is New on near's Store with an id in near's shard: the two
// objects share a hash tag, so on a cluster they are in one hash slot and a
// Tx may hold both (a Tx must stay in one slot there). Generated ids are
// drawn until one lands in that shard, about as many draws as the model
// has shards (12 by default on a cluster; on a model of one shard the first
// id). No I/O. A nil near gives New(nil), an unbound object.
func (s *Schema[M, P]) NewBeside(near P) P {
	if near == nil {
		return s.New(nil)
	}
	m := near.base()
	n, _ := s.sc.layout(m.st)
	want := shardOf(m.id, n)
	id := uuid.Must(uuid.NewV7()).String()
	for shardOf(id, n) != want {
		id = uuid.Must(uuid.NewV7()).String()
	}
	p := s.instance(m.st, id)
	p.base().applyDefaults()
	return p
}

// NewWithID is New with a caller-given id. Any id of 1 to MaxIDLen bytes
// works ('{', '}', ':', spaces and non-ASCII included). Its Save
// overwrites a stored object of that id: every field it does not hold is
// removed and every container replaced by its (empty) local content. To
// act on a stored object without loading it, use Ref; to create it only
// when missing, Insert or GetOrCreate. Errors: ErrInvalid (bad id, nil
// Store).
func (s *Schema[M, P]) NewWithID(st *Store, id string) (P, error) {
	if err := s.sc.needStore("New", st); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, &Error{Op: "New", Model: s.sc.name, ID: id, Err: err}
	}
	p := s.instance(st, id)
	p.base().applyDefaults()
	return p, nil
}

// Exists reports whether an object with the given id exists (EXISTS, plus
// PEXPIRE when refresh is on: one round trip). Errors: ErrInvalid (bad id,
// nil Store).
func (s *Schema[M, P]) Exists(ctx context.Context, st *Store, id string) (bool, error) {
	if err := s.sc.needStore("Exists", st); err != nil {
		return false, err
	}
	if err := checkID(id); err != nil {
		return false, &Error{Op: "Exists", Model: s.sc.name, ID: id, Err: err}
	}
	return s.instance(st, id).base().Exists(ctx)
}

// Delete removes the object with the given id and reports whether it
// existed, as Model.Delete does: one round trip. Errors: ErrInvalid (bad
// id, nil Store).
func (s *Schema[M, P]) Delete(ctx context.Context, st *Store, id string) (bool, error) {
	if err := s.sc.needStore("Delete", st); err != nil {
		return false, err
	}
	if err := checkID(id); err != nil {
		return false, &Error{Op: "Delete", Model: s.sc.name, ID: id, Err: err}
	}
	return s.instance(st, id).base().Delete(ctx)
}

// keys lists every key of the object, its hash first (shared: read only).
func (m *Model) keys() []string {
	if m.x != nil && m.x.keyList != nil {
		return m.x.keyList
	}
	return m.key[:]
}

// Keys returns every Redis key of the object: its hash, then one key per
// container field in schema order. All share one hash tag (one slot).
func (m *Model) Keys() []string { return append([]string(nil), m.keys()...) }

func (m *Model) bound(op string) error {
	if m.st == nil || m.sc == nil {
		return &Error{Op: op, Err: ErrUnbound}
	}
	return nil
}

func (m *Model) fail(op string, err error) error { return detail(op, m.sc.name, m.id, "", err) }

// encodeFields encodes the given fields' local values into HSET pairs (after
// pairLead) and the names of the absent ones (after absentLead), ready to be
// command arguments. Nothing is sent when a value does not encode.
func (m *Model) encodeFields(op string, fields []Field, pairLead, absentLead []any) (pairs []any, absent []any, err error) {
	fb := m.st.cfg.fallback
	pairs = append(make([]any, 0, len(pairLead)+2*len(fields)), pairLead...)
	absent = absentLead
	// All of the object's fields (Save, Insert) are in schema order: their
	// boxed names are at the same positions, with no lookup.
	whole := len(fields) == len(m.fields) && len(fields) > 0 && &fields[0] == &m.fields[0]
	for i, ff := range fields {
		f := ff.(binder)
		b, present, err := m.encodeArg(op, f, fb)
		if err != nil {
			return nil, nil, err
		}
		var name any
		if whole {
			name = m.sc.argNames[i]
		} else if j, ok := m.sc.index[f.fullName()]; ok {
			name = m.sc.argNames[j]
		} else {
			name = f.fullName()
		}
		if present {
			pairs = append(pairs, name, b)
		} else {
			absent = append(absent, name)
		}
	}
	return pairs, absent, nil
}

// encodeArg is f's local value as a command argument (present false: no
// value), or ErrInvalid naming the object and f.
func (m *Model) encodeArg(op string, f binder, fb serialize.Fallback) (any, bool, error) {
	b, present, err := f.encodeArg(fb)
	if err != nil {
		return nil, false, detail(op, m.sc.name, m.id, f.fullName(), err)
	}
	return b, present, nil
}

// encodeWhole appends the encoded values of all of the object's fields,
// in schema order, to args. whole is false, with args cut back to where
// they were, when a field is absent (the caller then encodes names too:
// encodeFields); a value that does not encode is ErrInvalid naming it.
func (m *Model) encodeWhole(op string, args []any) (_ []any, whole bool, err error) {
	fb, mark := m.st.cfg.fallback, len(args)
	for _, ff := range m.fields {
		b, present, err := m.encodeArg(op, ff.(binder), fb)
		if err != nil {
			return args[:mark], false, err
		}
		if !present {
			return args[:mark], false, nil
		}
		args = append(args, b)
	}
	return args, true, nil
}

// Save writes the whole object: every present field is set, every absent one
// removed, every container replaced by its local content, the version
// incremented and the TTL set (re-armed when refresh is on; set only where
// missing when off). It creates the object when missing. One round trip:
// lua/save.lua (index entries move in the same script). A container key
// holding another Redis type is replaced like any container. Errors:
// ErrInvalid naming the field whose value does not encode (nothing is
// sent); ErrExists (a Unique value taken), ErrConflict (WithVersionCheck),
// ErrWrongType (the hash or an index key holds another Redis type) and
// ErrDecode (the stored `_v` is not an integer), all with nothing written.
func (m *Model) Save(ctx context.Context) error {
	if err := m.bound("Save"); err != nil {
		return err
	}
	u, err := m.saveUnit("Save")
	if err != nil {
		return err
	}
	cs, err := m.claimsOf("Save", m.sc.idx)
	if err != nil {
		return err
	}
	return m.runClaimed(ctx, "Save", u, cs, func(rs []any) error {
		m.version = u.Version(rs)
		return nil
	})
}

// execUnit runs u now and completes it with done, or, with a queue context,
// queues both (done then runs when the queue has run).
func execUnit[R any](ctx context.Context, m *Model, op string, u ops.Unit, done func(rs []any, err error) (R, error)) (R, error) {
	return execClaimed(ctx, m, op, u, nil, done)
}

// execClaimed is execUnit for a write that claims the unique values cs
// first (claim.go; none on one server): the claims, the write and their
// settling are one operation. Queued, the claims go with the queue
// (claim_queue.go).
func execClaimed[R any](ctx context.Context, m *Model, op string, u ops.Unit, cs []*claim, done func(rs []any, err error) (R, error)) (R, error) {
	var r R
	if qc := queueOf(ctx); qc != nil {
		return r, qc.add(op, m, u, cs, func(rs []any, err error) (any, error) { return done(rs, err) })
	}
	ctx, o := m.st.begin(ctx, op, m.sc.name, m.id)
	var short error // WAIT short of its count: the write stands
	err := m.withClaims(ctx, op, cs, &short, func(ctx context.Context) error {
		rs, err := m.st.run1(ctx, u)
		err, short = shortOf(err)
		r, err = done(rs, err)
		return err
	})
	if err == nil && short != nil {
		err = m.fail(op, short) // done has completed it
	}
	o.end(err)
	return r, err
}

// run is execUnit for operations that return only an error: a failed round
// trip or error reply is labelled with op, then done completes.
func (m *Model) run(ctx context.Context, op string, u ops.Unit, done func(rs []any) error) error {
	return m.runClaimed(ctx, op, u, nil, done)
}

// runClaimed is run for a write that claims cs first (execClaimed).
func (m *Model) runClaimed(ctx context.Context, op string, u ops.Unit, cs []*claim, done func(rs []any) error) error {
	_, err := execClaimed(ctx, m, op, u, cs, func(rs []any, err error) (struct{}, error) {
		if err != nil {
			return struct{}{}, m.fail(op, scriptError(err))
		}
		return struct{}{}, done(rs)
	})
	return err
}

// saveUnit is what Save sends for this object: lua/save.lua, always. A
// MULTI {HSET, HDEL, per container DEL + write, HINCRBY _v, PEXPIRE...}
// would be cheaper, but it cannot check the stored data before writing: a
// hash of another type or a `_v` that is not an integer fails some of its
// commands and leaves the others applied (DESIGN.md, "Decided for faults").
// Nothing is built when a value does not encode.
func (m *Model) saveUnit(op string) (ops.Unit, error) { return m.saveUnitAs(op, nil) }

// lockGuard is a lock a save must still hold: its key and owner token.
type lockGuard struct{ key, owner string }

// saveUnitAs is saveUnit, or with a guard, lua/save.lua behind the lock's
// owner check (lua.LockedSave: the lock key after every other key, the
// owner after every other argument).
func (m *Model) saveUnitAs(op string, guard *lockGuard) (ops.Unit, error) {
	lead := []any{nil} // save.lua's pairs and absent names follow a placeholder (the key's place)
	pairs, absent, err := m.encodeFields(op, m.fields, lead, lead)
	if err != nil {
		return ops.Unit{}, err
	}
	blocks, err := m.blocks(op, m.containers())
	if err != nil {
		return ops.Unit{}, err
	}
	ttl := m.ttlArg()
	args := append(make([]any, 0, 6+len(pairs)+len(absent)), m.touchTTL(), len(m.keys()), ttl, m.expected(), len(pairs)/2, len(absent)-1)
	args = append(append(args, pairs[1:]...), absent[1:]...)
	for _, b := range blocks {
		args = append(args, b...)
	}
	extra, sec := m.indexSection(m.sc.idx)
	if guard != nil {
		keys := append(slices.Clip(m.withIndex(extra)), guard.key)
		return ops.ScriptUnit(lua.LockedSave, keys, append(append(args, sec...), guard.owner)), nil
	}
	return ops.ScriptUnit(lua.Save, m.withIndex(extra), append(args, sec...)), nil
}

// expected is the scripts' version-check argument: "" without
// WithVersionCheck, else the version this object last saw ("0": none).
func (m *Model) expected() string {
	if !m.sc.versionCheck {
		return ""
	}
	return strconv.FormatInt(m.version, 10)
}

// blocks encodes the local content of containers as the scripts' container
// blocks. Nothing is sent when an element does not encode.
func (m *Model) blocks(op string, conts []*Container) ([][]any, error) {
	out := make([][]any, len(conts))
	fb := m.st.cfg.fallback
	for i, c := range conts {
		b, err := c.block(fb)
		if err != nil {
			return nil, detail(op, m.sc.name, m.id, c.full, err)
		}
		out[i] = b
	}
	return out, nil
}

// Insert creates the object only if no object with its id exists: one
// script, one round trip. The TTL is set whatever the refresh setting.
// Errors: ErrExists (nothing written), ErrInvalid (a value that does not
// encode; nothing sent).
func (m *Model) Insert(ctx context.Context) error {
	if err := m.bound("Insert"); err != nil {
		return err
	}
	u, err := m.insertUnit("Insert")
	if err != nil {
		return err
	}
	cs, err := m.claimsOf("Insert", m.sc.idx)
	if err != nil {
		return err
	}
	return m.runClaimed(ctx, "Insert", u, cs, func([]any) error {
		m.version = 1
		return nil
	})
}

// insertUnit is what Insert sends: lua/insert.lua with every field, every
// container and the index section.
func (m *Model) insertUnit(op string) (ops.Unit, error) {
	pairs, _, err := m.encodeFields(op, m.fields, []any{metaVersion, 1}, nil)
	if err != nil {
		return ops.Unit{}, err
	}
	blocks, err := m.blocks(op, m.containers())
	if err != nil {
		return ops.Unit{}, err
	}
	ttl := m.ttlArg()
	extra, sec := m.indexSection(m.sc.idx)
	args := append(make([]any, 0, 3+len(pairs)+len(sec)), ttl, len(m.keys()), len(pairs))
	args = append(args, pairs...)
	for _, b := range blocks {
		args = append(args, b...)
	}
	args = append(args, sec...)
	return ops.ScriptUnit(lua.Insert, m.withIndex(extra), args), nil
}

// Update writes only the given fields of an existing object (absent ones are
// removed, containers replaced by their local content), increments the
// version and re-arms the TTL when refresh is on: one script, one round trip.
// Fields of the server's copy not named stay as they are. Errors: ErrNotFound
// (nothing written), ErrInvalid (a field of another object, or a value that
// does not encode; nothing sent).
func (m *Model) Update(ctx context.Context, fields ...Field) error {
	if err := m.bound("Update"); err != nil {
		return err
	}
	bs := make([]Field, 0, len(fields))
	var cs []*Container
	for _, f := range fields {
		for _, h := range leaves(f, nil) {
			if h.model() != m {
				return m.fail("Update", fmt.Errorf("%w: field %q is not a field of this object (a handle of another object, or one missing from the schema function)", ErrInvalid, h.fullName()))
			}
			if c, ok := h.(containerHandle); ok {
				cs = append(cs, c.container())
			} else {
				bs = append(bs, h.(binder))
			}
		}
	}
	if len(bs) == 0 && len(cs) == 0 {
		return nil // nothing named, nothing written (no version bump, no I/O)
	}
	pairs, absent, err := m.encodeFields("Update", bs, nil, nil)
	if err != nil {
		return err
	}
	blocks, err := m.blocks("Update", cs)
	if err != nil {
		return err
	}
	var flat []any
	for _, b := range blocks {
		flat = append(flat, b...)
	}
	return m.update(ctx, "Update", m.specsOf(bs), pairs, absent, flat)
}

// update runs lua/update.lua: pairs to set, absent fields to remove and
// container blocks to write, on an existing object.
func (m *Model) update(ctx context.Context, op string, specs []indexSpec, pairs, absent, blocks []any, then ...func()) error {
	expect := ""
	if op != "Clear" {
		expect = m.expected()
	}
	cs, err := m.claimsOf(op, specs)
	if err != nil {
		return err
	}
	extra, sec := m.indexSection(specs)
	args := make([]any, 0, 5+len(pairs)+len(absent)+len(blocks)+len(sec))
	args = append(args, m.touchTTL(), len(m.keys()), len(pairs)/2, len(absent), expect)
	args = append(append(append(append(args, pairs...), absent...), blocks...), sec...)
	return m.runClaimed(ctx, op, ops.ScriptUnit(lua.Update, m.withIndex(extra), args), cs, func(rs []any) error {
		m.version, _ = redis.Int64(rs[0], nil)
		for _, f := range then {
			f()
		}
		return nil
	})
}

// leaves lists the bound handles of f without renaming them (flatten names).
func leaves(f Field, out []handle) []handle {
	switch v := f.(type) {
	case handle:
		return append(out, v)
	case *nested:
		for _, c := range v.fields {
			out = leaves(c, out)
		}
	}
	return out
}

// Delete removes the object and reports whether it existed: DEL of all its
// keys, or lua/delete.lua for a model with indexes (its index entries go in
// the same script); one round trip. Local values are kept.
func (m *Model) Delete(ctx context.Context) (bool, error) {
	if err := m.bound("Delete"); err != nil {
		return false, err
	}
	return execUnit(ctx, m, "Delete", m.removeUnit(), func(rs []any, err error) (bool, error) {
		if err != nil {
			return false, m.fail("Delete", scriptError(err))
		}
		n, _ := redis.Int64(rs[0], nil)
		return n > 0, nil
	})
}

// removeUnit is what Delete sends: DEL of every key of the object, or
// lua/delete.lua for a model with indexes. Its first reply counts the keys
// (or objects) that existed.
func (m *Model) removeUnit() ops.Unit {
	if m.indexed() {
		return m.deleteUnit()
	}
	keys := m.keys()
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return ops.Unit{Cmds: []ops.Cmd{{Name: "DEL", Args: args}}}
}

// Exists reports whether the object exists (EXISTS, plus PEXPIRE when refresh
// is on: one round trip).
func (m *Model) Exists(ctx context.Context) (bool, error) {
	if err := m.bound("Exists"); err != nil {
		return false, err
	}
	cmds := append([]ops.Cmd{{Name: "EXISTS", Args: []any{m.key[0]}}}, m.refreshCmds()...)
	return execUnit(ctx, m, "Exists", ops.Unit{Cmds: cmds, Read: true}, func(rs []any, err error) (bool, error) {
		if err != nil {
			return false, m.fail("Exists", err)
		}
		n, _ := redis.Int64(rs[0], nil)
		return n == 1, nil
	})
}
