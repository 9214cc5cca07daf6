package rapyer

import (
	"context"
	"fmt"

	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// The link between handles and package ops, where handle authors find what
// they need (ops.Script, ops.Read, ops.FieldError, ...): Scalar and
// Container embed an ops.Ref (under the unexported names below, so that
// nothing of it shows in this package's API), which points to their
// object's ops.Object; the Object's Runtime is the object itself, as a
// modelRT. The functions of package ops reach this package only through
// those methods.

type (
	ref  = ops.Ref
	cref = ops.ContainerRef
)

// object returns m's ops.Object, made the first time a handle is bound.
func (m *Model) object() *ops.Object {
	if ops.RuntimeOf(&m.obj) == nil {
		m.obj = ops.NewObject((*modelRT)(m))
	}
	return &m.obj
}

// modelOf returns the object r points to, nil when unbound.
func modelOf(r *ops.Ref) *Model {
	if o := ops.ObjectOf(r); o != nil {
		if rt, ok := ops.RuntimeOf(o).(*modelRT); ok {
			return (*Model)(rt)
		}
	}
	return nil
}

// fieldError wraps err into an *Error naming f's model, object id and
// field (ops.FieldError).
func fieldError(f Field, op string, err error) error {
	h, ok := f.(handle)
	if !ok {
		return &Error{Op: op, Err: err}
	}
	if m := h.model(); m != nil && m.sc != nil {
		return detail(op, m.sc.name, m.id, h.fullName(), err)
	}
	return &Error{Op: op, Field: h.fullName(), Err: err}
}

// modelRT is a Model as package ops sees it: the ops.Runtime of its handles.
type modelRT Model

var _ ops.Runtime = (*modelRT)(nil)

// field returns the root's view of an ops.Handle.
func field(h ops.Handle, op string) (Field, error) {
	f, ok := h.(Field)
	if !ok {
		return nil, &Error{Op: op, Err: fmt.Errorf("%w: %T is not a field handle", ErrInvalid, h)}
	}
	return f, nil
}

func (r *modelRT) Script(ctx context.Context, h ops.Handle, op string, sc *lua.Script, args []any, decode func(any, error) (any, error)) (any, error) {
	f, err := field(h, op)
	if err != nil {
		return nil, err
	}
	return fieldScript(ctx, op, f, sc, decode, args...)
}

func (r *modelRT) Read(ctx context.Context, h ops.Handle, op, command string, args []any, decode func(any, error) (any, error)) (any, error) {
	f, err := field(h, op)
	if err != nil {
		return nil, err
	}
	return fieldRead(ctx, op, f, command, decode, args...)
}

func (r *modelRT) FieldError(h ops.Handle, op string, err error) error {
	f, ferr := field(h, op)
	if ferr != nil {
		return &Error{Op: op, Err: err}
	}
	return fieldError(f, op, err)
}

func (r *modelRT) Fallback() serialize.Fallback {
	if r.st != nil {
		return r.st.cfg.fallback
	}
	return serialize.Msgpack
}

func (r *modelRT) KeyIndex(h ops.Handle) int {
	if c, ok := h.(containerHandle); ok && c.model() == (*Model)(r) {
		return c.container().idx
	}
	return 0
}

func (r *modelRT) Apply(h ops.Handle, flat [][]byte) error {
	c, ok := h.(containerHandle)
	if !ok {
		return &Error{Op: "decode", Err: fmt.Errorf("%w: %T is not a container handle", ErrInvalid, h)}
	}
	return c.container().apply(flat)
}

// scalarCodec is what every Scalar[T] has for ops.DecodeReply and
// ops.Encode.
type scalarCodec interface {
	decodeReply(b []byte) error
	encodeAny(v any) ([]byte, error)
}

func (r *modelRT) DecodeReply(h ops.Handle, b []byte) error {
	s, ok := h.(scalarCodec)
	if !ok {
		return &Error{Op: "decode", Err: fmt.Errorf("%w: %T is not a scalar handle", ErrInvalid, h)}
	}
	return s.decodeReply(b)
}

func (r *modelRT) Encode(h ops.Handle, v any) ([]byte, error) {
	s, ok := h.(scalarCodec)
	if !ok {
		return nil, &Error{Op: "encode", Err: fmt.Errorf("%w: %T is not a scalar handle", ErrInvalid, h)}
	}
	return s.encodeAny(v)
}
