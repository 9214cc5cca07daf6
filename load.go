package rapyer

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// LoadOption changes how Get and Reload treat stored data.
type LoadOption interface{ applyLoad(*loadConfig) }

type loadConfig struct{ tolerant, fresh bool }

type loadOptionFunc func(*loadConfig)

func (f loadOptionFunc) applyLoad(c *loadConfig) { f(c) }

func (f loadOptionFunc) applyMany(c *manyConfig) { f(&c.load) }

// ReadOption is an option of the single loads (Get, Reload), the bulk
// ones (GetMany) and the queries that load objects (Find, FindOne, Iter).
type ReadOption interface {
	LoadOption
	ManyOption
	QueryOption
}

func (f loadOptionFunc) applyQuery(c *queryConfig) {
	var lc loadConfig
	f(&lc)
	c.tolerant = c.tolerant || lc.tolerant
}

// Tolerant makes a load keep going past fields whose stored data does not
// decode: they load as absent and are listed by LoadErrors; the rest loads.
// Without it, such data fails the load with ErrDecode naming the field.
// In Find, FindOne and Iter it also keeps a query going past an object
// that cannot be read at all (a key holding another Redis type): that
// object is left out and reported (see Find).
func Tolerant() ReadOption { return loadOptionFunc(func(c *loadConfig) { c.tolerant = true }) }

// Get loads the object with the given id: HGETALL, plus a full read of each
// container field (then all in one MULTI/EXEC: a consistent snapshot), plus
// PEXPIRE of its keys when refresh is on; one round trip. Errors: ErrNotFound, ErrInvalid (bad id, nil Store), ErrDecode
// (stored data that does not decode, unless Tolerant).
func (s *Schema[M, P]) Get(ctx context.Context, st *Store, id string, opts ...LoadOption) (P, error) {
	if err := s.sc.needStore("Get", st); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, &Error{Op: "Get", Model: s.sc.name, ID: id, Err: err}
	}
	p := s.instance(st, id)
	if err := p.base().reload(ctx, "Get", opts, true); err != nil {
		return nil, err
	}
	return p, nil
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
func (m *Model) loadUnit() ops.Unit {
	cmds := append(m.readCmds(), m.refreshCmds()...)
	return ops.Unit{Multi: m.sc.conts > 0 || len(cmds) > 2, Cmds: cmds, Read: true}
}

// readCmds read the whole object: HGETALL, then one full read per container.
func (m *Model) readCmds() []ops.Cmd {
	if m.sc.conts == 0 {
		// The command and its argument list in one allocation.
		h := &struct {
			cmd  [1]ops.Cmd
			args [1]any
		}{}
		h.args[0] = m.key[0]
		h.cmd[0] = ops.Cmd{Name: "HGETALL", Args: h.args[:]}
		return h.cmd[:]
	}
	cmds := make([]ops.Cmd, 0, 1+2*m.sc.conts)
	cmds = append(cmds, ops.Cmd{Name: "HGETALL", Args: []any{m.key[0]}})
	for j, k := range m.sc.contKinds {
		cmds = append(cmds, kindReadCmd(k, m.keys()[1+j]))
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
		version, errs = m.decodeFresh(&storedPairs{m: m, op: op, kv: kv}, fb)
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
		flat, err := ops.FlatReply(replies[1+i], nil)
		if tl, ok := c.local().(ops.TolerantLocal); ok && tolerant && err == nil {
			// Element by element: only what does not decode is dropped.
			for _, e := range tl.StageTolerant(flat, fb) {
				errs = append(errs, detail(op, m.sc.name, m.id, c.full, codecErr(ErrDecode, e)))
			}
			staged[i] = true
			continue
		}
		if err == nil {
			err = c.local().Stage(flat, fb)
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
			c.local().Commit()
		} else {
			c.local().Reset()
		}
	}
	m.version = version
	m.setLoadErrs(errs)
	return nil
}

// setLoadErrs keeps what a tolerant load could not decode (LoadErrors).
func (m *Model) setLoadErrs(errs []error) {
	if errs != nil {
		m.ext().loadErrs = errs
	} else if m.x != nil {
		m.x.loadErrs = nil
	}
}

// applyRaw is apply for a fresh object without containers, from its
// HGETALL reply b as RESP bytes, an array of bulk strings read in place
// (the connection's buffer: nothing of b is kept). Schema.loadIDs decodes
// a load of many objects so: the reply is never made into values first
// (measured: that parse was three allocations and about 760 bytes per
// object of six fields). It reports false, having done nothing, for
// another kind of reply (an error), which apply then reads; missing when
// the object does not exist (an empty array).
func (m *Model) applyRaw(op string, b []byte, tolerant bool) (done, missing bool, err error) {
	n, pos, ok := rawArray(b)
	if !ok {
		return false, false, nil
	}
	if n == 0 {
		return true, true, nil
	}
	p := storedPairs{m: m, op: op, raw: b, pos: pos, left: n}
	version, errs := m.decodeFresh(&p, m.st.cfg.fallback)
	if len(errs) > 0 && !tolerant {
		return true, false, errs[0]
	}
	m.version = version
	m.setLoadErrs(errs)
	return true, false, nil
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

	// raw, when set, is the reply as RESP bytes instead of kv (applyRaw):
	// its pairs from pos, left elements still to read.
	raw       []byte
	pos, left int
}

// pair returns the next stored name and text.
func (p *storedPairs) pair() (name, val []byte, ok bool) {
	if p.raw == nil {
		if p.i+1 >= len(p.kv) {
			return nil, nil, false
		}
		name, _ = p.kv[p.i].([]byte)
		val, _ = p.kv[p.i+1].([]byte)
		p.i += 2
		return name, val, true
	}
	if p.left < 2 {
		return nil, nil, false
	}
	p.left -= 2
	name, pos, ok1 := rawBulk(p.raw, p.pos)
	val, pos, ok2 := rawBulk(p.raw, pos)
	if !ok1 || !ok2 {
		p.left = 0 // not what HGETALL gives: no more pairs
		return nil, nil, false
	}
	p.pos = pos
	return name, val, true
}

// field returns the next scalar field's position and stored text.
func (p *storedPairs) field() (idx int, val []byte, ok bool) {
	for {
		name, val, ok := p.pair()
		if !ok {
			return 0, nil, false
		}
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
}

// decodeFresh decodes the HGETALL pairs p straight into the fields of an
// object made to be loaded (nothing local to protect: on a strict failure
// the caller drops the object). A field that does not decode is left absent.
// Read in place (p.raw), a value goes to a codec that may keep it as a
// copy.
func (m *Model) decodeFresh(p *storedPairs, fb serialize.Fallback) (version int64, errs []error) {
	op := p.op
	for {
		idx, val, ok := p.field()
		if !ok {
			return p.version, p.errs
		}
		f := m.field(idx)
		if p.raw != nil && !f.decodeCopies() {
			val = bytes.Clone(val)
		}
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

// loadFieldUnit reads one field and the object's version: HMGET, plus
// PEXPIRE when refresh is on.
func (m *Model) loadFieldUnit(name string) ops.Unit {
	return ops.Unit{Cmds: append([]ops.Cmd{{Name: "HMGET", Args: []any{m.key[0], metaVersion, name}}}, m.refreshCmds()...), Read: true}
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
