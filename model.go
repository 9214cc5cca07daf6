package rapyer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/google/uuid"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/serialize"
)

// metaVersion is the metadata field every object hash holds: a version
// counter incremented by every write. Because it is always there, an empty
// HGETALL means "not found" with no extra EXISTS. Field names start with a
// letter, so they never collide with it.
const metaVersion = "_v"

// NoExpiry is what TTL returns for an object without an expiry.
const NoExpiry time.Duration = -1

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
	keyArg  [1]any    // the key boxed once: command arguments, HGETALL's
	fields  []Field   // scalar handles (each a binder), in schema order
	version int64
	x       *modelExt // nil unless the model has containers or a load left errors
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

// schema is the definition-time description of a model.
type schema struct {
	name         string
	ttl          time.Duration
	ttlSet       bool
	refresh      *bool
	shards       int
	names        []string       // flattened field names, in schema order
	argNames     []any          // scalar names boxed once, for command arguments
	scalarNames  []string       // the same names, unboxed
	idx          []indexSpec    // indexed fields, in schema order
	index        map[string]int // scalar name -> position among the scalars
	conts        int            // number of container fields
	versionCheck bool           // WithVersionCheck
	contNames    []string       // their names, in schema order
	contKinds    []ContainerKind
	flat         bool // the schema function lists scalars only (see instanceAt)
}

// indexSpec is one indexed field of a model.
type indexSpec struct {
	name   string
	kind   byte // serialize.SortKind
	unique bool
	pos    int // position among the scalar fields
}

type modelPtr[M any] interface {
	*M
	base() *Model
}

// Schema is a defined model: it creates, reads and deletes objects of type M.
// It is immutable and safe for concurrent use.
type Schema[M any, P modelPtr[M]] struct {
	sc  *schema
	def func(P) Fields
}

// Define declares a model named name whose objects are structs M (embedding
// Model) with the fields def lists. def is called here, to check the
// schema, and once per object created or loaded, to bind its handles; it must
// only name fields (no I/O, the same fields every time). Returning a new
// Fields literal each time is best: an object then keeps that slice as its
// field list instead of copying it.
//
// Define panics, naming the culprit, when the model name is invalid (a letter,
// then letters, digits, '_' or '-', at most 64 bytes), when a field name is
// invalid or used twice, when a handle is listed twice, or on an invalid
// option. Nothing at run time panics.
func Define[M any, P modelPtr[M]](name string, def func(P) Fields, opts ...ModelOption) *Schema[M, P] {
	if !validModelName(name) {
		panic(fmt.Sprintf("rapyer: invalid model name %q: want a letter, then letters, digits, '_' or '-' (at most 64 bytes)", name))
	}
	sc := &schema{name: name, shards: 1, index: map[string]int{}}
	for _, o := range opts {
		o.applyModel(sc)
	}
	if sc.shards < 1 || sc.shards > 16384 {
		panic(fmt.Sprintf("rapyer: model %q: WithShards(%d): want 1..16384", name, sc.shards))
	}
	if def == nil {
		panic(fmt.Sprintf("rapyer: model %q: nil schema function", name))
	}
	var zero, other M
	top := def(P(&zero))
	// A schema function that lists scalars only and returns a new slice on
	// every call lends that slice to each object as its field list. One
	// that hands back the same slice every time (a reused buffer) does not:
	// its objects copy the list.
	again := def(P(&other))
	sc.flat = len(top) > 0 && len(again) == len(top) && &top[0] != &again[0]
	for _, f := range top {
		if _, ok := f.(binder); !ok {
			sc.flat = false
		}
	}
	seen := map[handle]string{}
	names := map[string]bool{}
	for _, h := range flattenAll(name, top) {
		n := h.fullName()
		if names[n] {
			panic(fmt.Sprintf("rapyer: model %q: field name %q used twice", name, n))
		}
		if other, dup := seen[h]; dup {
			panic(fmt.Sprintf("rapyer: model %q: one handle listed twice, as %q and %q", name, other, n))
		}
		seen[h], names[n] = n, true
		sc.names = append(sc.names, n)
		if c, ok := h.(containerHandle); ok {
			if err := c.container().local.Check(); err != nil {
				panic(fmt.Sprintf("rapyer: model %q: field %q: %v", name, n, err))
			}
			sc.conts++
			sc.contNames = append(sc.contNames, n)
			sc.contKinds = append(sc.contKinds, c.container().kind)
			continue
		}
		sc.index[n] = len(sc.argNames)
		if b := h.(binder); b.indexMode() > 0 {
			k := b.sortKind()
			if k == 0 {
				panic(fmt.Sprintf("rapyer: model %q: field %q: Index/Unique needs a value with an ordered native encoding (string, bytes, integer, float, bool, time, or a named type with serialize.StringOf/IntOf/FloatOf); this one is stored as msgpack or by a custom codec", name, n))
			}
			sc.idx = append(sc.idx, indexSpec{name: n, kind: k, unique: b.indexMode() == 2, pos: len(sc.argNames)})
		}
		sc.argNames = append(sc.argNames, n)
		sc.scalarNames = append(sc.scalarNames, n)
	}
	return &Schema[M, P]{sc: sc, def: def}
}

func flattenAll(model string, fs Fields) []handle {
	out := make([]handle, 0, len(fs))
	for _, f := range fs {
		if f == nil {
			panic(fmt.Sprintf("rapyer: model %q: nil field in the schema", model))
		}
		out = f.flatten("", out)
	}
	return out
}

// Name returns the model's name.
func (s *Schema[M, P]) Name() string { return s.sc.name }

// FieldNames returns the model's field names (nested ones dotted), in schema
// order.
func (s *Schema[M, P]) FieldNames() []string { return append([]string(nil), s.sc.names...) }

func (s *Schema[M, P]) instance(st *Store, id string) P {
	return s.instanceIn(st, id, nil)
}

// instanceIn is instance with the object's field list carved from room
// when it has space (a load of many objects allocates one list for all).
func (s *Schema[M, P]) instanceIn(st *Store, id string, room *[]Field) P {
	return s.instanceAt(st, id, s.sc.keysOf(st, id), room)
}

// instanceAt is instanceIn with the object's keys already made. When the
// schema function lists scalars only, the list it returns is the object's
// field list as it is (no copy).
func (s *Schema[M, P]) instanceAt(st *Store, id string, k objKeys, room *[]Field) P {
	p := P(new(M))
	m := p.base()
	m.setKeys(st, s.sc, id, k)
	fs := s.def(p)
	n := len(s.sc.argNames)
	switch {
	case s.sc.flat && len(fs) == n:
		m.fields = fs[:n:n] // full: Scalar.collectInto appends nothing
	case room != nil && cap(*room)-len(*room) >= n:
		l := len(*room)
		m.fields, *room = (*room)[l:l:l+n], (*room)[:l+n]
	default:
		m.fields = make([]Field, 0, n)
	}
	if s.sc.conts > 0 {
		m.ext().conts = make([]*Container, 0, s.sc.conts)
	}
	// Define checked the names; binding reuses them rather than flatten
	// and validate them again for every object.
	i := 0
	for _, f := range fs {
		m.collect(f, &i)
	}
	return p
}

// field returns the object's i-th scalar handle.
func (m *Model) field(i int) binder { return m.fields[i].(binder) }

// collect binds the handles of f, the next of them being the object's i-th
// field in schema order. Without a Store (Schema.Fields' probe) it only
// names them and ties them to m.
func (m *Model) collect(f Field, i *int) {
	*i = f.collectInto(m, *i) // one dynamic call per field, no type switch
}

// addContainer binds container c as the object's i-th field.
func (m *Model) addContainer(c *Container, i int) int {
	c.full = m.sc.names[i]
	c.m = m
	if m.st == nil {
		return i + 1
	}
	x := m.ext()
	x.conts = append(x.conts, c)
	c.idx = 1 + len(x.conts)
	c.key = m.keys()[c.idx-1]
	return i + 1
}

// bare is a Model for id with its keys and nothing bound: enough to build
// its key-level commands (delete, exists, index upkeep).
func (s *Schema[M, P]) bare(st *Store, id string) *Model {
	m := &Model{}
	m.init(st, s.sc, id)
	return m
}

// applyDefaults gives every field of a new object its declared default.
func (m *Model) applyDefaults() {
	for i := range m.fields {
		m.field(i).applyDefault()
	}
	for _, c := range m.containers() {
		c.applyDefault()
	}
}

func (m *Model) init(st *Store, sc *schema, id string) {
	m.setKeys(st, sc, id, sc.keysOf(st, id))
}

// objKeys are the keys of one object: its hash's key (a string), boxed once
// for command arguments, and with containers the list of all its keys,
// hash first.
type objKeys struct {
	arg  any
	list []string
}

// keysOf makes the keys of object id.
func (sc *schema) keysOf(st *Store, id string) objKeys {
	return sc.keysAt(shardPrefix(st.cfg.prefix, sc.name, shardOf(id, sc.shards)), id)
}

// keysAt makes the keys of object id in the shard whose key prefix
// (shardPrefix) is head.
func (sc *schema) keysAt(head, id string) objKeys {
	key := objectKeyAt(head, id)
	k := objKeys{arg: key}
	if sc.conts > 0 {
		k.list = make([]string, 1, 1+sc.conts)
		k.list[0] = key
		for _, f := range sc.contNames {
			k.list = append(k.list, fieldKeyAt(head, f, id))
		}
	}
	return k
}

// shardHeads caches the shard key prefixes of one schema on one Store, for
// operations on many objects.
type shardHeads struct {
	st    *Store
	sc    *schema
	heads []string // by shard, made when first needed; nil past 1024 shards
}

func newShardHeads(st *Store, sc *schema) *shardHeads {
	h := &shardHeads{st: st, sc: sc}
	if sc.shards <= 1024 {
		h.heads = make([]string, sc.shards)
	}
	return h
}

// keys makes the keys of object id.
func (h *shardHeads) keys(id string) objKeys {
	shard := shardOf(id, h.sc.shards)
	if h.heads == nil {
		return h.sc.keysAt(shardPrefix(h.st.cfg.prefix, h.sc.name, shard), id)
	}
	if h.heads[shard] == "" {
		h.heads[shard] = shardPrefix(h.st.cfg.prefix, h.sc.name, shard)
	}
	return h.sc.keysAt(h.heads[shard], id)
}

// setKeys binds m to st and sc as object id with keys k.
func (m *Model) setKeys(st *Store, sc *schema, id string, k objKeys) {
	m.st, m.sc, m.id, m.keyArg[0] = st, sc, id, k.arg
	m.key[0], _ = k.arg.(string)
	if k.list != nil {
		m.ext().keyList = k.list
	} else if m.x != nil {
		m.x.keyList = nil
	}
}

// New returns a new, unsaved object with a generated id (a UUIDv7: unique
// and ordered by creation time) and its fields' declared defaults. No I/O.
func (s *Schema[M, P]) New(st *Store) P {
	p := s.instance(st, uuid.Must(uuid.NewV7()).String())
	p.base().applyDefaults()
	return p
}

// NewWithID is New with a caller-given id. Any id of 1 to MaxIDLen bytes
// works ('{', '}', ':', spaces and non-ASCII included). Errors: ErrInvalid.
func (s *Schema[M, P]) NewWithID(st *Store, id string) (P, error) {
	if err := checkID(id); err != nil {
		return nil, &Error{Op: "New", Model: s.sc.name, ID: id, Err: err}
	}
	p := s.instance(st, id)
	p.base().applyDefaults()
	return p, nil
}

// LoadOption changes how Get and Reload treat stored data.
type LoadOption interface{ applyLoad(*loadConfig) }

type loadConfig struct{ tolerant, fresh bool }

type loadOptionFunc func(*loadConfig)

func (f loadOptionFunc) applyLoad(c *loadConfig) { f(c) }
func (f loadOptionFunc) applyMany(c *manyConfig) { f(&c.load) }

// ReadOption is an option of both the single loads (Get, Reload) and the
// bulk ones (GetMany).
type ReadOption interface {
	LoadOption
	ManyOption
}

// Tolerant makes a load keep going past fields whose stored data does not
// decode: they load as absent and are listed by LoadErrors; the rest loads.
// Without it, such data fails the load with ErrDecode naming the field.
func Tolerant() ReadOption { return loadOptionFunc(func(c *loadConfig) { c.tolerant = true }) }

// Get loads the object with the given id: HGETALL, plus a full read of each
// container field (then all in one MULTI/EXEC: a consistent snapshot), plus
// PEXPIRE of its keys when refresh is on; one round trip. Errors: ErrNotFound, ErrInvalid (bad id), ErrDecode
// (stored data that does not decode, unless Tolerant).
func (s *Schema[M, P]) Get(ctx context.Context, st *Store, id string, opts ...LoadOption) (P, error) {
	if err := checkID(id); err != nil {
		return nil, &Error{Op: "Get", Model: s.sc.name, ID: id, Err: err}
	}
	p := s.instance(st, id)
	if err := p.base().reload(ctx, "Get", opts, true); err != nil {
		return nil, err
	}
	return p, nil
}

// Exists reports whether an object with the given id exists (EXISTS, plus
// PEXPIRE when refresh is on: one round trip).
func (s *Schema[M, P]) Exists(ctx context.Context, st *Store, id string) (bool, error) {
	if err := checkID(id); err != nil {
		return false, &Error{Op: "Exists", Model: s.sc.name, ID: id, Err: err}
	}
	return s.instance(st, id).base().Exists(ctx)
}

// Delete removes the object with the given id and reports whether it
// existed, as Model.Delete does: one round trip.
func (s *Schema[M, P]) Delete(ctx context.Context, st *Store, id string) (bool, error) {
	if err := checkID(id); err != nil {
		return false, &Error{Op: "Delete", Model: s.sc.name, ID: id, Err: err}
	}
	return s.instance(st, id).base().Delete(ctx)
}

// Duplicate inserts a copy of src's local values (what was loaded or set)
// under a new generated id and returns it: one round trip (the Insert). The
// copy may land in another shard, so nothing is copied server-side.
func (s *Schema[M, P]) Duplicate(ctx context.Context, src P) (P, error) {
	sm := src.base()
	if sm.st == nil {
		return nil, &Error{Op: "Duplicate", Model: s.sc.name, Err: ErrUnbound}
	}
	dst := s.instance(sm.st, uuid.Must(uuid.NewV7()).String())
	dm := dst.base()
	fb := sm.st.cfg.fallback
	for i := range sm.fields {
		f := sm.field(i)
		b, present, err := f.encodeLocal(fb)
		if err != nil {
			return nil, detail("Duplicate", s.sc.name, sm.id, f.fullName(), err)
		}
		if present {
			if err := dm.field(i).decodeStored(b, fb); err != nil {
				return nil, detail("Duplicate", s.sc.name, sm.id, f.fullName(), err)
			}
		}
	}
	for i, c := range sm.containers() {
		flat, err := c.local.Encode(fb)
		if err == nil {
			err = dm.containers()[i].Apply(flat)
		}
		if err != nil {
			return nil, detail("Duplicate", s.sc.name, sm.id, c.full, codecErr(ErrInvalid, err))
		}
	}
	if err := dm.Insert(ctx); err != nil {
		return nil, err
	}
	return dst, nil
}

// ttl is the model's effective TTL.
func (m *Model) ttl() time.Duration { return m.sc.ttlOn(m.st) }

func (m *Model) refresh() bool { return m.sc.refreshOn(m.st) }

// ttlOn is the model's TTL on st (its own, or the Store's default).
func (sc *schema) ttlOn(st *Store) time.Duration {
	if sc.ttlSet {
		return sc.ttl
	}
	return st.cfg.ttl
}

// refreshOn says whether reads and writes re-arm the TTL on st.
func (sc *schema) refreshOn(st *Store) bool {
	if sc.refresh != nil {
		return *sc.refresh
	}
	return st.cfg.refresh
}

// loadRefreshes says whether a load (Get, Reload, GetMany) re-arms the TTL.
func (sc *schema) loadRefreshes(st *Store) bool { return sc.ttlOn(st) > 0 && sc.refreshOn(st) }

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

func ttlMillis(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10)
}

// touchTTL is the TTL mode of the scripts (lua/prelude.lua): the TTL to
// re-arm; "keep" when refresh is off (keys a script creates inherit the
// hash's TTL); "0" when the model has no TTL.
func (m *Model) touchTTL() string {
	switch d := m.ttl(); {
	case d <= 0:
		return "0"
	case m.refresh():
		return ttlMillis(d)
	default:
		return "keep"
	}
}

// refreshCmds re-arm the TTL of every key of the object. With save, a model
// whose refresh is off still gets its TTL on keys that have none (NX), so the
// first save of an object sets it.
func (m *Model) refreshCmds(save bool) []cmd {
	if !save && !m.sc.loadRefreshes(m.st) {
		return nil
	}
	d := m.ttl()
	if d <= 0 {
		return nil
	}
	ms := ttlMillis(d)
	var out []cmd
	for _, k := range m.keys() {
		if m.refresh() {
			out = append(out, cmd{"PEXPIRE", []any{k, ms}})
		} else {
			out = append(out, cmd{"PEXPIRE", []any{k, ms, "NX"}})
		}
	}
	return out
}

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
		b, present, err := f.encodeArg(fb)
		if err != nil {
			return nil, nil, detail(op, m.sc.name, m.id, f.fullName(), err)
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

// Save writes the whole object: every present field is set, every absent one
// removed, every container replaced by its local content, the version
// incremented and the TTL set (re-armed when refresh is on; set only where
// missing when off). It creates the object when missing. One round trip: a
// MULTI/EXEC, or lua/save.lua for a model with indexes (their entries move
// in the same script), WithVersionCheck, or containers whose TTL does not
// refresh. Errors: ErrInvalid naming the field whose value does not encode
// (nothing is sent); ErrExists (a Unique value taken) and ErrConflict
// (WithVersionCheck), both with nothing written.
func (m *Model) Save(ctx context.Context) error {
	if err := m.bound("Save"); err != nil {
		return err
	}
	u, err := m.saveUnit("Save")
	if err != nil {
		return err
	}
	return m.run(ctx, "Save", u, func(rs []any) error {
		m.version = u.version(rs)
		return nil
	})
}

// execUnit runs u now and completes it with done, or, with a queue context,
// queues both (done then runs when the queue has run).
func execUnit[R any](ctx context.Context, m *Model, op string, u unit, done func(rs []any, err error) (R, error)) (R, error) {
	if qc := queueOf(ctx); qc != nil {
		var zero R
		return zero, qc.add(op, m, u, func(rs []any, err error) (any, error) { return done(rs, err) })
	}
	rs, err := m.st.runUnit(ctx, u)
	return done(rs, err)
}

// run is execUnit for operations that return only an error: a failed round
// trip or error reply is labelled with op, then done completes.
func (m *Model) run(ctx context.Context, op string, u unit, done func(rs []any) error) error {
	_, err := execUnit(ctx, m, op, u, func(rs []any, err error) (struct{}, error) {
		if err != nil {
			return struct{}{}, m.fail(op, scriptError(err))
		}
		return struct{}{}, done(rs)
	})
	return err
}

// saveUnit is what Save sends for this object: MULTI {HSET, HDEL, per
// container DEL + write, HINCRBY _v, PEXPIRE...}, or, for a model with
// containers whose TTL does not refresh, lua/save.lua (container keys it
// recreates must inherit what the hash has left, which a MULTI cannot read).
// Nothing is built when a value does not encode.
func (m *Model) saveUnit(op string) (unit, error) {
	lead := []any{m.keyArg[0]}
	pairs, absent, err := m.encodeFields(op, m.fields, lead, lead)
	if err != nil {
		return unit{}, err
	}
	blocks, err := m.blocks(op, m.containers())
	if err != nil {
		return unit{}, err
	}
	if m.sc.versionCheck || m.indexed() || (len(m.containers()) > 0 && m.touchTTL() == "keep") {
		ttl := "0"
		if d := m.ttl(); d > 0 {
			ttl = ttlMillis(d)
		}
		args := append(make([]any, 0, 6+len(pairs)+len(absent)), m.touchTTL(), len(m.keys()), ttl, m.expected(), len(pairs)/2, len(absent)-1)
		args = append(append(args, pairs[1:]...), absent[1:]...)
		for _, b := range blocks {
			args = append(args, b...)
		}
		extra, sec := m.indexSection(m.sc.idx)
		return scriptUnit(lua.Save, m.withIndex(extra), append(args, sec...)), nil
	}
	cmds := make([]cmd, 0, 5+2*len(m.containers()))
	if len(pairs) > 1 {
		cmds = append(cmds, cmd{"HSET", pairs})
	}
	if len(absent) > 1 {
		cmds = append(cmds, cmd{"HDEL", absent})
	}
	for i, c := range m.containers() {
		cmds = append(cmds, cmd{"DEL", []any{c.key}})
		if b := blocks[i]; len(b) > 3 {
			cmds = append(cmds, cmd{c.kind.writeCmd(), append([]any{c.key}, b[3:]...)})
		}
	}
	vpos := len(cmds)
	cmds = append(cmds, cmd{"HINCRBY", []any{m.keyArg[0], metaVersion, 1}})
	cmds = append(cmds, m.refreshCmds(true)...)
	return unit{multi: true, cmds: cmds, vpos: vpos}, nil
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
	return m.run(ctx, "Insert", u, func([]any) error {
		m.version = 1
		return nil
	})
}

// insertUnit is what Insert sends: lua/insert.lua with every field, every
// container and the index section.
func (m *Model) insertUnit(op string) (unit, error) {
	pairs, _, err := m.encodeFields(op, m.fields, []any{metaVersion, 1}, nil)
	if err != nil {
		return unit{}, err
	}
	blocks, err := m.blocks(op, m.containers())
	if err != nil {
		return unit{}, err
	}
	ttl := "0"
	if d := m.ttl(); d > 0 {
		ttl = ttlMillis(d)
	}
	extra, sec := m.indexSection(m.sc.idx)
	args := append(make([]any, 0, 3+len(pairs)+len(sec)), ttl, len(m.keys()), len(pairs))
	args = append(args, pairs...)
	for _, b := range blocks {
		args = append(args, b...)
	}
	args = append(args, sec...)
	return scriptUnit(lua.Insert, m.withIndex(extra), args), nil
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
	extra, sec := m.indexSection(specs)
	args := make([]any, 0, 5+len(pairs)+len(absent)+len(blocks)+len(sec))
	args = append(args, m.touchTTL(), len(m.keys()), len(pairs)/2, len(absent), expect)
	args = append(append(append(append(args, pairs...), absent...), blocks...), sec...)
	return m.run(ctx, op, scriptUnit(lua.Update, m.withIndex(extra), args), func(rs []any) error {
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

// Reload replaces every local value with the server's, reading as Get does
// (one round trip). Errors: ErrNotFound, ErrDecode (unless
// Tolerant); on error the local values are unchanged.
func (m *Model) Reload(ctx context.Context, opts ...LoadOption) error {
	if err := m.bound("Reload"); err != nil {
		return err
	}
	return m.reload(ctx, "Reload", opts, false)
}

func (m *Model) reload(ctx context.Context, op string, opts []LoadOption, fresh bool) error {
	lc := loadConfig{fresh: fresh}
	for _, o := range opts {
		o.applyLoad(&lc)
	}
	return m.run(ctx, op, m.loadUnit(), func(rs []any) error {
		return m.apply(op, rs, lc.tolerant, lc.fresh)
	})
}

// loadUnit is what Get and Reload send: HGETALL, one full read per
// container, PEXPIRE per key when refresh is on. With containers the reads
// are one MULTI/EXEC: a consistent snapshot. It depends only on the
// object's keys, schema and Store, so a Model with nothing bound (setKeys
// alone) sends the same.
func (m *Model) loadUnit() unit {
	cmds := append(m.readCmds(), m.refreshCmds(false)...)
	return unit{multi: m.sc.conts > 0 || len(cmds) > 2, cmds: cmds}
}

// readCmds read the whole object: HGETALL, then one full read per container.
func (m *Model) readCmds() []cmd {
	if m.sc.conts == 0 {
		return []cmd{{"HGETALL", m.keyArg[:1:1]}}
	}
	cmds := make([]cmd, 0, 1+2*m.sc.conts)
	cmds = append(cmds, cmd{"HGETALL", m.keyArg[:1:1]})
	for j, k := range m.sc.contKinds {
		cmds = append(cmds, k.readCmd(m.keys()[1+j]))
	}
	return cmds
}

// apply decodes the replies of reload (HGETALL, then one full read per
// container) into the local values: all or nothing unless tolerant.
//
// fresh says the object was just made to be loaded (Get, GetMany): with no
// local values to protect, fields decode straight into place.
func (m *Model) apply(op string, replies []any, tolerant, fresh bool) error {
	kv, _ := replies[0].([]any)
	if len(kv) == 0 {
		return m.fail(op, ErrNotFound)
	}
	fb := m.st.cfg.fallback
	var errs []error
	var version int64
	var raws [][]byte // staged values (Reload), nil for a fresh object
	var seen []bool
	if fresh {
		version, errs = m.decodeFresh(op, kv, fb)
	} else {
		// Scratch on the stack for the usual model size.
		var rawBuf [16][]byte
		var seenBuf [16]bool
		if n := len(m.fields); n > len(rawBuf) {
			raws, seen = make([][]byte, n), make([]bool, n)
		} else {
			raws, seen = rawBuf[:n], seenBuf[:n]
		}
		version, errs = m.stageFields(op, kv, fb, raws, seen)
	}
	staged := make([]bool, len(m.containers()))
	for i, c := range m.containers() {
		flat, err := FlatReply(replies[1+i], nil)
		if err == nil {
			err = c.local.Stage(flat, fb)
		}
		if err != nil {
			errs = append(errs, detail(op, m.sc.name, m.id, c.full, codecErr(ErrDecode, err)))
			continue
		}
		staged[i] = true
	}
	if len(errs) > 0 && !tolerant {
		return errs[0]
	}
	for i := range m.fields {
		switch {
		case fresh:
		case seen[i]:
			m.field(i).commit(raws[i], fb)
		default:
			m.field(i).clearLocal()
		}
	}
	for i, c := range m.containers() {
		if staged[i] {
			c.local.Commit()
		} else {
			c.local.Reset()
		}
	}
	m.version = version
	if errs != nil {
		m.ext().loadErrs = errs
	} else if m.x != nil {
		m.x.loadErrs = nil
	}
	return nil
}

// fieldAt returns the position among the scalars of the stored field name,
// trying next first: HGETALL of a small hash answers in the order Save
// wrote, which is schema order.
func (m *Model) fieldAt(name []byte, next int) (int, bool) {
	if next < len(m.sc.scalarNames) && m.sc.scalarNames[next] == string(name) {
		return next, true
	}
	idx, ok := m.sc.index[string(name)]
	return idx, ok
}

// parseVersion decodes the stored version counter.
func (m *Model) parseVersion(op string, val []byte) (int64, error) {
	v, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return 0, detail(op, m.sc.name, m.id, metaVersion, fmt.Errorf("%w: version %q", ErrDecode, val))
	}
	return v, nil
}

// storedPairs walks the pairs of an HGETALL reply: it decodes the version
// as it passes it and yields the model's scalar fields (others are skipped).
type storedPairs struct {
	m       *Model
	op      string
	kv      []any
	i, next int
	version int64
	errs    []error // the version's, then what the caller adds, in order
}

// field returns the next scalar field's position and stored text.
func (p *storedPairs) field() (idx int, val []byte, ok bool) {
	for p.i+1 < len(p.kv) {
		name, _ := p.kv[p.i].([]byte)
		val, _ := p.kv[p.i+1].([]byte)
		p.i += 2
		if string(name) == metaVersion {
			v, err := p.m.parseVersion(p.op, val)
			if err != nil {
				p.errs = append(p.errs, err)
			}
			p.version = v
			continue
		}
		if idx, ok := p.m.fieldAt(name, p.next); ok {
			p.next = idx + 1
			return idx, val, true
		}
	}
	return 0, nil, false
}

// decodeFresh decodes the HGETALL pairs kv straight into the fields of an
// object made to be loaded (nothing local to protect: on a strict failure
// the caller drops the object). A field that does not decode is left absent.
func (m *Model) decodeFresh(op string, kv []any, fb serialize.Fallback) (version int64, errs []error) {
	p := storedPairs{m: m, op: op, kv: kv}
	for {
		idx, val, ok := p.field()
		if !ok {
			return p.version, p.errs
		}
		f := m.field(idx)
		if err := f.decodeStored(val, fb); err != nil {
			f.clearLocal()
			p.errs = append(p.errs, detail(op, m.sc.name, m.id, f.fullName(), err))
		}
	}
}

// stageFields decodes the HGETALL pairs kv into each field's staging slot,
// so that a strict failure leaves the local values untouched: raws[i] gets
// the stored text of field i and seen[i] whether it staged.
func (m *Model) stageFields(op string, kv []any, fb serialize.Fallback, raws [][]byte, seen []bool) (version int64, errs []error) {
	p := storedPairs{m: m, op: op, kv: kv}
	for {
		idx, val, ok := p.field()
		if !ok {
			break
		}
		raws[idx], seen[idx] = val, true
	}
	version, errs = p.version, p.errs
	for i := range m.fields {
		if !seen[i] {
			continue
		}
		f := m.field(i)
		if err := f.stage(raws[i], fb); err != nil {
			errs = append(errs, detail(op, m.sc.name, m.id, f.fullName(), err))
			seen[i] = false
		}
	}
	return version, errs
}

// Delete removes the object and reports whether it existed: DEL of all its
// keys, or lua/delete.lua for a model with indexes (its index entries go in
// the same script); one round trip. Local values are kept.
func (m *Model) Delete(ctx context.Context) (bool, error) {
	if err := m.bound("Delete"); err != nil {
		return false, err
	}
	keys := m.keys()
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	u := unit{cmds: []cmd{{"DEL", args}}}
	if m.indexed() {
		u = m.deleteUnit()
	}
	return execUnit(ctx, m, "Delete", u, func(rs []any, err error) (bool, error) {
		if err != nil {
			return false, m.fail("Delete", err)
		}
		n, _ := redis.Int64(rs[0], nil)
		return n > 0, nil
	})
}

// Exists reports whether the object exists (EXISTS, plus PEXPIRE when refresh
// is on: one round trip).
func (m *Model) Exists(ctx context.Context) (bool, error) {
	if err := m.bound("Exists"); err != nil {
		return false, err
	}
	cmds := append([]cmd{{"EXISTS", []any{m.key[0]}}}, m.refreshCmds(false)...)
	return execUnit(ctx, m, "Exists", unit{cmds: cmds}, func(rs []any, err error) (bool, error) {
		if err != nil {
			return false, m.fail("Exists", err)
		}
		n, _ := redis.Int64(rs[0], nil)
		return n == 1, nil
	})
}

// SetTTL sets the expiry of all of the object's keys to d (PEXPIRE; one
// round trip). It does not change the model's TTL: with refresh on, the next
// operation re-arms the model's TTL. Errors: ErrNotFound, ErrInvalid (d < 1ms).
func (m *Model) SetTTL(ctx context.Context, d time.Duration) error {
	if err := m.bound("SetTTL"); err != nil {
		return err
	}
	if d < time.Millisecond {
		return m.fail("SetTTL", fmt.Errorf("%w: TTL %v is shorter than 1ms", ErrInvalid, d))
	}
	return m.allKeys(ctx, "SetTTL", "PEXPIRE", d.Milliseconds())
}

// Persist removes the expiry of all of the object's keys (PERSIST; one round
// trip). With refresh on, the next operation sets the model's TTL again.
// Errors: ErrNotFound.
func (m *Model) Persist(ctx context.Context) error {
	if err := m.bound("Persist"); err != nil {
		return err
	}
	return m.allKeys(ctx, "Persist", "PERSIST")
}

// allKeys runs command on every key of the object in one MULTI/EXEC, after an
// EXISTS that reports ErrNotFound.
func (m *Model) allKeys(ctx context.Context, op, command string, extra ...any) error {
	cmds := []cmd{{"EXISTS", []any{m.key[0]}}}
	for _, k := range m.keys() {
		cmds = append(cmds, cmd{command, append([]any{k}, extra...)})
	}
	return m.run(ctx, op, unit{multi: true, cmds: cmds}, func(rs []any) error {
		if n, _ := redis.Int64(rs[0], nil); n == 0 {
			return m.fail(op, ErrNotFound)
		}
		return nil
	})
}

// TTL returns the time left before the object expires (PTTL of its hash; one
// round trip), or NoExpiry. It does not refresh the TTL. Errors: ErrNotFound.
func (m *Model) TTL(ctx context.Context) (time.Duration, error) {
	if err := m.bound("TTL"); err != nil {
		return 0, err
	}
	return execUnit(ctx, m, "TTL", unit{cmds: []cmd{{"PTTL", []any{m.key[0]}}}}, func(rs []any, err error) (time.Duration, error) {
		if err != nil {
			return 0, m.fail("TTL", err)
		}
		ms, _ := redis.Int64(rs[0], nil)
		switch {
		case ms == -2:
			return 0, m.fail("TTL", ErrNotFound)
		case ms < 0:
			return NoExpiry, nil
		}
		return time.Duration(ms) * time.Millisecond, nil
	})
}

// loadFieldUnit reads one field and the object's version: HMGET, plus
// PEXPIRE when refresh is on.
func (m *Model) loadFieldUnit(name string) unit {
	return unit{cmds: append([]cmd{{"HMGET", []any{m.key[0], metaVersion, name}}}, m.refreshCmds(false)...)}
}

// fieldReply reads loadFieldUnit's replies: the field (nil when absent),
// ErrNotFound when the object does not exist; it notes the version.
func (m *Model) fieldReply(rs []any, err error) ([]byte, error) {
	if err != nil {
		return nil, scriptError(err)
	}
	vals, _ := rs[0].([]any)
	if len(vals) != 2 || vals[0] == nil {
		return nil, ErrNotFound
	}
	if v, err := strconv.ParseInt(string(asBytes(vals[0])), 10, 64); err == nil {
		m.version = v
	}
	return asBytes(vals[1]), nil
}

func asBytes(r any) []byte {
	b, _ := r.([]byte)
	return b
}
