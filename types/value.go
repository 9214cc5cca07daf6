package types

import "github.com/rapyer-go/rapyer"

// Value is a field of any other Go type T, stored through a codec: T's
// native codec when it has one (see serialize.For), else the Store's fallback
// codec (msgpack by default), or the codec given with Codec. It has the
// common scalar operations only: Get, Set, Lookup, Present, Clear, Load and
// Save. Msgpack bytes are never used as an identity (index entries, set
// members), since map order is not stable.
type Value[T any] struct{ rapyer.Scalar[T] }
