package types_test

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

func samePayload(x, y *acct) bool {
	xv, xok := x.V.Lookup()
	yv, yok := y.V.Lookup()
	return xok == yok && reflect.DeepEqual(xv, yv)
}

func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    payload
	}{
		{"full", payload{Name: "Ada", Tags: []string{"a", "", "日本"}, N: -5, M: map[string]float64{"x": 1.5, "y": -0.25}}},
		{"binary text", payload{Name: "\x00\xff\r\n", Tags: []string{"\xc1"}}},
		{"zero value", payload{}},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) { a.V.Set(tt.v) })
				got := reload(t, b, a)
				if v, ok := got.V.Lookup(); !ok || !reflect.DeepEqual(v, tt.v) {
					t.Fatalf("Get: %#v (present %v), want %#v", v, ok, tt.v)
				}
				a.V.Set(payload{Name: "local"})
				v, err := a.V.Load(ctx)
				noErr(t, err)
				if !reflect.DeepEqual(v, tt.v) || !reflect.DeepEqual(a.V.Get(), tt.v) {
					t.Fatalf("Load: %#v (local %#v), want %#v", v, a.V.Get(), tt.v)
				}
			})
		}
	})
}

func TestValueCorrupt(t *testing.T) {
	good := payload{Name: "kept", N: 7}
	tests := []struct {
		name string
		raw  string
	}{
		{"never-used code", "\xc1"},
		{"empty", ""},
		{"plain text", "hello"},
		{"truncated map", "\x84\xa4Name"},
		{"wrong type for a field", "\x81\xa1N\xa3abc"},
		{"huge array length", "\x81\xa4Tags\xdd\xff\xff\xff\xff"},
		{"huge map length", "\x81\xa1M\xdf\xff\xff\xff\xff"},
		{"huge string length", "\x81\xa4Name\xdb\xff\xff\xff\xff"},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) { a.V.Set(good); a.N.Set(3) })
				corrupt(t, b, a.Key(), "v", tt.raw)

				_, err := accts.Get(ctx, b.Store, a.ID())
				wantFieldErr(t, err, rapyer.ErrDecode, "v")

				_, err = a.V.Load(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "v")
				if !reflect.DeepEqual(a.V.Get(), good) {
					t.Fatalf("local value %#v changed by a failed Load", a.V.Get())
				}
				err = a.Reload(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "v")
				if !reflect.DeepEqual(a.V.Get(), good) || a.N.Get() != 3 {
					t.Fatalf("local values changed by a failed Reload: v %#v, n %d", a.V.Get(), a.N.Get())
				}

				// A tolerant load leaves it absent, reports it, keeps the rest.
				tol, err := accts.Get(ctx, b.Store, a.ID(), rapyer.Tolerant())
				noErr(t, err)
				if tol.V.Present() || tol.N.Get() != 3 {
					t.Fatalf("tolerant Get: v present %v, n %d; want v absent, n 3", tol.V.Present(), tol.N.Get())
				}
				if errs := tol.LoadErrors(); len(errs) != 1 {
					t.Fatalf("LoadErrors = %v, want one", errs)
				} else {
					wantFieldErr(t, errs[0], rapyer.ErrDecode, "v")
				}
				wantStored(t, b, a.Key(), "v", tt.raw)
			})
		}
	})
}

func TestValueContract(t *testing.T) {
	seed := func(a *acct) { a.V.Set(payload{Name: "x", Tags: []string{"t"}}) }
	ops := []remoteOp{
		{name: "Value.Load", field: "v", seed: seed, same: samePayload, corrupt: "\xc1",
			run: func(ctx context.Context, a *acct) error { _, err := a.V.Load(ctx); return err }},
		{name: "Value.Save", field: "v", seed: seed, same: samePayload,
			run: func(ctx context.Context, a *acct) error { return a.V.Save(ctx) }},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestValueAbsentVsZero(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.V.Set(payload{}) })
		if _, ok := stored(t, b, a.Key(), "v"); !ok {
			t.Fatal("a zero payload was not stored")
		}
		if !reload(t, b, a).V.Present() {
			t.Fatal("a zero payload loads as absent")
		}
		a.V.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "v")
		if reload(t, b, a).V.Present() {
			t.Fatal("cleared field loads as present")
		}
		v, err := a.V.Load(ctx)
		noErr(t, err)
		if a.V.Present() || !reflect.DeepEqual(v, payload{}) {
			t.Fatalf("Load of an absent field: %#v, present %v", v, a.V.Present())
		}
	})
}

// natives holds Value fields of types with a native codec and one through
// the fallback.
type natives struct {
	rapyer.Model
	I32  types.Value[int32]
	List types.Value[[]string]
}

var nativeVals = rapyer.Define("natives", func(n *natives) rapyer.Fields {
	return rapyer.Fields{n.I32.Named("i32"), n.List.Named("list")}
})

func TestValueNativeCodec(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		n := nativeVals.New(b.Store)
		n.I32.Set(-2147483648)
		n.List.Set([]string{"a", "b"})
		noErr(t, n.Save(ctx))
		wantStored(t, b, n.Key(), "i32", "-2147483648") // decimal text, not msgpack
		got, err := nativeVals.Get(ctx, b.Store, n.ID())
		noErr(t, err)
		if got.I32.Get() != -2147483648 || !reflect.DeepEqual(got.List.Get(), []string{"a", "b"}) {
			t.Fatalf("Get: i32 %d, list %q", got.I32.Get(), got.List.Get())
		}
		for _, raw := range []string{"2147483648", "1.0", "x"} {
			t.Run(strconv.Quote(raw), func(t *testing.T) {
				corrupt(t, b, n.Key(), "i32", raw)
				_, err := n.I32.Load(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "i32")
				_, err = nativeVals.Get(ctx, b.Store, n.ID())
				wantFieldErr(t, err, rapyer.ErrDecode, "i32")
			})
		}
	})
}
