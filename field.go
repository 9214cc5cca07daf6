package rapyer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// Field is one entry of a model's schema: a named handle (see Scalar.Named)
// or a group of them (see Nested). Only this package implements it.
type Field interface {
	flatten(prefix string, out []handle) []handle // at Define: name and check
	collectInto(m *Model, i int) int              // per object: bind (Model.collect)
}

// Fields is the field list a schema function returns (see Define).
type Fields []Field

// handle is a field bound to an object: a scalar (binder) or a container
// (*Container).
type handle interface {
	Field
	fullName() string
	model() *Model
	bind(m *Model)
	clearLocal()
	applyDefault()
}

// binder is a scalar handle: what Save, Get and Update need.
type binder interface {
	handle
	setFull(name string) // the dotted name, as Define computed it
	indexMode() uint8    // 0, 1 indexed, 2 unique
	sortKind() byte
	encodeLocal(fb serialize.Fallback) (b []byte, present bool, err error)
	encodeArg(fb serialize.Fallback) (arg any, present bool, err error)
	decodeStored(b []byte, fb serialize.Fallback) error
	decodeCopies() bool                          // decodeStored keeps nothing of b
	stage(b []byte, fb serialize.Fallback) error // check that b decodes
	commit(b []byte, fb serialize.Fallback)      // decode b, staged, into place
}

// containerHandle is what a container handle (a type embedding Container)
// has.
type containerHandle interface {
	handle
	container() *Container
}

// Nested groups the fields of a struct of handles inside a model under name:
// they are stored in the parent's hash as "name.field" and have every
// operation a top-level field has. Nested groups may nest.
func Nested(name string, fields ...Field) Field {
	return &nested{name: name, fields: fields}
}

type nested struct {
	name   string
	fields []Field
}

func (n *nested) collectInto(m *Model, i int) int {
	for _, f := range n.fields {
		i = f.collectInto(m, i)
	}
	return i
}

func (n *nested) flatten(prefix string, out []handle) []handle {
	if !validFieldPart(n.name) {
		panic(fmt.Sprintf("rapyer: invalid nested field name %q under %q: want a letter, then letters, digits or '_'", n.name, prefix))
	}
	for _, f := range n.fields {
		if f == nil {
			panic(fmt.Sprintf("rapyer: nil field in nested %q", prefix+n.name))
		}
		out = f.flatten(prefix+n.name+".", out)
	}
	return out
}

// Scalar is the local state and the common operations of every scalar handle
// (package types embeds it: types.Int is a Scalar[int64] with arithmetic).
// A Scalar holds a value or is absent; absent is distinct from the zero value
// and is stored as a missing hash field.
//
// Get, Set, Lookup, Present and Clear work on the local copy without I/O.
// Load and Save talk to the server and need the handle's object to be bound
// to a Store (objects come from Schema.New or Schema.Get).
//
// Its fields are laid out small (every loaded object holds one per field):
// the name given to Named lives in full until Define or binding sets the
// dotted name, and a reload checks every stored value before it sets any
// (stage, then commit decodes again) instead of keeping a staging slot.
type Scalar[T any] struct {
	ref          // the object it belongs to (ops.Handle; see package ops)
	full  string // Named's name, then the dotted name inside the model
	def   *T     // Default's value (a pointer: most fields have none)
	codec serialize.Codec[T]
	val   T // after the pointers, so a small T packs with ok and index
	ok    bool
	index uint8 // 0, or indexed (1) / unique (2): see Index, Unique
}

// Named gives the handle its field name in the schema; call it inside the
// schema function passed to Define. Names are a letter, then letters, digits
// or '_' (at most 64 bytes); Define panics on an invalid or duplicate name.
func (s *Scalar[T]) Named(name string) *Scalar[T] {
	s.full = name
	return s
}

// Default declares the value a new object (Schema.New) starts with; without
// it a new object's field is absent. Loading never applies defaults: a field
// absent in Redis loads as absent.
func (s *Scalar[T]) Default(v T) *Scalar[T] {
	s.def = &v
	return s
}

// Codec stores the field with c instead of the native codec for T (or, for a
// T without one, the Store's fallback codec). Use it for named types:
// Codec(serialize.StringOf[Status]()).
func (s *Scalar[T]) Codec(c serialize.Codec[T]) *Scalar[T] {
	s.codec = c
	return s
}

// Index gives the field a secondary index (lua/index.lua), kept up to date
// atomically by every write of the object and read by queries (Eq, NotEq,
// In, ranges, Prefix, sorting). One index serves every kind of predicate:
// numbers and times order by value, strings and bools by their bytes. Define
// panics when T has no ordered native encoding (Value of a struct, a custom
// codec).
func (s *Scalar[T]) Index() *Scalar[T] {
	s.index = max(s.index, 1)
	return s
}

// Unique is Index plus a constraint: no two live objects of the model (over
// every shard) hold the same value. A write that would break it returns
// ErrExists naming the field and the value, and writes nothing. Absent
// values are not constrained.
func (s *Scalar[T]) Unique() *Scalar[T] {
	s.index = 2
	return s
}

// sortKind is the index kind of the field (see serialize.SortKind), 0 when
// its encoding has no order.
func (s *Scalar[T]) sortKind() byte {
	if s.codec != nil {
		return serialize.SortKind(s.codec)
	}
	if c := serialize.For[T](); c != nil {
		return serialize.SortKind(c)
	}
	return 0
}

func (s *Scalar[T]) indexMode() uint8 { return s.index }

// Name returns the field's dotted name inside its model ("home.city").
func (s *Scalar[T]) Name() string { return s.full }

// Get returns the local value, or T's zero value when absent.
func (s *Scalar[T]) Get() T { return s.val }

// Lookup returns the local value and whether it is present.
func (s *Scalar[T]) Lookup() (T, bool) { return s.val, s.ok }

// Present reports whether the local value is present (not absent).
func (s *Scalar[T]) Present() bool { return s.ok }

// Set assigns the local value; Save or Update writes it.
func (s *Scalar[T]) Set(v T) { s.val, s.ok = v, true }

// Clear makes the local value absent; Save or Update then removes the field
// from Redis (HDEL).
func (s *Scalar[T]) Clear() {
	var zero T
	s.val, s.ok = zero, false
}

// Load reads this one field from Redis into the local value (HMGET of the
// field and the object's metadata, plus PEXPIRE when refresh is on: one round
// trip) and returns it. An absent field returns T's zero value and leaves the
// handle absent. Errors: ErrNotFound when the object does not exist, ErrDecode
// when the stored text does not decode; the local value is then unchanged.
func (s *Scalar[T]) Load(ctx context.Context) (T, error) {
	var zero T
	m, err := boundModel(s, "Load")
	if err != nil {
		return zero, err
	}
	return execUnit(ctx, m, "Load", m.loadFieldUnit(s.full), func(rs []any, err error) (T, error) {
		raw, err := m.fieldReply(rs, err)
		if err != nil {
			return zero, detail("Load", m.sc.name, m.id, s.full, err)
		}
		if raw == nil {
			s.Clear()
			return zero, nil
		}
		if err := s.decodeStored(raw, m.st.cfg.fallback); err != nil {
			return zero, detail("Load", m.sc.name, m.id, s.full, err)
		}
		return s.val, nil
	})
}

// Save writes this one field (or removes it when absent) and nothing else;
// it is Update with this field alone: one script, one round trip.
// Errors: ErrNotFound when the object does not exist (nothing is written).
func (s *Scalar[T]) Save(ctx context.Context) error {
	m, err := boundModel(s, "Save")
	if err != nil {
		return err
	}
	return detail("Save", m.sc.name, m.id, s.full, m.Update(ctx, s))
}

func (s *Scalar[T]) flatten(prefix string, out []handle) []handle {
	if !validFieldPart(s.full) {
		panic(fmt.Sprintf("rapyer: invalid field name %q under %q: call Named with a letter, then letters, digits or '_' (at most 64 bytes)", s.full, prefix))
	}
	s.full = prefix + s.full
	return append(out, s)
}

// collectInto binds the handle as m's i-th field, named as Define named it.
func (s *Scalar[T]) collectInto(m *Model, i int) int {
	if s.full != m.sc.names[i] { // Named set it already, unless nested
		s.full = m.sc.names[i]
	}
	s.ref = ops.RefTo(m.object())
	if m.st != nil && len(m.fields) < cap(m.fields) { // full: the schema function's own list
		m.fields = append(m.fields, s)
	}
	return i + 1
}

func (s *Scalar[T]) fullName() string    { return s.full }
func (s *Scalar[T]) setFull(name string) { s.full = name }
func (s *Scalar[T]) model() *Model       { return modelOf(&s.ref) }
func (s *Scalar[T]) bind(m *Model)       { s.ref = ops.RefTo(m.object()) }
func (s *Scalar[T]) clearLocal()         { s.Clear() }

func (s *Scalar[T]) applyDefault() {
	if s.def != nil {
		s.Set(*s.def)
	}
}

// fallback is the Store's fallback codec, msgpack while unbound.
func (s *Scalar[T]) fallback() serialize.Fallback {
	if m := s.model(); m != nil && m.st != nil {
		return m.st.cfg.fallback
	}
	return serialize.Msgpack
}

func (s *Scalar[T]) codecFor(fb serialize.Fallback) serialize.Codec[T] {
	if s.codec != nil {
		return s.codec
	}
	if c := serialize.For[T](); c != nil {
		return c
	}
	return serialize.Via[T](fb)
}

func (s *Scalar[T]) encodeLocal(fb serialize.Fallback) ([]byte, bool, error) {
	if !s.ok {
		return nil, false, nil
	}
	b, err := s.codecFor(fb).Encode(s.val)
	if err != nil {
		return nil, true, codecErr(ErrInvalid, err)
	}
	return b, true, nil
}

// encodeArg is encodeLocal as a command argument. Values of the native
// types go as themselves: redigo writes a string, an int64, a float64 ('g',
// -1) and a bool ("1"/"0") exactly as their codecs would, so the bytes sent
// are the same with one allocation less (no []byte copy to box).
func (s *Scalar[T]) encodeArg(fb serialize.Fallback) (any, bool, error) {
	if !s.ok {
		return nil, false, nil
	}
	if s.codec == nil {
		x := any(s.val)
		switch v := x.(type) {
		case string, int64, bool:
			return x, true, nil
		case float64:
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				return x, true, nil
			}
		}
	}
	b, present, err := s.encodeLocal(fb)
	return b, present, err
}

// native is a pointer to the local value when decodeStored decodes it
// itself (no codec of the field's own, one of the common native types),
// else nil.
func (s *Scalar[T]) native() any {
	if s.codec != nil {
		return nil
	}
	switch p := any(&s.val).(type) {
	case *string, *int64, *float64, *bool, *time.Time:
		return p
	}
	return nil
}

func (s *Scalar[T]) decodeStored(b []byte, fb serialize.Fallback) error {
	if p := s.native(); p != nil {
		// The common native types, without resolving a Codec[T] (a type
		// switch and an interface assertion per field on every load). On a
		// decode error the local value stays as it was.
		var err error
		switch p := p.(type) {
		case *string:
			*p = string(b)
		case *int64:
			err = decodeInto(p, serialize.Int64, b)
		case *float64:
			err = decodeInto(p, serialize.Float64, b)
		case *bool:
			err = decodeInto(p, serialize.Bool, b)
		case *time.Time:
			err = decodeInto(p, serialize.Time, b)
		}
		if err != nil {
			return codecErr(ErrDecode, err)
		}
		s.ok = true
		return nil
	}
	v, err := s.codecFor(fb).Decode(b)
	if err != nil {
		return codecErr(ErrDecode, err)
	}
	s.Set(v)
	return nil
}

// decodeCopies reports whether decodeStored keeps nothing of the bytes it
// decodes: the native types' decoding copies or parses them; a codec (the
// field's own, or the fallback) might keep them.
func (s *Scalar[T]) decodeCopies() bool { return s.native() != nil }

func (s *Scalar[T]) stage(b []byte, fb serialize.Fallback) error {
	if _, err := s.codecFor(fb).Decode(b); err != nil {
		return codecErr(ErrDecode, err)
	}
	return nil
}

func (s *Scalar[T]) commit(b []byte, fb serialize.Fallback) {
	_ = s.decodeStored(b, fb) // stage checked it: cannot fail
}

// decodeInto decodes b with c into *p, leaving *p alone on error.
func decodeInto[V any](p *V, c serialize.Codec[V], b []byte) error {
	v, err := c.Decode(b)
	if err == nil {
		*p = v
	}
	return err
}

// decodeReply decodes a stored value returned by a field script into the
// local value (ops.DecodeReply), reporting ErrDecode with the field's name.
func (s *Scalar[T]) decodeReply(b []byte) error {
	if err := s.decodeStored(b, s.fallback()); err != nil {
		if m := s.model(); m != nil && m.sc != nil {
			return detail("decode", m.sc.name, m.id, s.full, err)
		}
		return detail("decode", "", "", s.full, err)
	}
	return nil
}

// encodeAny encodes v, a T, with the field's codec (ops.Encode), reporting
// ErrInvalid with the field's name.
func (s *Scalar[T]) encodeAny(v any) ([]byte, error) {
	t, ok := v.(T)
	if !ok {
		var want T
		return nil, &Error{Op: "encode", Field: s.full, Err: fmt.Errorf("%w: value of type %T for a field of type %T", ErrInvalid, v, want)}
	}
	b, err := s.codecFor(s.fallback()).Encode(t)
	if err != nil {
		return nil, &Error{Op: "encode", Field: s.full, Err: codecErr(ErrInvalid, err)}
	}
	return b, nil
}

// codecErr re-labels a serialize error with the root sentinel, without
// repeating the serialize package's own wording.
func codecErr(sentinel, err error) error {
	msg := err.Error()
	for _, e := range []error{serialize.ErrDecode, serialize.ErrEncode} {
		msg = strings.TrimPrefix(msg, e.Error()+": ")
	}
	return &causeError{sentinel: sentinel, msg: msg}
}

// fieldOf returns the bound handle behind f and its object.
func fieldOf(f Field, op string) (handle, *Model, error) {
	b, ok := f.(handle)
	if !ok {
		return nil, nil, &Error{Op: op, Err: fmt.Errorf("%w: not a field handle", ErrInvalid)}
	}
	m, err := boundModel(b, op)
	return b, m, err
}

func boundModel(f handle, op string) (*Model, error) {
	m := f.model()
	if m == nil || m.st == nil {
		return nil, &Error{Op: op, Field: f.fullName(), Err: ErrUnbound}
	}
	return m, nil
}

// fieldScript (ops.Script) runs one of the field scripts (lua.Int, lua.List, ...) on
// field f of its object, in one round trip: KEYS are the object's keys
// (Model.Keys), ARGV the TTL mode (per the model's refresh setting), the
// number of object keys, the field's reference and args. The reference is
// the field's name for a scalar (a field of the hash, KEYS[1]) and the
// 1-based index of its key in KEYS for a container. Script error replies come
// back as *Error wrapping the matching sentinel (ErrNotFound, ErrOverflow,
// ...).
//
// decode turns the reply into R and does everything the operation does with
// it (updating the handle's local copy): with a queue context (Store.Batch,
// Store.Tx) fieldScript only queues the call and returns R's zero value, and
// decode runs when the queue has run. An error decode returns is passed on
// as is when it is an *Error, else wrapped as ErrDecode. On a model with
// WithVersionCheck, fieldScript runs sc's Versioned twin and keeps the
// object's Version in step (decode still gets the script's own reply). For
// handle implementers (through ops.Script); redigo's redis.Bytes has decode's
// shape.
func fieldScript[R any](ctx context.Context, op string, f Field, sc *lua.Script, decode func(any, error) (R, error), args ...any) (R, error) {
	var zero R
	b, m, err := fieldOf(f, op)
	if err != nil {
		return zero, err
	}
	keys := m.keys()
	full := make([]any, 0, 4+len(args))
	full = append(full, m.touchTTL(), len(m.keys()))
	c, isCont := b.(containerHandle)
	if isCont {
		full = append(full, c.container().idx)
	} else {
		full = append(full, b.fullName())
	}
	full = append(full, args...)
	var cs []*claim
	var computed *indexSpec // a unique field whose value the script computes (claim_field.go)
	if !isCont {
		// Scalar scripts end with the field's index section (lua/index.lua).
		var extra []string
		sec := noIndex
		if m.indexed() {
			specs := m.specsOf([]Field{b})
			extra, sec = m.indexSection(specs)
			if cs, computed, err = m.fieldClaims(op, specs, sc, args); err != nil {
				return zero, err
			}
		}
		keys = m.withIndex(extra)
		full = append(full, sec...)
		if sc == lua.Int && len(sec) == 1 && len(args) > 0 && (args[0] == "add" || args[0] == "sub") {
			sc = lua.IntAdd // no index to keep: the script without index.lua
		}
	}
	// A model with WithVersionCheck runs the twin that also replies the
	// version, so that its Version follows its own field operations.
	versioned := m.sc.versionCheck && sc.Versioned() != nil
	if versioned {
		sc = sc.Versioned()
	}
	finish := func(r any, err error) (R, error) {
		if err != nil {
			return zero, detail(op, m.sc.name, m.id, b.fullName(), scriptError(err))
		}
		if versioned {
			if r, err = m.versionedReply(r); err != nil {
				return zero, detail(op, m.sc.name, m.id, b.fullName(), err)
			}
		}
		return decodeWith(op, m, b, decode, r)
	}
	if qc := queueOf(ctx); qc != nil {
		if computed != nil {
			return zero, computedQueued(m, op, computed.name)
		}
		return zero, qc.add(op, m, ops.ScriptUnit(sc, keys, full), cs, func(rs []any, err error) (any, error) {
			var r any
			if len(rs) > 0 {
				r = rs[0]
			}
			return finish(r, err)
		})
	}
	ctx, o := m.st.beginField(ctx, op, m.sc.name, m.id, b)
	var r R
	var short error // WAIT short of its count: the write stands
	if computed != nil {
		reply, err := m.computedClaimed(ctx, op, *computed, sc, keys, full, &short)
		r, err = finish(reply, err)
		if err == nil && short != nil {
			err = detail(op, m.sc.name, m.id, b.fullName(), short)
		}
		o.end(err)
		return r, err
	}
	err = m.withClaims(ctx, op, cs, &short, func(ctx context.Context) error {
		reply, err := m.st.eval(ctx, sc, keys, full...)
		err, short = shortOf(err)
		r, err = finish(reply, err)
		return err
	})
	if err == nil && short != nil {
		err = detail(op, m.sc.name, m.id, b.fullName(), short)
	}
	o.end(err)
	return r, err
}

// versionedReply unwraps the reply of a field script's Versioned twin,
// {version, reply}, and returns the operation's own reply. The version its
// write left becomes the object's Version when it is exactly one past it:
// the write was the only one since the object last saw the server.
// Otherwise (another client wrote in between, or nothing was written)
// Version stays, so a checked Save still detects the other writer.
func (m *Model) versionedReply(r any) (any, error) {
	rs, ok := r.([]any)
	if !ok || len(rs) == 0 {
		return nil, fmt.Errorf("%w: field script replied %T", ErrDecode, r)
	}
	if v, ok := rs[0].(int64); ok && v == m.version+1 {
		m.version = v
	}
	if len(rs) < 2 {
		return nil, nil // the operation's own reply was nil
	}
	return rs[1], nil
}

// decodeWith runs a handle's decode on a reply, labelling its errors.
func decodeWith[R any](op string, m *Model, b handle, decode func(any, error) (R, error), r any) (R, error) {
	out, err := decode(r, nil)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return out, err
		}
		return out, detail(op, m.sc.name, m.id, b.fullName(), fmt.Errorf("%w: %v", ErrDecode, err))
	}
	return out, nil
}
