package types_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// queuedOp is one remote method of a scalar handle, as the queue tests run
// it: call returns its return values (two values as a rapyer.Pair).
type queuedOp[R any] struct {
	name  string
	field string // stored name of the field the method works on
	// seed sets the local starting value before the object is saved.
	seed func(a *acct)
	// dirty, when set, changes the local value after the Save (without
	// writing it), so that the test sees the method set the local value
	// from the server's answer.
	dirty func(a *acct)
	call  func(ctx context.Context, a *acct) (R, error)
	// later queues the call through rapyer.Later or Later2; nil means
	// rapyer.Later around call.
	later func(q context.Context, a *acct) *rapyer.Result[R]
	// same reports whether the field's local value is the same in x and y.
	same func(x, y *acct) bool
	// eq compares return values; nil means reflect.DeepEqual.
	eq func(x, y R) bool
}

// checkQueued checks op queued inside a Tx against the same call run alone
// on an identical object:
//   - queued, the call returns R's zero value and nil, sends nothing and
//     leaves the local value as it was;
//   - the whole Tx is one round trip;
//   - afterwards the local value and the stored text equal the direct
//     call's, and Later's result equals what the direct call returned.
func checkQueued[R any](t *testing.T, op queuedOp[R]) {
	t.Helper()
	t.Run(op.name, func(t *testing.T) {
		testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
			ctx := testkit.Ctx(t)
			prep := func() *acct {
				a := saved(t, b, op.seed)
				if op.dirty != nil {
					op.dirty(a)
				}
				return a
			}
			eq := op.eq
			if eq == nil {
				eq = func(x, y R) bool { return reflect.DeepEqual(x, y) }
			}
			var zero R

			direct := prep()
			want, err := op.call(ctx, direct)
			noErr(t, err)

			// Plain call with the queue context.
			a := prep()
			before := prep() // the local state a starts with
			rts, cmds := b.Count(func() {
				noErr(t, b.Store.Tx(ctx, func(q context.Context) error {
					var got R
					var err error
					rts, cmds := b.Count(func() { got, err = op.call(q, a) })
					if rts != 0 || len(cmds) != 0 {
						t.Errorf("queued call sent %d round trips (%v), want none", rts, cmds)
					}
					if err != nil {
						t.Errorf("queued call: error %v, want nil", err)
					}
					if !reflect.DeepEqual(got, zero) {
						t.Errorf("queued call returned %#v, want the zero value", got)
					}
					if !op.same(a, before) {
						t.Errorf("queued call changed the local value before the Tx ran")
					}
					return nil
				}))
			})
			if rts != 1 {
				t.Fatalf("Tx: %d round trips (%v), want 1", rts, cmds)
			}
			if !op.same(a, direct) {
				t.Fatalf("local value after the Tx differs from the direct call's")
			}
			sameStored(t, b, a, direct, op.field)

			// Through Later: the result is what the direct call returned.
			a = prep()
			var r *rapyer.Result[R]
			rts, cmds = b.Count(func() {
				noErr(t, b.Store.Tx(ctx, func(q context.Context) error {
					if op.later != nil {
						r = op.later(q, a)
					} else {
						r = rapyer.Later(q, func(q context.Context) (R, error) { return op.call(q, a) })
					}
					if _, err := r.Get(); !errors.Is(err, rapyer.ErrNotRun) {
						t.Errorf("Result.Get inside the Tx: %v, want ErrNotRun", err)
					}
					return nil
				}))
			})
			if rts != 1 {
				t.Fatalf("Tx with Later: %d round trips (%v), want 1", rts, cmds)
			}
			got, err := r.Get()
			noErr(t, err)
			if !eq(got, want) {
				t.Fatalf("Later result %#v, want %#v (the direct call's)", got, want)
			}
			if !op.same(a, direct) {
				t.Fatalf("local value after the Tx with Later differs from the direct call's")
			}
			sameStored(t, b, a, direct, op.field)
		})
	})
}

// sameStored fails unless field is stored the same in x's and y's hashes.
func sameStored(t *testing.T, b *testkit.Backend, x, y *acct, field string) {
	t.Helper()
	xv, xok := b.HGet(t, x.Key(), field)
	yv, yok := b.HGet(t, y.Key(), field)
	if xv != yv || xok != yok {
		t.Fatalf("stored %s = %q (present %v), want %q (present %v) as the direct call stored", field, xv, xok, yv, yok)
	}
}

func sameN(x, y *acct) bool  { return sameScalar[int64](&x.N, &y.N) }
func sameF(x, y *acct) bool  { return sameScalar[float64](&x.F, &y.F) }
func sameS(x, y *acct) bool  { return sameScalar[string](&x.S, &y.S) }
func sameOk(x, y *acct) bool { return sameScalar[bool](&x.Ok, &y.Ok) }

func sameB(x, y *acct) bool {
	xv, xok := x.B.Lookup()
	yv, yok := y.B.Lookup()
	return xok == yok && bytes.Equal(xv, yv)
}

func sameAt(x, y *acct) bool {
	xv, xok := x.At.Lookup()
	yv, yok := y.At.Lookup()
	return xok == yok && xv.Equal(yv)
}

func intOp(name string, seed int64, f func(ctx context.Context, a *acct) (int64, error)) queuedOp[int64] {
	return queuedOp[int64]{name: name, field: "n", seed: func(a *acct) { a.N.Set(seed) }, dirty: func(a *acct) { a.N.Set(-12345) }, call: f, same: sameN}
}

func TestBatchInt(t *testing.T) {
	checkQueued(t, intOp("Incr", 40, func(ctx context.Context, a *acct) (int64, error) { return a.N.Incr(ctx, 2) }))
	checkQueued(t, intOp("Decr", 40, func(ctx context.Context, a *acct) (int64, error) { return a.N.Decr(ctx, 50) }))
	checkQueued(t, intOp("Mul", -7, func(ctx context.Context, a *acct) (int64, error) { return a.N.Mul(ctx, 6) }))
	checkQueued(t, intOp("FloorDiv", -7, func(ctx context.Context, a *acct) (int64, error) { return a.N.FloorDiv(ctx, 2) }))
	checkQueued(t, intOp("Mod", -7, func(ctx context.Context, a *acct) (int64, error) { return a.N.Mod(ctx, 3) }))
	checkQueued(t, intOp("Pow", 3, func(ctx context.Context, a *acct) (int64, error) { return a.N.Pow(ctx, 5) }))
	checkQueued(t, intOp("Max", 3, func(ctx context.Context, a *acct) (int64, error) { return a.N.Max(ctx, 9) }))
	checkQueued(t, intOp("Min", 3, func(ctx context.Context, a *acct) (int64, error) { return a.N.Min(ctx, -9) }))
	checkQueued(t, queuedOp[int64]{name: "Incr absent", field: "n", dirty: func(a *acct) { a.N.Set(8) }, same: sameN,
		call: func(ctx context.Context, a *acct) (int64, error) { return a.N.Incr(ctx, 3) }})

	setnx := func(name string, seed func(a *acct), v int64) queuedOp[rapyer.Pair[bool, int64]] {
		call := func(ctx context.Context, a *acct) (bool, int64, error) { return a.N.SetIfAbsent(ctx, v) }
		return queuedOp[rapyer.Pair[bool, int64]]{
			name: name, field: "n", seed: seed, dirty: func(a *acct) { a.N.Set(-1) }, same: sameN,
			call: func(ctx context.Context, a *acct) (rapyer.Pair[bool, int64], error) {
				ok, n, err := call(ctx, a)
				return rapyer.Pair[bool, int64]{A: ok, B: n}, err
			},
			later: func(q context.Context, a *acct) *rapyer.Result[rapyer.Pair[bool, int64]] {
				return rapyer.Later2(q, func(q context.Context) (bool, int64, error) { return call(q, a) })
			},
		}
	}
	checkQueued(t, setnx("SetIfAbsent stores", nil, 5))
	checkQueued(t, setnx("SetIfAbsent present", func(a *acct) { a.N.Set(0) }, 5))

	cas := func(name string, seed func(a *acct), old, new int64) queuedOp[bool] {
		return queuedOp[bool]{name: name, field: "n", seed: seed, dirty: func(a *acct) { a.N.Set(-1) }, same: sameN,
			call: func(ctx context.Context, a *acct) (bool, error) { return a.N.CompareAndSwap(ctx, old, new) }}
	}
	checkQueued(t, cas("CompareAndSwap swaps", func(a *acct) { a.N.Set(4) }, 4, 6))
	checkQueued(t, cas("CompareAndSwap differs", func(a *acct) { a.N.Set(4) }, 3, 6))
	// Absent: the local value must become absent after the Tx.
	checkQueued(t, cas("CompareAndSwap absent", nil, 0, 6))
}

func floatOp(name string, seed float64, f func(ctx context.Context, a *acct) (float64, error)) queuedOp[float64] {
	return queuedOp[float64]{name: name, field: "f", seed: func(a *acct) { a.F.Set(seed) }, dirty: func(a *acct) { a.F.Set(-0.5) }, call: f, same: sameF}
}

func TestBatchFloat(t *testing.T) {
	checkQueued(t, floatOp("Incr", 0.1, func(ctx context.Context, a *acct) (float64, error) { return a.F.Incr(ctx, 0.2) }))
	checkQueued(t, floatOp("Mul", 1.5, func(ctx context.Context, a *acct) (float64, error) { return a.F.Mul(ctx, -3) }))
	checkQueued(t, floatOp("Div", 1, func(ctx context.Context, a *acct) (float64, error) { return a.F.Div(ctx, 3) }))
	checkQueued(t, floatOp("FloorDiv", -7.5, func(ctx context.Context, a *acct) (float64, error) { return a.F.FloorDiv(ctx, 2) }))
	checkQueued(t, floatOp("Mod", -7.5, func(ctx context.Context, a *acct) (float64, error) { return a.F.Mod(ctx, 2) }))
	checkQueued(t, floatOp("Pow", 1.1, func(ctx context.Context, a *acct) (float64, error) { return a.F.Pow(ctx, 7) }))
}

func TestBatchStr(t *testing.T) {
	seed := func(a *acct) { a.S.Set("ab") }
	dirty := func(a *acct) { a.S.Set("local") }
	checkQueued(t, queuedOp[string]{name: "Append", field: "s", seed: seed, dirty: dirty, same: sameS,
		call: func(ctx context.Context, a *acct) (string, error) { return a.S.Append(ctx, "cd") }})
	checkQueued(t, queuedOp[string]{name: "Repeat", field: "s", seed: seed, dirty: dirty, same: sameS,
		call: func(ctx context.Context, a *acct) (string, error) { return a.S.Repeat(ctx, 3) }})
	checkQueued(t, queuedOp[int]{name: "Len", field: "s", seed: func(a *acct) { a.S.Set("héllo") }, dirty: dirty, same: sameS,
		call: func(ctx context.Context, a *acct) (int, error) { return a.S.Len(ctx) }})
	checkQueued(t, queuedOp[string]{name: "Append nested", field: "home.city", seed: func(a *acct) { a.Home.City.Set("Par") },
		same: func(x, y *acct) bool { return sameScalar[string](&x.Home.City, &y.Home.City) },
		call: func(ctx context.Context, a *acct) (string, error) { return a.Home.City.Append(ctx, "is") }})

	setnx := func(name string, seed func(a *acct)) queuedOp[rapyer.Pair[bool, string]] {
		call := func(ctx context.Context, a *acct) (bool, string, error) { return a.S.SetIfAbsent(ctx, "new") }
		return queuedOp[rapyer.Pair[bool, string]]{
			name: name, field: "s", seed: seed, dirty: dirty, same: sameS,
			call: func(ctx context.Context, a *acct) (rapyer.Pair[bool, string], error) {
				ok, s, err := call(ctx, a)
				return rapyer.Pair[bool, string]{A: ok, B: s}, err
			},
			later: func(q context.Context, a *acct) *rapyer.Result[rapyer.Pair[bool, string]] {
				return rapyer.Later2(q, func(q context.Context) (bool, string, error) { return call(q, a) })
			},
		}
	}
	checkQueued(t, setnx("SetIfAbsent stores", nil))
	checkQueued(t, setnx("SetIfAbsent present", seed))

	cas := func(name string, seed func(a *acct), old string) queuedOp[bool] {
		return queuedOp[bool]{name: name, field: "s", seed: seed, dirty: dirty, same: sameS,
			call: func(ctx context.Context, a *acct) (bool, error) { return a.S.CompareAndSwap(ctx, old, "new") }}
	}
	checkQueued(t, cas("CompareAndSwap swaps", seed, "ab"))
	checkQueued(t, cas("CompareAndSwap differs", seed, "zz"))
	checkQueued(t, cas("CompareAndSwap absent", nil, ""))
}

func TestBatchBytes(t *testing.T) {
	seed := func(a *acct) { a.B.Set([]byte{0, 1, 0xff}) }
	dirty := func(a *acct) { a.B.Set([]byte("local")) }
	eq := func(x, y []byte) bool { return bytes.Equal(x, y) }
	checkQueued(t, queuedOp[[]byte]{name: "Append", field: "b", seed: seed, dirty: dirty, same: sameB, eq: eq,
		call: func(ctx context.Context, a *acct) ([]byte, error) { return a.B.Append(ctx, []byte{0xfe, 0}) }})
	checkQueued(t, queuedOp[[]byte]{name: "Append nil", field: "b", seed: seed, dirty: dirty, same: sameB, eq: eq,
		call: func(ctx context.Context, a *acct) ([]byte, error) { return a.B.Append(ctx, nil) }})
	checkQueued(t, queuedOp[int]{name: "Len", field: "b", seed: seed, dirty: dirty, same: sameB,
		call: func(ctx context.Context, a *acct) (int, error) { return a.B.Len(ctx) }})
}

func TestBatchBool(t *testing.T) {
	for _, seed := range []func(a *acct){nil, func(a *acct) { a.Ok.Set(true) }, func(a *acct) { a.Ok.Set(false) }} {
		checkQueued(t, queuedOp[bool]{name: "Toggle", field: "ok", seed: seed, dirty: func(a *acct) { a.Ok.Set(true) }, same: sameOk,
			call: func(ctx context.Context, a *acct) (bool, error) { return a.Ok.Toggle(ctx) }})
	}
}

func TestBatchTime(t *testing.T) {
	start := time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.FixedZone("X", 3600))
	seed := func(a *acct) { a.At.Set(start) }
	dirty := func(a *acct) { a.At.Set(time.Unix(1, 0)) }
	eq := func(x, y time.Time) bool { return x.Equal(y) && x.Location() == y.Location() }
	checkQueued(t, queuedOp[time.Time]{name: "Add", field: "at", seed: seed, dirty: dirty, same: sameAt, eq: eq,
		call: func(ctx context.Context, a *acct) (time.Time, error) { return a.At.Add(ctx, 36*time.Hour+1) }})
	checkQueued(t, queuedOp[time.Time]{name: "Sub", field: "at", seed: seed, dirty: dirty, same: sameAt, eq: eq,
		call: func(ctx context.Context, a *acct) (time.Time, error) { return a.At.Sub(ctx, time.Nanosecond) }})
	checkQueued(t, queuedOp[time.Time]{name: "Add absent", field: "at", same: sameAt, eq: eq,
		call: func(ctx context.Context, a *acct) (time.Time, error) { return a.At.Add(ctx, time.Second) }})
}

// TestBatchScalarAllInOne queues one call of every scalar method on one
// object in a single Tx, and in a single Batch: one round trip each, and the
// object ends as the same calls run one by one leave an identical object.
func TestBatchScalarAllInOne(t *testing.T) {
	seed := func(a *acct) {
		a.N.Set(7)
		a.F.Set(2.5)
		a.S.Set("ab")
		a.B.Set([]byte("xy"))
		a.At.Set(time.Unix(1700000000, 5))
	}
	calls := func(ctx context.Context, a *acct) []error {
		var errs []error
		e := func(err error) { errs = append(errs, err) }
		_, err := a.N.Incr(ctx, 5)
		e(err)
		_, err = a.N.Decr(ctx, 1)
		e(err)
		_, err = a.N.Mul(ctx, -3)
		e(err)
		_, err = a.N.FloorDiv(ctx, 4)
		e(err)
		_, err = a.N.Mod(ctx, 7)
		e(err)
		_, err = a.N.Pow(ctx, 3)
		e(err)
		_, err = a.N.Max(ctx, 100)
		e(err)
		_, err = a.N.Min(ctx, 50)
		e(err)
		_, _, err = a.N.SetIfAbsent(ctx, 1)
		e(err)
		_, err = a.N.CompareAndSwap(ctx, 50, 51)
		e(err)
		_, err = a.F.Incr(ctx, 0.25)
		e(err)
		_, err = a.F.Mul(ctx, 3)
		e(err)
		_, err = a.F.Div(ctx, 7)
		e(err)
		_, err = a.F.FloorDiv(ctx, 0.5)
		e(err)
		_, err = a.F.Mod(ctx, 4)
		e(err)
		_, err = a.F.Pow(ctx, 2)
		e(err)
		_, err = a.S.Append(ctx, "c")
		e(err)
		_, err = a.S.Repeat(ctx, 2)
		e(err)
		_, err = a.S.Len(ctx)
		e(err)
		_, _, err = a.S.SetIfAbsent(ctx, "no")
		e(err)
		_, err = a.S.CompareAndSwap(ctx, "abcabc", "done")
		e(err)
		_, err = a.B.Append(ctx, []byte{0})
		e(err)
		_, err = a.B.Len(ctx)
		e(err)
		_, err = a.Ok.Toggle(ctx)
		e(err)
		_, err = a.At.Add(ctx, time.Hour)
		e(err)
		_, err = a.At.Sub(ctx, time.Minute)
		e(err)
		_, err = a.Home.City.Append(ctx, "x")
		e(err)
		return errs
	}
	for _, tx := range []bool{true, false} {
		name := "Batch"
		if tx {
			name = "Tx"
		}
		t.Run(name, func(t *testing.T) {
			testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
				ctx := testkit.Ctx(t)
				direct := saved(t, b, seed)
				for i, err := range calls(ctx, direct) {
					if err != nil {
						t.Fatalf("direct call %d: %v", i, err)
					}
				}
				a := saved(t, b, seed)
				run := b.Store.Batch
				if tx {
					run = b.Store.Tx
				}
				rts, cmds := b.Count(func() {
					noErr(t, run(ctx, func(q context.Context) error {
						for i, err := range calls(q, a) {
							if err != nil {
								t.Errorf("queued call %d: %v", i, err)
							}
						}
						return nil
					}))
				})
				if rts != 1 {
					t.Fatalf("%s: %d round trips (%v), want 1", name, rts, cmds)
				}
				if !sameN(a, direct) || !sameF(a, direct) || !sameS(a, direct) || !sameB(a, direct) || !sameOk(a, direct) || !sameAt(a, direct) ||
					!sameScalar[string](&a.Home.City, &direct.Home.City) {
					t.Fatalf("local values after the %s differ from the direct calls'", name)
				}
				for _, f := range []string{"n", "f", "s", "b", "ok", "at", "home.city"} {
					sameStored(t, b, a, direct, f)
				}
				fresh := reload(t, b, a)
				if !sameN(a, fresh) || !sameF(a, fresh) || !sameS(a, fresh) || !sameB(a, fresh) || !sameOk(a, fresh) || !sameAt(a, fresh) {
					t.Fatalf("local values after the %s differ from the server's", name)
				}
			})
		})
	}
}

// TestBatchScalarErrors: errors of queued scalar calls come back from the
// Tx as a *rapyer.BatchError with the right sentinels and positions, through
// Later as the call's own error; bad input fails at queue time with
// nothing queued.
func TestBatchScalarErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)

		t.Run("not found and decode", func(t *testing.T) {
			ok := saved(t, b, func(a *acct) { a.N.Set(1) })
			// One Tx holds the three: one shard (one slot on a cluster).
			gone := savedNear(t, b, ok, func(a *acct) { a.N.Set(1); a.S.Set("s") })
			deleted, err := gone.Delete(ctx)
			noErr(t, err)
			if !deleted {
				t.Fatal("Delete: nothing deleted")
			}
			bad := savedNear(t, b, ok, func(a *acct) { a.N.Set(1) })
			corrupt(t, b, bad.Key(), "n", "x1")

			var incr *rapyer.Result[int64]
			var setnx *rapyer.Result[rapyer.Pair[bool, string]]
			var bd *rapyer.Result[int64]
			rts, cmds := b.Count(func() {
				err = b.Store.Tx(ctx, func(q context.Context) error {
					incr = rapyer.Later(q, func(q context.Context) (int64, error) { return ok.N.Incr(q, 2) })
					setnx = rapyer.Later2(q, func(q context.Context) (bool, string, error) { return gone.S.SetIfAbsent(q, "v") })
					bd = rapyer.Later(q, func(q context.Context) (int64, error) { return bad.N.Incr(q, 1) })
					return nil
				})
			})
			if rts != 1 {
				t.Fatalf("Tx: %d round trips (%v), want 1", rts, cmds)
			}
			var be *rapyer.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("Tx error %v (%T), want a *rapyer.BatchError", err, err)
			}
			wantErr(t, err, rapyer.ErrNotFound)
			wantErr(t, err, rapyer.ErrDecode)
			if !be.Tx || be.Total != 3 || len(be.Failed) != 2 ||
				be.Failed[0].Index != 1 || be.Failed[0].Op != "Str.SetIfAbsent" ||
				be.Failed[1].Index != 2 || be.Failed[1].Op != "Int.Incr" {
				t.Fatalf("BatchError %+v", be)
			}
			wantFieldErr(t, be.Failed[0].Err, rapyer.ErrNotFound, "s")
			wantFieldErr(t, be.Failed[1].Err, rapyer.ErrDecode, "n")

			n, err := incr.Get()
			noErr(t, err)
			if n != 3 {
				t.Fatalf("Incr result %d, want 3", n)
			}
			wantLocal[int64](t, &ok.N, 3)
			_, err = setnx.Get()
			wantFieldErr(t, err, rapyer.ErrNotFound, "s")
			wantLocal[string](t, &gone.S, "s")
			wantNoKey(t, b, gone.Key())
			_, err = bd.Get()
			wantFieldErr(t, err, rapyer.ErrDecode, "n")
			wantLocal[int64](t, &bad.N, 1)
			wantStored(t, b, bad.Key(), "n", "x1")
		})

		t.Run("bad input at queue time", func(t *testing.T) {
			a := saved(t, b, func(a *acct) { a.F.Set(1); a.S.Set("ab") })
			var r *rapyer.Result[float64]
			rts, cmds := b.Count(func() {
				noErr(t, b.Store.Tx(ctx, func(q context.Context) error {
					var v float64
					var err error
					rts, cmds := b.Count(func() { v, err = a.F.Incr(q, math.NaN()) })
					if rts != 0 || len(cmds) != 0 {
						t.Errorf("bad call sent %d round trips (%v)", rts, cmds)
					}
					if v != 0 {
						t.Errorf("bad call returned %v", v)
					}
					wantFieldErr(t, err, rapyer.ErrInvalid, "f")
					s, err := a.S.Repeat(q, -1)
					if s != "" {
						t.Errorf("bad Repeat returned %q", s)
					}
					wantFieldErr(t, err, rapyer.ErrInvalid, "s")
					r = rapyer.Later(q, func(q context.Context) (float64, error) { return a.F.Div(q, math.Inf(1)) })
					return nil
				}))
			})
			if rts != 0 || len(cmds) != 0 {
				t.Fatalf("Tx with only bad calls sent %d round trips (%v), want nothing", rts, cmds)
			}
			_, err := r.Get()
			wantFieldErr(t, err, rapyer.ErrInvalid, "f")
			wantLocal[float64](t, &a.F, 1)
			wantStored(t, b, a.Key(), "f", "1")
			wantStored(t, b, a.Key(), "s", "ab")
		})
	})
}
