// Package types holds rapyer's field handles. Each handle is a struct field
// of a model; its type decides which atomic operations exist (Int has Incr,
// Str has Append), so misuse fails to compile.
//
// Every scalar handle embeds rapyer.Scalar[T] and so has, besides its own
// operations:
//
//	Named, Default, Codec       schema declaration (inside the Define function)
//	Get, Set, Lookup, Present, Clear   the local value, no I/O
//	Load, Save                  this one field, one round trip
//
// Every remote operation is one round trip: one native command, one
// MULTI/EXEC, or one embedded Lua script, with the object's TTL re-armed
// inside it when the model refreshes TTLs. On an object that does not exist
// it returns an error wrapping rapyer.ErrNotFound and writes nothing. A
// successful operation stores the server's answer as the local value.
// Arithmetic on an absent field starts from the zero value, as HINCRBY does.
package types

import (
	"strconv"

	"github.com/gomodule/redigo/redis"
)

// bytesReply decodes a bulk string reply, or an integer reply as its
// decimal text (Int's add on Redis replies the value as an integer:
// lua/intadd.head.lua).
func bytesReply(r any, err error) ([]byte, error) {
	if n, ok := r.(int64); ok && err == nil {
		return strconv.AppendInt(nil, n, 10), nil
	}
	return redis.Bytes(r, err)
}

// flagReply decodes the {flag, value} replies of setnx and cas; value is nil
// when the field is absent.
func flagReply(r any, err error) (flagged, error) {
	vs, err := redis.Values(r, err)
	if err != nil {
		return flagged{}, err
	}
	if len(vs) < 1 {
		return flagged{}, redis.ErrNil
	}
	n, err := redis.Int64(vs[0], nil)
	if err != nil {
		return flagged{}, err
	}
	var v []byte
	if len(vs) > 1 && vs[1] != nil {
		if v, err = redis.Bytes(vs[1], nil); err != nil {
			return flagged{}, err
		}
	}
	return flagged{ok: n == 1, val: v}, nil
}

type flagged struct {
	ok  bool
	val []byte
}
