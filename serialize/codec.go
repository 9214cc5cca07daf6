// Package serialize turns Go values into the bytes rapyer stores in Redis and
// back.
//
// Scalars use native text encodings so that Redis can compute on them:
// integers and booleans as decimal text (HINCRBY works), float64 as the
// shortest text that round-trips bit-exactly (HINCRBYFLOAT works), time.Time as
// Unix nanoseconds in decimal (adding a duration is an integer addition),
// strings and byte slices raw. Every other value goes through a Fallback codec,
// msgpack by default.
//
// Every Decode rejects malformed input with an error wrapping ErrDecode; none
// panics on any input.
package serialize

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ErrDecode is wrapped by every decoding failure.
var ErrDecode = errors.New("cannot decode stored value")

// ErrEncode is wrapped by every encoding failure (NaN, a time outside the
// range of Unix nanoseconds, a value msgpack refuses).
var ErrEncode = errors.New("cannot encode value")

// Codec encodes values of T to the bytes stored in Redis and decodes them.
// Implementations are stateless and safe for concurrent use.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// Native reports whether c stores values as native Redis text (numbers,
// strings), as opposed to an opaque fallback encoding such as msgpack. Native
// encodings may serve as identities (set members, index entries); msgpack
// bytes may not, since map order is not stable.
func Native[T any](c Codec[T]) bool {
	n, ok := c.(interface{ native() bool })
	return ok && n.native()
}

// SortKind tells how values stored by c order, for secondary indexes: 's'
// (bytes, lexicographically), 'i' (integers in decimal text, numerically:
// int64, times as Unix nanoseconds), 'f' (floats in decimal text,
// numerically), 'b' (booleans "0" < "1"), or 0 when c's encoding has no
// meaningful order (msgpack, custom codecs).
func SortKind[T any](c Codec[T]) byte {
	k, ok := c.(interface{ sortKind() byte })
	if !ok {
		return 0
	}
	return k.sortKind()
}

// For returns the native codec for T when T is one of string, []byte, int64,
// int, int32, uint32, float64, bool or time.Time, and nil otherwise. Named
// types over them (type Status string) are not matched: give their codec
// explicitly with StringOf, IntOf or FloatOf.
func For[T any]() Codec[T] {
	var zero T
	var c any
	switch any(zero).(type) {
	case string:
		c = String
	case []byte:
		c = Bytes
	case int64:
		c = Int64
	case int:
		c = IntOf[int]()
	case int32:
		c = IntOf[int32]()
	case uint32:
		c = IntOf[uint32]()
	case float64:
		c = Float64
	case bool:
		c = Bool
	case time.Time:
		c = Time
	default:
		return nil
	}
	return c.(Codec[T])
}

// String stores a string as its raw bytes.
var String Codec[string] = StringOf[string]()

// Bytes stores a byte slice as is; any bytes round-trip. A nil slice and an
// empty slice both load as an empty, non-nil slice.
var Bytes Codec[[]byte] = bytesCodec{}

// Int64 stores an int64 as decimal text.
var Int64 Codec[int64] = IntOf[int64]()

// Float64 stores a float64 as the shortest decimal text that parses back to
// the same bits. NaN and ±Inf are rejected.
var Float64 Codec[float64] = FloatOf[float64]()

// Bool stores "1" for true and "0" for false; decoding also accepts "true"
// and "false".
var Bool Codec[bool] = boolCodec{}

// Time stores a time.Time as Unix nanoseconds in decimal text: exact to the
// nanosecond, and adding a duration is an integer addition on the server.
// Times load in UTC (the instant is kept, the zone and monotonic reading are
// not). Times outside the years 1678 to 2262 (time.Time{} included) cannot be
// encoded.
var Time Codec[time.Time] = timeCodec{}

type stringCodec[T ~string] struct{}

// StringOf returns the raw-bytes codec for a string type, named or not.
func StringOf[T ~string]() Codec[T] { return stringCodec[T]{} }

func (stringCodec[T]) Encode(v T) ([]byte, error) { return []byte(v), nil }
func (stringCodec[T]) Decode(b []byte) (T, error) { return T(b), nil }
func (stringCodec[T]) native() bool               { return true }
func (stringCodec[T]) sortKind() byte             { return 's' }

type bytesCodec struct{}

func (bytesCodec) Encode(v []byte) ([]byte, error) {
	if v == nil {
		return []byte{}, nil
	}
	return v, nil
}
func (bytesCodec) Decode(b []byte) ([]byte, error) {
	out := make([]byte, len(b))
	copy(out, b)
	return out, nil
}
func (bytesCodec) native() bool   { return true }
func (bytesCodec) sortKind() byte { return 's' }

// Integer is the set of integer types IntOf accepts.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

type intCodec[T Integer] struct{}

// IntOf returns the decimal codec for an integer type, named or not. Decoding
// accepts only canonical decimal text ("+5", "007" and "-0" are rejected, as
// the server scripts reject them) that fits T. (uint64 and
// uint are left out: Redis integers are signed 64-bit.)
func IntOf[T Integer]() Codec[T] { return intCodec[T]{} }

func (intCodec[T]) Encode(v T) ([]byte, error) {
	return strconv.AppendInt(make([]byte, 0, 20), int64(v), 10), nil
}
func (intCodec[T]) Decode(b []byte) (T, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	var canon [20]byte
	if err != nil || int64(T(n)) != n || string(strconv.AppendInt(canon[:0], n, 10)) != string(b) {
		return 0, fmt.Errorf("%w: %q is not a canonical decimal integer of %T", ErrDecode, clip(b), T(0))
	}
	return T(n), nil
}
func (intCodec[T]) native() bool   { return true }
func (intCodec[T]) sortKind() byte { return 'i' }

type floatCodec[T ~float64] struct{}

// FloatOf returns the shortest-round-trip codec for a float64 type, named or
// not. NaN and ±Inf are rejected both ways.
func FloatOf[T ~float64]() Codec[T] { return floatCodec[T]{} }

func (floatCodec[T]) Encode(v T) ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not a finite number", ErrEncode, f)
	}
	return strconv.AppendFloat(make([]byte, 0, 24), f, 'g', -1, 64), nil
}
func (floatCodec[T]) Decode(b []byte) (T, error) {
	for _, c := range b {
		// plain decimal only, as the server scripts read it: no hex, no '_'
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return 0, fmt.Errorf("%w: %q is not a decimal float64", ErrDecode, clip(b))
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: %q is not a finite float64", ErrDecode, clip(b))
	}
	return T(f), nil
}
func (floatCodec[T]) native() bool   { return true }
func (floatCodec[T]) sortKind() byte { return 'f' }

type boolCodec struct{}

func (boolCodec) Encode(v bool) ([]byte, error) {
	if v {
		return []byte{'1'}, nil
	}
	return []byte{'0'}, nil
}
func (boolCodec) Decode(b []byte) (bool, error) {
	switch string(b) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q is not a boolean", ErrDecode, clip(b))
}
func (boolCodec) native() bool   { return true }
func (boolCodec) sortKind() byte { return 'b' }

type timeCodec struct{}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func (timeCodec) Encode(v time.Time) ([]byte, error) {
	if v.Before(minTime) || v.After(maxTime) {
		return nil, fmt.Errorf("%w: time %s is outside the range of Unix nanoseconds (1678..2262)", ErrEncode, v.Format(time.RFC3339))
	}
	return strconv.AppendInt(make([]byte, 0, 20), v.UnixNano(), 10), nil
}
func (timeCodec) Decode(b []byte) (time.Time, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not Unix nanoseconds", ErrDecode, clip(b))
	}
	return time.Unix(0, n).UTC(), nil
}
func (timeCodec) native() bool   { return true }
func (timeCodec) sortKind() byte { return 'i' }

// clip shortens stored data quoted in error messages.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
