package types_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// payload is the struct a Value field holds (msgpack through the fallback).
type payload struct {
	Name string
	Tags []string
	N    int64
	M    map[string]float64
}

type home struct {
	City types.Str
	N    types.Int
}

// acct has one field of every scalar handle, and a nested group.
type acct struct {
	rapyer.Model
	N    types.Int
	F    types.Float
	S    types.Str
	B    types.Bytes
	Ok   types.Bool
	At   types.Time
	V    types.Value[payload]
	Home home
}

var accts = rapyer.Define("acct", func(a *acct) rapyer.Fields {
	return rapyer.Fields{
		a.N.Named("n"),
		a.F.Named("f"),
		a.S.Named("s"),
		a.B.Named("b"),
		a.Ok.Named("ok"),
		a.At.Named("at"),
		a.V.Named("v"),
		rapyer.Nested("home", a.Home.City.Named("city"), a.Home.N.Named("n")),
	}
})

// wideN is how many Int and Float fields a wide object has: the exactness
// sweeps run that many checks per Save.
const wideN = 32

// wide has many Int and Float fields, so that a sweep stores wideN starting
// values in one Save and checks them all with one HGETALL.
type wide struct {
	rapyer.Model
	I [wideN]types.Int
	F [wideN]types.Float
}

var wides = rapyer.Define("wide", func(w *wide) rapyer.Fields {
	fs := make(rapyer.Fields, 0, 2*wideN)
	for i := range w.I {
		fs = append(fs, w.I[i].Named(fmt.Sprintf("i%d", i)))
	}
	for i := range w.F {
		fs = append(fs, w.F[i].Named(fmt.Sprintf("f%d", i)))
	}
	return fs
})

// saved returns a new acct, with set applied to it, saved.
func saved(t *testing.T, b *testkit.Backend, set func(a *acct)) *acct {
	t.Helper()
	return savedNear(t, b, nil, set)
}

// savedNear is saved, in near's shard when near is not nil (NewBeside: a
// Tx may hold both on a cluster too).
func savedNear(t *testing.T, b *testkit.Backend, near *acct, set func(a *acct)) *acct {
	t.Helper()
	a := accts.New(b.Store)
	if near != nil {
		a = accts.NewBeside(near)
	}
	if set != nil {
		set(a)
	}
	if err := a.Save(testkit.Ctx(t)); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return a
}

// reload returns a fresh copy of a from the server.
func reload(t *testing.T, b *testkit.Backend, a *acct) *acct {
	t.Helper()
	got, err := accts.Get(testkit.Ctx(t), b.Store, a.ID())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return got
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr fails unless err wraps want.
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
}

// wantFieldErr fails unless err wraps want and its message names field.
func wantFieldErr(t *testing.T, err, want error, field string) {
	t.Helper()
	wantErr(t, err, want)
	if !strings.Contains(err.Error(), "field "+field+":") {
		t.Fatalf("error %q does not name field %q", err, field)
	}
	var e *rapyer.Error
	if !errors.As(err, &e) || e.Field != field {
		t.Fatalf("error %#v: want an *rapyer.Error with Field %q", err, field)
	}
}

// stored returns a hash field as stored; ok false when absent.
func stored(t *testing.T, b *testkit.Backend, key, field string) (string, bool) {
	t.Helper()
	return b.HGet(t, key, field)
}

// wantStored fails unless the hash field holds want.
// wantLocal fails unless the handle's local value is present and equals want.
func wantLocal[T comparable](t *testing.T, h interface{ Lookup() (T, bool) }, want T) {
	t.Helper()
	if v, ok := h.Lookup(); !ok || v != want {
		t.Fatalf("local value %v (present %v), want %v", v, ok, want)
	}
}

func wantStored(t *testing.T, b *testkit.Backend, key, field, want string) {
	t.Helper()
	got, ok := b.HGet(t, key, field)
	if !ok {
		t.Fatalf("HGET %s: absent, want %q", field, want)
	}
	if got != want {
		t.Fatalf("HGET %s = %q, want %q", field, got, want)
	}
}

// wantAbsent fails unless the hash field is absent.
func wantAbsent(t *testing.T, b *testkit.Backend, key, field string) {
	t.Helper()
	if got, ok := b.HGet(t, key, field); ok {
		t.Fatalf("HGET %s = %q, want absent", field, got)
	}
}

// wantNoKey fails unless key does not exist.
func wantNoKey(t *testing.T, b *testkit.Backend, key string) {
	t.Helper()
	n, err := redis.Int(b.Do(t, "EXISTS", key))
	noErr(t, err)
	if n != 0 {
		t.Fatalf("EXISTS %s = %d, want 0", key, n)
	}
}

// corrupt overwrites a stored field directly.
func corrupt(t *testing.T, b *testkit.Backend, key, field, raw string) {
	t.Helper()
	if _, err := b.Do(t, "HSET", key, field, raw); err != nil {
		t.Fatal(err)
	}
}

// oneTrip runs f and fails unless it sent exactly one round trip.
func oneTrip(t *testing.T, b *testkit.Backend, f func()) {
	t.Helper()
	rts, cmds := b.Count(f)
	if rts != 1 {
		t.Fatalf("round trips = %d (%v), want 1", rts, cmds)
	}
}

// noTrip runs f and fails if it sent anything.
func noTrip(t *testing.T, b *testkit.Backend, f func()) {
	t.Helper()
	rts, cmds := b.Count(f)
	if rts != 0 || len(cmds) != 0 {
		t.Fatalf("round trips = %d (%v), want nothing sent", rts, cmds)
	}
}

// remoteOp is one remote operation of a handle, as the contract tests run it.
type remoteOp struct {
	name string
	// field is the stored (dotted) name of the field the op works on.
	field string
	// seed sets the local starting value before the object is saved; the op
	// must succeed from it.
	seed func(a *acct)
	run  func(ctx context.Context, a *acct) error
	// same reports whether the op's field holds the same value in x and y.
	same func(x, y *acct) bool
	// corrupt, when not empty, is stored text the op must refuse with
	// rapyer.ErrDecode.
	corrupt string
}

// checkOps checks the contract every remote operation keeps:
//   - on an object that was never saved: rapyer.ErrNotFound, and no key created;
//   - on an existing object: one round trip, and afterwards the local value
//     equals the server's;
//   - on stored text that does not decode: rapyer.ErrDecode naming the field,
//     and the stored text unchanged.
func checkOps(t *testing.T, b *testkit.Backend, ops []remoteOp) {
	t.Helper()
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			ctx := testkit.Ctx(t)
			t.Run("not found", func(t *testing.T) {
				a := accts.New(b.Store)
				if op.seed != nil {
					op.seed(a)
				}
				wantFieldErr(t, op.run(ctx, a), rapyer.ErrNotFound, op.field)
				wantNoKey(t, b, a.Key())
			})
			t.Run("one round trip, local equals server", func(t *testing.T) {
				a := saved(t, b, op.seed)
				// The first call may load the script (EVALSHA, NOSCRIPT, EVAL).
				noErr(t, op.run(ctx, a))
				var err error
				oneTrip(t, b, func() { err = op.run(ctx, a) })
				noErr(t, err)
				if fresh := reload(t, b, a); !op.same(a, fresh) {
					t.Fatalf("local value differs from the server's after %s", op.name)
				}
			})
			if op.corrupt == "" {
				return
			}
			t.Run("corrupt stored value", func(t *testing.T) {
				a := saved(t, b, op.seed)
				corrupt(t, b, a.Key(), op.field, op.corrupt)
				wantFieldErr(t, op.run(ctx, a), rapyer.ErrDecode, op.field)
				wantStored(t, b, a.Key(), op.field, op.corrupt)
			})
		})
	}
}

// sameScalar compares two handles' local states.
func sameScalar[T comparable](x, y interface{ Lookup() (T, bool) }) bool {
	xv, xok := x.Lookup()
	yv, yok := y.Lookup()
	return xok == yok && xv == yv
}
