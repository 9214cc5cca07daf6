package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/serialize"
)

// ErrUnbound is returned for a handle used before it was bound to a stored
// object; package rapyer exports the same value as rapyer.ErrUnbound.
var ErrUnbound = errors.New("rapyer: handle not bound to a stored object (create objects with Schema.New or Schema.Get, and list every handle in the schema function)")

// Handle is a field handle: any type that embeds rapyer.Scalar or
// rapyer.Container (types.Int, types.List[T], your own). The functions of
// this package take one; only those two types (and types embedding them)
// implement it.
type Handle interface{ opsRef() *Ref }

// Ref links a handle to the object it belongs to. rapyer.Scalar and
// rapyer.Container embed it; a handle author never touches it.
type Ref struct{ obj *Object }

func (r *Ref) opsRef() *Ref { return r }

// RefTo returns a Ref to o. For package rapyer, when it binds a handle.
func RefTo(o *Object) Ref { return Ref{obj: o} }

// ObjectOf returns the object r refers to, nil when unbound. For package
// rapyer.
func ObjectOf(r *Ref) *Object { return r.obj }

// Object is an object's side of its handles' operations: package rapyer's
// Model holds one.
type Object struct{ rt Runtime }

// NewObject returns an Object whose operations rt runs. For package rapyer.
func NewObject(rt Runtime) Object { return Object{rt: rt} }

// RuntimeOf returns o's Runtime (nil for the zero Object). For package
// rapyer.
func RuntimeOf(o *Object) Runtime { return o.rt }

// Runtime is what package rapyer implements for each object, so that the
// functions below can run a handle's operations. Each method gets the
// handle it acts for. Handle authors call the functions, never these.
type Runtime interface {
	Script(ctx context.Context, h Handle, op string, sc *lua.Script, args []any, decode func(any, error) (any, error)) (any, error)
	Read(ctx context.Context, h Handle, op, command string, args []any, decode func(any, error) (any, error)) (any, error)
	FieldError(h Handle, op string, err error) error
	Fallback() serialize.Fallback
	KeyIndex(h Handle) int
	Apply(h Handle, flat [][]byte) error
	DecodeReply(h Handle, b []byte) error
	Encode(h Handle, v any) ([]byte, error)
	// Block: see Block (block.go).
	Block(ctx context.Context, h Handle, op string, timeout time.Duration, try func(context.Context) (bool, error), command string, args []any) (any, error)
}

func runtimeOf(h Handle) Runtime {
	if h == nil {
		return nil
	}
	if o := h.opsRef().obj; o != nil {
		return o.rt
	}
	return nil
}

func unbound(op string) error { return fmt.Errorf("%s: %w", op, ErrUnbound) }

// Script runs one field script (lua.Int, lua.List, or your own) on the
// field of h, in one round trip: KEYS are the object's keys (the hash, then
// one key per container), ARGV the TTL mode (per the model's refresh
// setting), the number of object keys, the field's reference and args. The
// reference is the field's name for a scalar (a field of the hash,
// KEYS[1]) and the 1-based index of its key in KEYS for a container. A
// scalar's script also gets the field's index section at the end of ARGV
// (see lua/index.lua). Script error replies ("NOTFOUND", "OVERFLOW", ...)
// come back as a *rapyer.Error wrapping the matching sentinel.
//
// decode turns the reply into R and does everything the operation does
// with it (updating the handle's local copy): with a queue context
// (Store.Batch, Store.Tx) Script only queues the call and returns R's zero
// value, and decode runs when the queue has run. An error decode returns is
// passed on as is when it is a *rapyer.Error, else wrapped as
// rapyer.ErrDecode naming the field. redigo's redis.Bytes has decode's
// shape.
func Script[R any](ctx context.Context, op string, h Handle, sc *lua.Script, decode func(any, error) (R, error), args ...any) (R, error) {
	var zero R
	rt := runtimeOf(h)
	if rt == nil {
		return zero, unbound(op)
	}
	v, err := rt.Script(ctx, h, op, sc, args, func(r any, err error) (any, error) { return decode(r, err) })
	out, _ := v.(R)
	return out, err
}

// Read runs one read command on the field of h inside MULTI/EXEC, with the
// object's existence check and (when refresh is on) the TTL refresh: one
// round trip. For a scalar the command is sent as "command <hash key>
// <field> args..."; for a container as "command <container key> args...",
// or, when command is "", as the container's full read (see Local). decode
// works as Script's (queued with a queue context). Errors:
// rapyer.ErrNotFound when the object does not exist.
func Read[R any](ctx context.Context, op string, h Handle, command string, decode func(any, error) (R, error), args ...any) (R, error) {
	var zero R
	rt := runtimeOf(h)
	if rt == nil {
		return zero, unbound(op)
	}
	v, err := rt.Read(ctx, h, op, command, args, func(r any, err error) (any, error) { return decode(r, err) })
	out, _ := v.(R)
	return out, err
}

// FieldError wraps err into a *rapyer.Error naming h's model, object id and
// field, for a bad argument found before anything is sent:
//
//	ops.FieldError(l, "List.SetAt", fmt.Errorf("%w: ...", rapyer.ErrInvalid))
func FieldError(h Handle, op string, err error) error {
	if rt := runtimeOf(h); rt != nil {
		return rt.FieldError(h, op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// SameObject reports whether a and b are bound handles of the same object
// (so their keys share a slot and one script may use both).
func SameObject(a, b Handle) bool {
	if a == nil || b == nil {
		return false
	}
	oa, ob := a.opsRef().obj, b.opsRef().obj
	return oa != nil && oa == ob
}

// Fallback returns the codec for values without a native encoding: the
// Store's (rapyer.WithFallback), or msgpack while h is unbound.
func Fallback(h Handle) serialize.Fallback {
	if rt := runtimeOf(h); rt != nil {
		return rt.Fallback()
	}
	return serialize.Msgpack
}

// Encode encodes v, of the scalar field's own type, with the field's codec,
// reporting rapyer.ErrInvalid with the field's name.
func Encode(h Handle, v any) ([]byte, error) {
	rt := runtimeOf(h)
	if rt == nil {
		return nil, unbound("encode")
	}
	return rt.Encode(h, v)
}

// DecodeReply decodes a stored value, as a field script returned it, into
// the scalar field's local value (read it back with the handle's Get),
// reporting rapyer.ErrDecode with the field's name; on error the local value
// is unchanged.
func DecodeReply(h Handle, b []byte) error {
	rt := runtimeOf(h)
	if rt == nil {
		return unbound("decode")
	}
	return rt.DecodeReply(h, b)
}

// FlatReply converts a multi-bulk reply into [][]byte (nil elements stay
// nil, integers become their decimal text), as the decode argument of Read
// and Script.
func FlatReply(r any, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, nil
	}
	vs, ok := r.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected reply %T", r)
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		switch b := v.(type) {
		case []byte:
			out[i] = b
		case nil:
		case int64:
			out[i] = strconv.AppendInt(nil, b, 10)
		default:
			return nil, fmt.Errorf("unexpected element %T", v)
		}
	}
	return out, nil
}
