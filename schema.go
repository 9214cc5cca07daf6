package rapyer

import (
	"fmt"
	"time"
)

// schema is the definition-time description of a model.
type schema struct {
	name         string
	ttl          time.Duration
	ttlSet       bool
	refresh      *bool
	shards       int
	shardsSet    bool           // WithShards given; else the Store decides (shardsOn)
	names        []string       // flattened field names, in schema order
	argNames     []any          // scalar names boxed once, for command arguments
	scalarNames  []string       // the same names, unboxed
	idx          []indexSpec    // indexed fields, in schema order
	unique       bool           // one of idx is Unique (set with idx, at Define)
	index        map[string]int // scalar name -> position among the scalars
	conts        int            // number of container fields
	versionCheck bool           // WithVersionCheck
	contNames    []string       // their names, in schema order
	contKinds    []ContainerKind
	flat         bool // the schema function lists scalars only (see instanceAt)
	redefine     bool // Redefine
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
// invalid or used twice, when a handle is listed twice, on an invalid
// option, or when another line of the program already defined a model of
// that name (see Redefine). Nothing at run time panics.
func Define[M any, P modelPtr[M]](name string, def func(P) Fields, opts ...ModelOption) *Schema[M, P] {
	if !validModelName(name) {
		panic(fmt.Sprintf("rapyer: invalid model name %q: want a letter, then letters, digits, '_' or '-' (at most 64 bytes)", name))
	}
	sc := &schema{name: name, index: map[string]int{}}
	for _, o := range opts {
		o.applyModel(sc)
	}
	if sc.shardsSet && (sc.shards < 1 || sc.shards > 16384) {
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
			if err := c.container().local().Check(); err != nil {
				panic(fmt.Sprintf("rapyer: model %q: field %q: %v", name, n, err))
			}
			sc.conts++
			sc.contNames = append(sc.contNames, n)
			sc.contKinds = append(sc.contKinds, c.container().kind())
			continue
		}
		sc.index[n] = len(sc.argNames)
		if b := h.(binder); b.indexMode() > 0 {
			k := b.sortKind()
			if k == 0 {
				panic(fmt.Sprintf("rapyer: model %q: field %q: Index/Unique needs a value with an ordered native encoding (string, bytes, integer, float, bool, time, or a named type with serialize.StringOf/IntOf/FloatOf); this one is stored as msgpack or by a custom codec", name, n))
			}
			sc.idx = append(sc.idx, indexSpec{name: n, kind: k, unique: b.indexMode() == 2, pos: len(sc.argNames)})
			sc.unique = sc.unique || b.indexMode() == 2
		}
		sc.argNames = append(sc.argNames, n)
		sc.scalarNames = append(sc.scalarNames, n)
	}
	s := &Schema[M, P]{sc: sc, def: def}
	register(sc, callSite(), func(st *Store, id string) Object { return any(s.instance(st, id)).(Object) })
	return s
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
	c.bind(m)
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

// keysOf makes the keys of object id (without a Store, New(nil): as with
// no prefix; the object is unbound and sends nothing).
func (sc *schema) keysOf(st *Store, id string) objKeys {
	prefix := ""
	if st != nil {
		prefix = st.cfg.prefix
	}
	n, sp := sc.layout(st)
	return sc.keysAt(shardPrefix(prefix, sc.name, shardOf(id, n), sp), id)
}

// clusterShards is the default shard count on a cluster.
const clusterShards = 12

// shardsOn is the model's shard count on st: WithShards's, else the
// Store's WithDefaultShards, else 1 on one server and 12 on a cluster
// (a Unique field's values are then claimed across shards: claim.go).
// Without a Store (an unbound object), 1.
func (sc *schema) shardsOn(st *Store) int {
	switch {
	case sc.shardsSet:
		return sc.shards
	case st == nil:
		return 1
	case st.cfg.defaultShards > 0:
		return st.cfg.defaultShards
	case st.cl != nil:
		return clusterShards
	}
	return 1
}

// layout is the model's shard count on st and the n its hash tags are
// spread for (shardPrefix): n on a cluster, 0 on one server, where the tags
// stay {model:i} (existing keys do not move).
func (sc *schema) layout(st *Store) (n int, spread uint32) {
	n = sc.shardsOn(st)
	if st != nil && st.cl != nil {
		spread = uint32(n)
	}
	return n, spread
}

// needStore is the error of an operation given a nil Store: ErrInvalid
// naming op and the model.
func (sc *schema) needStore(op string, st *Store) error {
	if st != nil {
		return nil
	}
	return &Error{Op: op, Model: sc.name, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
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
	n     int      // the shard count on st
	sp    uint32   // and the spread of its tags
}

func newShardHeads(st *Store, sc *schema) *shardHeads {
	h := &shardHeads{st: st, sc: sc}
	h.n, h.sp = sc.layout(st)
	if h.n <= 1024 {
		h.heads = make([]string, h.n)
	}
	return h
}

// keys makes the keys of object id.
func (h *shardHeads) keys(id string) objKeys {
	shard := shardOf(id, h.n)
	if h.heads == nil {
		return h.sc.keysAt(shardPrefix(h.st.cfg.prefix, h.sc.name, shard, h.sp), id)
	}
	if h.heads[shard] == "" {
		h.heads[shard] = shardPrefix(h.st.cfg.prefix, h.sc.name, shard, h.sp)
	}
	return h.sc.keysAt(h.heads[shard], id)
}

// setKeys binds m to st and sc as object id with keys k.
func (m *Model) setKeys(st *Store, sc *schema, id string, k objKeys) {
	m.st, m.sc, m.id = st, sc, id
	m.key[0], _ = k.arg.(string)
	if k.list != nil {
		m.ext().keyList = k.list
	} else if m.x != nil {
		m.x.keyList = nil
	}
}
