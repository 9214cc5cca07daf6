package types

import (
	"fmt"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/serialize"
)

// elems is the element codec of a container handle: the one given with
// Codec, else T's native codec, else the Store's fallback (msgpack).
type elems[T any] struct {
	codec serialize.Codec[T]
}

func (e *elems[T]) of(fb serialize.Fallback) serialize.Codec[T] {
	if e.codec != nil {
		return e.codec
	}
	if c := serialize.For[T](); c != nil {
		return c
	}
	return serialize.Via[T](fb)
}

// identity is the Check of containers whose elements are identities (set
// and sorted-set members, map keys): the codec must be native, since
// msgpack bytes are not a stable identity.
func (e *elems[T]) identity(what string) error {
	if e.codec != nil && serialize.Native(e.codec) {
		return nil
	}
	if e.codec == nil && serialize.For[T]() != nil {
		return nil
	}
	var zero T
	return fmt.Errorf("%s type %T has no native encoding (msgpack bytes are not a stable identity): use a string, integer, float, bool or time type, or give a native codec (serialize.StringOf, IntOf, FloatOf)", what, zero)
}

func (e *elems[T]) encode(fb serialize.Fallback, v T) ([]byte, error) {
	return e.of(fb).Encode(v)
}

// encodeAll encodes vs, naming the position of an element that fails.
func (e *elems[T]) encodeAll(fb serialize.Fallback, vs []T) ([][]byte, error) {
	c := e.of(fb)
	out := make([][]byte, len(vs))
	for i, v := range vs {
		b, err := c.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// decodeAll decodes flat, naming the position of an element that fails.
func (e *elems[T]) decodeAll(fb serialize.Fallback, flat [][]byte) ([]T, error) {
	c := e.of(fb)
	out := make([]T, len(flat))
	for i, b := range flat {
		v, err := c.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// invalid reports a bad argument of a container operation, before anything
// is sent.
func invalid(f ops.Handle, op string, err error) error {
	return ops.FieldError(f, op, fmt.Errorf("%w: %v", rapyer.ErrInvalid, err))
}

// decodeErr reports stored data that does not decode.
func decodeErr(f ops.Handle, op string, err error) error {
	return ops.FieldError(f, op, fmt.Errorf("%w: %v", rapyer.ErrDecode, err))
}

// clip shortens stored bytes quoted in an error.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
