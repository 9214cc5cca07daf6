package types_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/rapyer-go/rapyer/internal/testkit"
)

// sameBytes compares two Bytes handles' local states.
func sameBytes(x, y *acct) bool {
	xv, xok := x.B.Lookup()
	yv, yok := y.B.Lookup()
	return xok == yok && bytes.Equal(xv, yv)
}

func TestBytesAppend(t *testing.T) {
	tests := []struct {
		name  string
		start []byte // nil: absent
		add   []byte
		want  []byte
	}{
		{"plain", []byte("ab"), []byte("cd"), []byte("abcd")},
		{"absent counts as empty", nil, []byte{0}, []byte{0}},
		{"NUL and invalid UTF-8", []byte{0, 0xff}, []byte{0xfe, 0, 0x80}, []byte{0, 0xff, 0xfe, 0, 0x80}},
		{"nil appends nothing", []byte("x"), nil, []byte("x")},
		{"empty to absent makes it present", nil, []byte{}, []byte{}},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.B.Set(tt.start)
					}
				})
				got, err := a.B.Append(ctx, tt.add)
				noErr(t, err)
				if !bytes.Equal(got, tt.want) {
					t.Fatalf("Append = %q, want %q", got, tt.want)
				}
				wantStored(t, b, a.Key(), "b", string(tt.want))
				if v, ok := a.B.Lookup(); !ok || !bytes.Equal(v, tt.want) {
					t.Fatalf("local value %q (present %v), want %q", v, ok, tt.want)
				}
			})
		}
	})
}

func TestBytesLen(t *testing.T) {
	tests := []struct {
		name  string
		start []byte
		want  int
	}{
		{"plain", []byte("hello"), 5},
		{"NULs count", []byte{0, 0, 0}, 3},
		{"empty", []byte{}, 0},
		{"absent", nil, 0},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.B.Set(tt.start)
					}
				})
				n, err := a.B.Len(ctx)
				noErr(t, err)
				if n != tt.want {
					t.Fatalf("Len = %d, want %d", n, tt.want)
				}
			})
		}
	})
}

func TestBytesRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		v    []byte
		want []byte
	}{
		{"every byte value", all, all},
		{"NUL only", []byte{0}, []byte{0}},
		{"invalid UTF-8", []byte{0xc3, 0x28, 0xa0, 0xa1, 0xff}, []byte{0xc3, 0x28, 0xa0, 0xa1, 0xff}},
		{"CRLF and RESP-looking text", []byte("\r\n$3\r\nfoo\r\n"), []byte("\r\n$3\r\nfoo\r\n")},
		{"empty", []byte{}, []byte{}},
		{"nil loads as empty", nil, []byte{}},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := accts.New(b.Store)
				a.B.Set(tt.v)
				noErr(t, a.Save(ctx))
				wantStored(t, b, a.Key(), "b", string(tt.want))
				got := reload(t, b, a)
				if v, ok := got.B.Lookup(); !ok || v == nil || !bytes.Equal(v, tt.want) {
					t.Fatalf("Get: %q (present %v, nil %v), want %q", v, ok, v == nil, tt.want)
				}
				a.B.Set([]byte("local"))
				v, err := a.B.Load(ctx)
				noErr(t, err)
				if v == nil || !bytes.Equal(v, tt.want) || !bytes.Equal(a.B.Get(), tt.want) {
					t.Fatalf("Load: %q (local %q), want %q", v, a.B.Get(), tt.want)
				}
			})
		}
	})
}

func TestBytesNotAliased(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.B.Set([]byte("abc")) })
		got, err := a.B.Append(ctx, []byte("d"))
		noErr(t, err)
		got[0] = 'X' // the caller owns what it was given
		v, err := a.B.Load(ctx)
		noErr(t, err)
		if string(v) != "abcd" {
			t.Fatalf("Load = %q, want abcd", v)
		}
	})
}

func TestBytesContract(t *testing.T) {
	seed := func(a *acct) { a.B.Set([]byte{0, 0xff}) }
	ops := []remoteOp{
		{name: "Bytes.Append", field: "b", seed: seed, same: sameBytes,
			run: func(ctx context.Context, a *acct) error { _, err := a.B.Append(ctx, []byte{0}); return err }},
		{name: "Bytes.Len", field: "b", seed: seed, same: sameBytes,
			run: func(ctx context.Context, a *acct) error { _, err := a.B.Len(ctx); return err }},
		{name: "Bytes.Load", field: "b", seed: seed, same: sameBytes,
			run: func(ctx context.Context, a *acct) error { _, err := a.B.Load(ctx); return err }},
		{name: "Bytes.Save", field: "b", seed: seed, same: sameBytes,
			run: func(ctx context.Context, a *acct) error { return a.B.Save(ctx) }},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestBytesAbsentVsEmpty(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.B.Set([]byte{}) })
		wantStored(t, b, a.Key(), "b", "")
		if v, ok := reload(t, b, a).B.Lookup(); !ok || len(v) != 0 {
			t.Fatalf("empty loads as %q, present %v; want empty, present", v, ok)
		}
		a.B.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "b")
		if reload(t, b, a).B.Present() {
			t.Fatal("cleared field loads as present")
		}
	})
}
