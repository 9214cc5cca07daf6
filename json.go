package rapyer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rapyer-go/rapyer/ops"
)

// JSON and printing. A model marshals to a JSON object of its schema:
// "_id" (the object's id, a name no field can have), then every field by
// its schema name in schema order, nested groups as objects; absent
// scalars are omitted (and a group left empty), containers are always
// there (see package types). A scalar's value is encoding/json's encoding
// of its Go value: numbers, strings, bools; times as RFC 3339 with
// nanoseconds; bytes as base64; a Value[T] as T encodes (its own
// MarshalJSON, or its fields). Nothing here reflects: each handle encodes
// its own value.

// jsonScalar is what every Scalar[T] has for JSON and printing.
type jsonScalar interface {
	jsonValue() ([]byte, bool, error)
	stageJSON(b []byte) (commit func(), err error)
	Present() bool
	clearLocal()
	String() string
	LogValue() slog.Value
}

// jsonLocal is what the containers' local copies of package types have.
type jsonLocal interface {
	MarshalJSON() ([]byte, error)
	StageJSON(b []byte) error
	String() string
}

// jsonField is one field of an object, as JSON and printing walk them.
type jsonField struct {
	path []string // the dotted name, split
	s    jsonScalar
	c    *Container
}

// jsonFields lists m's fields in schema order, or fails when m's handles
// were not bound (a zero Model, an object made with a nil Store).
func (m *Model) jsonFields(op string) ([]jsonField, error) {
	if m.sc == nil || len(m.fields) != len(m.sc.argNames) || len(m.containers()) != m.sc.conts {
		return nil, &Error{Op: op, Model: m.modelName(), ID: m.id, Err: fmt.Errorf("%w: the object's fields are not bound (make objects with Schema.New and a Store, NewWithID, Ref, Get or a query)", ErrUnbound)}
	}
	out := make([]jsonField, 0, len(m.sc.names))
	j := 0
	for _, name := range m.sc.names {
		f := jsonField{path: strings.Split(name, ".")}
		if i, ok := m.sc.index[name]; ok {
			s, ok := m.fields[i].(jsonScalar)
			if !ok {
				return nil, detail(op, m.sc.name, m.id, name, fmt.Errorf("%w: handle %T has no JSON form", ErrInvalid, m.fields[i]))
			}
			f.s = s
		} else {
			f.c = m.containers()[j]
			j++
		}
		out = append(out, f)
	}
	return out, nil
}

func (m *Model) modelName() string {
	if m.sc == nil {
		return ""
	}
	return m.sc.name
}

// jsonNode is a group of the output: its members in schema order.
type jsonNode struct {
	keys []string
	vals []any // []byte (a JSON value) or *jsonNode
}

func (n *jsonNode) child(key string) *jsonNode {
	for i, k := range n.keys {
		if k == key {
			if c, ok := n.vals[i].(*jsonNode); ok {
				return c
			}
		}
	}
	c := &jsonNode{}
	n.keys, n.vals = append(n.keys, key), append(n.vals, c)
	return c
}

func (n *jsonNode) write(b *bytes.Buffer) {
	b.WriteByte('{')
	first := true
	for i, k := range n.keys {
		if c, ok := n.vals[i].(*jsonNode); ok && len(c.keys) == 0 {
			continue // a group whose fields are all absent
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		switch v := n.vals[i].(type) {
		case *jsonNode:
			v.write(b)
		case []byte:
			b.Write(v)
		}
	}
	b.WriteByte('}')
}

// MarshalJSON encodes the object's local values (see the JSON rules above;
// no I/O). Errors: ErrUnbound (an object whose fields are not bound),
// ErrInvalid naming a field whose value has no JSON form (a NaN float, a
// map key encoding/json refuses).
func (m *Model) MarshalJSON() ([]byte, error) {
	const op = "MarshalJSON"
	fs, err := m.jsonFields(op)
	if err != nil {
		return nil, err
	}
	root := &jsonNode{}
	id, _ := json.Marshal(m.id)
	root.keys, root.vals = append(root.keys, "_id"), append(root.vals, id)
	for _, f := range fs {
		var v []byte
		if f.s != nil {
			b, present, err := f.s.jsonValue()
			if err != nil {
				return nil, detail(op, m.sc.name, m.id, strings.Join(f.path, "."), fmt.Errorf("%w: %v", ErrInvalid, err))
			}
			if !present {
				continue
			}
			v = b
		} else {
			l, ok := f.c.local().(jsonLocal)
			if !ok {
				return nil, detail(op, m.sc.name, m.id, f.c.full, fmt.Errorf("%w: container %T has no JSON form", ErrInvalid, f.c.local()))
			}
			if v, err = l.MarshalJSON(); err != nil {
				return nil, detail(op, m.sc.name, m.id, f.c.full, fmt.Errorf("%w: %v", ErrInvalid, err))
			}
		}
		n := root
		for _, g := range f.path[:len(f.path)-1] {
			n = n.child(g)
		}
		n.keys, n.vals = append(n.keys, f.path[len(f.path)-1]), append(n.vals, v)
	}
	var b bytes.Buffer
	root.write(&b)
	return b.Bytes(), nil
}

// UnmarshalJSON sets the object's local values from a JSON object of the
// form MarshalJSON writes (no I/O; Save or Update writes them): a field
// missing or null becomes absent (a container empty), keys the schema does
// not name are ignored, and "_id" is ignored (an object's id is the one it
// was made with). All or nothing: when a value does not decode, nothing is
// changed and the error names the field. Make the object first (Schema.New,
// NewWithID, Ref), then decode into it:
//
//	u := Users.New(st)
//	err := json.NewDecoder(r.Body).Decode(u)
//
// Errors: ErrInvalid naming the field (or the group that is not an
// object), ErrUnbound (an object whose fields are not bound).
func (m *Model) UnmarshalJSON(data []byte) error {
	const op = "UnmarshalJSON"
	fs, err := m.jsonFields(op)
	if err != nil {
		return err
	}
	groups := map[string]map[string]json.RawMessage{}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return &Error{Op: op, Model: m.sc.name, ID: m.id, Err: fmt.Errorf("%w: %v", ErrInvalid, err)}
	}
	groups[""] = top
	// lookup finds a field's raw value: nil when missing or null.
	lookup := func(path []string) (json.RawMessage, error) {
		obj, prefix := top, ""
		for _, g := range path[:len(path)-1] {
			name := prefix + g
			sub, seen := groups[name]
			if !seen {
				raw := obj[g]
				if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
					if err := json.Unmarshal(raw, &sub); err != nil {
						return nil, detail(op, m.sc.name, m.id, name, fmt.Errorf("%w: group: %v", ErrInvalid, err))
					}
				}
				groups[name] = sub
			}
			obj, prefix = sub, name+"."
		}
		raw := obj[path[len(path)-1]]
		if bytes.Equal(raw, []byte("null")) {
			return nil, nil
		}
		return raw, nil
	}
	commits := make([]func(), 0, len(fs))
	for _, f := range fs {
		raw, err := lookup(f.path)
		if err != nil {
			return err
		}
		name := strings.Join(f.path, ".")
		switch {
		case f.s != nil && raw == nil:
			commits = append(commits, f.s.clearLocal)
		case f.s != nil:
			commit, err := f.s.stageJSON(raw)
			if err != nil {
				return detail(op, m.sc.name, m.id, name, fmt.Errorf("%w: %v", ErrInvalid, err))
			}
			commits = append(commits, commit)
		default:
			local := f.c.local()
			l, ok := local.(jsonLocal)
			if !ok {
				return detail(op, m.sc.name, m.id, name, fmt.Errorf("%w: container %T has no JSON form", ErrInvalid, local))
			}
			if raw == nil {
				raw = []byte("[]")
				if f.c.kind() == ops.HashKind {
					raw = []byte("{}")
				}
			}
			if err := l.StageJSON(raw); err != nil {
				return detail(op, m.sc.name, m.id, name, fmt.Errorf("%w: %v", ErrInvalid, err))
			}
			commits = append(commits, local.Commit)
		}
	}
	for _, c := range commits {
		c()
	}
	return nil
}

// String shows the object's model, id and local values, fields by their
// dotted names, absent ones left out: user{_id=u1 name=Ada age=36
// home.city=Paris tags=[a b]}. No I/O.
func (m *Model) String() string {
	if m == nil || m.sc == nil {
		return "rapyer.Model{unbound}"
	}
	var b strings.Builder
	b.WriteString(m.sc.name + "{_id=" + m.id)
	if fs, err := m.jsonFields("String"); err == nil {
		for _, f := range fs {
			switch {
			case f.s != nil:
				if f.s.Present() {
					b.WriteString(" " + strings.Join(f.path, ".") + "=" + f.s.String())
				}
			default:
				b.WriteString(" " + f.c.full + "=" + f.c.String())
			}
		}
	}
	b.WriteByte('}')
	return b.String()
}

// LogValue is the object for log/slog: a group of "_model", "_id" and the
// fields' values (nested groups as groups, absent scalars left out). No
// I/O.
func (m *Model) LogValue() slog.Value {
	if m == nil || m.sc == nil {
		return slog.StringValue("rapyer.Model{unbound}")
	}
	attrs := []slog.Attr{slog.String("_model", m.sc.name), slog.String("_id", m.id)}
	fs, err := m.jsonFields("LogValue")
	if err != nil {
		return slog.GroupValue(attrs...)
	}
	type group struct {
		name  string
		attrs []slog.Attr
	}
	// Fields of a group are contiguous in schema order (Nested lists them
	// together), so a stack of open groups is enough.
	stack := []group{{attrs: attrs}}
	closeTo := func(depth int) {
		for len(stack) > depth+1 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(g.attrs) > 0 {
				p := &stack[len(stack)-1]
				p.attrs = append(p.attrs, slog.Attr{Key: g.name, Value: slog.GroupValue(g.attrs...)})
			}
		}
	}
	var open []string
	for _, f := range fs {
		groups := f.path[:len(f.path)-1]
		same := 0
		for same < len(open) && same < len(groups) && open[same] == groups[same] {
			same++
		}
		closeTo(same)
		open = append(open[:same], groups[same:]...)
		for _, g := range groups[same:] {
			stack = append(stack, group{name: g})
		}
		top := &stack[len(stack)-1]
		key := f.path[len(f.path)-1]
		switch {
		case f.s != nil:
			if f.s.Present() {
				top.attrs = append(top.attrs, slog.Attr{Key: key, Value: f.s.LogValue()})
			}
		default:
			top.attrs = append(top.attrs, slog.Attr{Key: key, Value: f.c.LogValue()})
		}
	}
	closeTo(0)
	return slog.GroupValue(stack[0].attrs...)
}

// String shows the local value, or "<absent>". No I/O.
func (s Scalar[T]) String() string {
	if !s.ok {
		return "<absent>"
	}
	return fmt.Sprint(s.val)
}

// LogValue is the local value for log/slog, or "<absent>". No I/O.
func (s Scalar[T]) LogValue() slog.Value {
	if !s.ok {
		return slog.StringValue("<absent>")
	}
	return slog.AnyValue(s.val)
}

func (s *Scalar[T]) jsonValue() ([]byte, bool, error) {
	if !s.ok {
		return nil, false, nil
	}
	b, err := json.Marshal(s.val)
	return b, true, err
}

func (s *Scalar[T]) stageJSON(b []byte) (func(), error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return func() { s.Set(v) }, nil
}

// String shows the local copy (package types formats each kind). No I/O.
func (c Container) String() string {
	if l, ok := c.local().(fmt.Stringer); ok {
		return l.String()
	}
	return "<" + c.full + ">"
}

// LogValue is the local copy for log/slog, as String shows it. No I/O.
func (c Container) LogValue() slog.Value { return slog.StringValue(c.String()) }

var (
	_ json.Marshaler   = (*Model)(nil)
	_ json.Unmarshaler = (*Model)(nil)
	_ slog.LogValuer   = (*Model)(nil)
	_ fmt.Stringer     = (*Model)(nil)
	_ slog.LogValuer   = Scalar[int64]{}
	_ fmt.Stringer     = Container{}
)
