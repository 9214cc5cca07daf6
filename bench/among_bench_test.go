package bench

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/rapyer-go/rapyer"
)

// BenchmarkFindAmong: Find with Among over n objects (all match) and
// FindKeys of their keys, against the same n HGETALLs pipelined over
// redigo and decoded (getManyRaw): the raw baseline of one load round
// trip. The predicate is checked in Go, so the difference is the client's
// work (objects made, the check, the sort).
//
//	among       Profiles.Find(pred, Among(ids...))
//	find-keys   rapyer.FindKeys(keys)
//	get-many    Profiles.GetMany(ids): the same load without the check
//	raw-pipe    n HGETALL pipelined, decoded
//	paired      among and raw-pipe alternately
func BenchmarkFindAmong(b *testing.B) {
	for _, n := range bulkSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			backends(b, func(b *testing.B, e *env) {
				b.Run("among", func(b *testing.B) { measure(b, findAmongLib(b, e, n)) })
				b.Run("find-keys", func(b *testing.B) { measure(b, findKeysLib(b, e, n)) })
				b.Run("get-many", func(b *testing.B) { measure(b, getManyLib(b, e, n)) })
				b.Run("raw-pipe", func(b *testing.B) { measure(b, getManyRaw(b, e, n)) })
				b.Run("paired", func(b *testing.B) { paired(b, findAmongLib(b, e, n), getManyRaw(b, e, n)) })
			})
		})
	}
}

func findAmongLib(b *testing.B, e *env, n int) op {
	ctx := b.Context()
	ps := savedProfiles(b, e, n)
	ids := make([]string, n)
	for i, p := range ps {
		ids[i] = p.ID()
	}
	q := Profiles.Fields()
	pred := q.Age.Gte(sample.Age)
	return func() error {
		got, err := Profiles.Find(ctx, e.st, pred, rapyer.Among(ids...))
		if err == nil && len(got) != n {
			err = fmt.Errorf("Find Among returned %d objects", len(got))
		}
		return err
	}
}

func findKeysLib(b *testing.B, e *env, n int) op {
	ctx := b.Context()
	ps := savedProfiles(b, e, n)
	keys := make([]string, n)
	for i, p := range ps {
		keys[i] = p.Key()
	}
	return func() error {
		got, err := rapyer.FindKeys(ctx, e.st, keys)
		if err == nil && len(got) != n {
			err = fmt.Errorf("FindKeys returned %d objects", len(got))
		}
		return err
	}
}
