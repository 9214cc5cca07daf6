package serialize

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Fallback encodes any Go value; it serves the types that have no native
// codec. Msgpack is the default; a Store can be given another (JSON, say).
type Fallback interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(b []byte, v any) error
}

// Msgpack is the default Fallback (github.com/vmihailenco/msgpack/v5).
var Msgpack Fallback = msgpackFallback{}

type msgpackFallback struct{}

func (msgpackFallback) Marshal(v any) ([]byte, error) { return msgpack.Marshal(v) }
func (msgpackFallback) Unmarshal(b []byte, v any) error {
	return msgpack.Unmarshal(b, v)
}

// Via returns a Codec for T that uses f. Errors wrap ErrEncode and ErrDecode;
// a panic inside f on malformed input is turned into an ErrDecode error.
func Via[T any](f Fallback) Codec[T] { return viaCodec[T]{f} }

type viaCodec[T any] struct{ f Fallback }

func (c viaCodec[T]) Encode(v T) ([]byte, error) {
	b, err := c.f.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %v", ErrEncode, v, err)
	}
	return b, nil
}

func (c viaCodec[T]) Decode(b []byte) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("%w: %T: %v", ErrDecode, zero, r)
		}
	}()
	if err := c.f.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: %T: %v", ErrDecode, zero, err)
	}
	return v, nil
}
