package types_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

func TestBoolToggle(t *testing.T) {
	tests := []struct {
		name   string
		stored *string // raw stored text; nil: absent
		want   bool
	}{
		{"from true", strp("1"), false},
		{"from false", strp("0"), true},
		{"from absent", nil, true},
		{"from text true", strp("true"), false},
		{"from text false", strp("false"), true},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, nil)
				if tt.stored != nil {
					corrupt(t, b, a.Key(), "ok", *tt.stored)
				}
				got, err := a.Ok.Toggle(ctx)
				noErr(t, err)
				if got != tt.want {
					t.Fatalf("Toggle = %v, want %v", got, tt.want)
				}
				wantStored(t, b, a.Key(), "ok", map[bool]string{true: "1", false: "0"}[tt.want])
				wantLocal(t, &a.Ok, tt.want)
				// Twice is back where it was (absent comes back as false).
				back, err := a.Ok.Toggle(ctx)
				noErr(t, err)
				if back != !tt.want {
					t.Fatalf("second Toggle = %v, want %v", back, !tt.want)
				}
			})
		}
	})
}

func TestBoolCorrupt(t *testing.T) {
	for _, raw := range []string{"", "yes", "2", "TRUE", "1 ", "-1"} {
		t.Run(strconv.Quote(raw), func(t *testing.T) {
			testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
				ctx := testkit.Ctx(t)
				a := saved(t, b, func(a *acct) { a.Ok.Set(true) })
				corrupt(t, b, a.Key(), "ok", raw)
				_, err := a.Ok.Toggle(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "ok")
				wantStored(t, b, a.Key(), "ok", raw)
				if !a.Ok.Get() {
					t.Fatal("local value changed by a failed Toggle")
				}
				_, err = a.Ok.Load(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "ok")
				if !a.Ok.Get() {
					t.Fatal("local value changed by a failed Load")
				}
				_, err = accts.Get(ctx, b.Store, a.ID())
				wantFieldErr(t, err, rapyer.ErrDecode, "ok")
			})
		})
	}
}

func TestBoolContract(t *testing.T) {
	seed := func(a *acct) { a.Ok.Set(true) }
	same := func(x, y *acct) bool { return sameScalar[bool](&x.Ok, &y.Ok) }
	ops := []remoteOp{
		{name: "Bool.Toggle", field: "ok", seed: seed, same: same, corrupt: "maybe",
			run: func(ctx context.Context, a *acct) error { _, err := a.Ok.Toggle(ctx); return err }},
		{name: "Bool.Load", field: "ok", seed: seed, same: same, corrupt: "maybe",
			run: func(ctx context.Context, a *acct) error { _, err := a.Ok.Load(ctx); return err }},
		{name: "Bool.Save", field: "ok", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { return a.Ok.Save(ctx) }},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestBoolAbsentVsFalse(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.Ok.Set(false) })
		wantStored(t, b, a.Key(), "ok", "0")
		if v, ok := reload(t, b, a).Ok.Lookup(); !ok || v {
			t.Fatalf("false loads as %v, present %v", v, ok)
		}
		a.Ok.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "ok")
		if reload(t, b, a).Ok.Present() {
			t.Fatal("cleared field loads as present")
		}
	})
}
