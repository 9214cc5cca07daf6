package types_test

import (
	"context"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

func strp(s string) *string { return &s }

func TestStrAppend(t *testing.T) {
	tests := []struct {
		name  string
		start *string // nil: absent
		s     string
		want  string
	}{
		{"ascii", strp("ab"), "cd", "abcd"},
		{"absent counts as empty", nil, "x", "x"},
		{"empty to absent makes it present", nil, "", ""},
		{"non-ASCII", strp("héllo "), "日本", "héllo 日本"},
		{"NUL and invalid UTF-8 kept", strp("a\x00"), "\xff\xfe", "a\x00\xff\xfe"},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.S.Set(*tt.start)
					}
				})
				got, err := a.S.Append(ctx, tt.s)
				noErr(t, err)
				if got != tt.want {
					t.Fatalf("Append = %q, want %q", got, tt.want)
				}
				wantStored(t, b, a.Key(), "s", tt.want)
				wantLocal(t, &a.S, tt.want)
			})
		}
	})
}

func TestStrRepeat(t *testing.T) {
	tests := []struct {
		name    string
		start   *string
		n       int
		want    string
		wantErr error
	}{
		{"three", strp("ab"), 3, "ababab", nil},
		{"one", strp("ab"), 1, "ab", nil},
		{"zero stores empty", strp("ab"), 0, "", nil},
		{"non-ASCII", strp("é"), 2, "éé", nil},
		{"absent counts as empty", nil, 3, "", nil},
		// An empty string repeated any number of times is empty, at once.
		{"empty, huge count", strp(""), 1 << 40, "", nil},
		{"over 512 MB", strp("ab"), 1 << 40, "", rapyer.ErrInvalid},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.S.Set(*tt.start)
					}
				})
				got, err := a.S.Repeat(ctx, tt.n)
				if tt.wantErr != nil {
					wantFieldErr(t, err, tt.wantErr, "s")
					wantStored(t, b, a.Key(), "s", *tt.start)
					return
				}
				noErr(t, err)
				if got != tt.want {
					t.Fatalf("Repeat(%d) = %q, want %q", tt.n, got, tt.want)
				}
				wantStored(t, b, a.Key(), "s", tt.want)
				wantLocal(t, &a.S, tt.want)
			})
		}
		t.Run("negative", func(t *testing.T) {
			a := saved(t, b, func(a *acct) { a.S.Set("ab") })
			var err error
			noTrip(t, b, func() { _, err = a.S.Repeat(ctx, -1) })
			wantFieldErr(t, err, rapyer.ErrInvalid, "s")
			wantStored(t, b, a.Key(), "s", "ab")
			if a.S.Get() != "ab" {
				t.Fatalf("local value %q, want it unchanged", a.S.Get())
			}
		})
	})
}

func TestStrLen(t *testing.T) {
	tests := []struct {
		name  string
		start *string
		want  int
	}{
		{"ascii", strp("hello"), 5},
		{"bytes, not runes", strp("héllo 日本"), 13},
		{"empty", strp(""), 0},
		{"absent", nil, 0},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.S.Set(*tt.start)
					}
				})
				a.S.Set("local only") // Len reads the server and leaves the local value
				n, err := a.S.Len(ctx)
				noErr(t, err)
				if n != tt.want {
					t.Fatalf("Len = %d, want %d", n, tt.want)
				}
				if a.S.Get() != "local only" {
					t.Fatalf("Len changed the local value to %q", a.S.Get())
				}
			})
		}
	})
}

func TestStrSetIfAbsent(t *testing.T) {
	tests := []struct {
		name       string
		start      *string
		wantStored bool
		want       string
	}{
		{"absent", nil, true, "new"},
		{"present", strp("old"), false, "old"},
		{"empty is present", strp(""), false, ""},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.S.Set(*tt.start)
					}
				})
				a.S.Set("stale")
				ok, v, err := a.S.SetIfAbsent(ctx, "new")
				noErr(t, err)
				if ok != tt.wantStored || v != tt.want {
					t.Fatalf("SetIfAbsent = %v, %q; want %v, %q", ok, v, tt.wantStored, tt.want)
				}
				wantStored(t, b, a.Key(), "s", tt.want)
				wantLocal(t, &a.S, tt.want)
			})
		}
	})
}

func TestStrCompareAndSwap(t *testing.T) {
	tests := []struct {
		name        string
		start       *string
		old, new    string
		wantSwapped bool
		want        *string // nil: absent afterwards
	}{
		{"match", strp("a"), "a", "b", true, strp("b")},
		{"mismatch takes the server's value", strp("a"), "z", "b", false, strp("a")},
		{"match empty", strp(""), "", "b", true, strp("b")},
		{"absent is not empty", nil, "", "b", false, nil},
		{"non-ASCII", strp("日本"), "日本", "é", true, strp("é")},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.S.Set(*tt.start)
					}
				})
				a.S.Set("stale local value")
				swapped, err := a.S.CompareAndSwap(ctx, tt.old, tt.new)
				noErr(t, err)
				if swapped != tt.wantSwapped {
					t.Fatalf("swapped = %v, want %v", swapped, tt.wantSwapped)
				}
				v, ok := a.S.Lookup()
				if tt.want == nil {
					wantAbsent(t, b, a.Key(), "s")
					if ok {
						t.Fatalf("local value %q present, want absent like the server's", v)
					}
					return
				}
				wantStored(t, b, a.Key(), "s", *tt.want)
				if !ok || v != *tt.want {
					t.Fatalf("local value %q (present %v), want the server's %q", v, ok, *tt.want)
				}
			})
		}
	})
}

func TestStrContract(t *testing.T) {
	seed := func(a *acct) { a.S.Set("ab") }
	same := func(x, y *acct) bool { return sameScalar[string](&x.S, &y.S) }
	ops := []remoteOp{
		{name: "Str.Append", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { _, err := a.S.Append(ctx, "c"); return err }},
		{name: "Str.Repeat", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { _, err := a.S.Repeat(ctx, 1); return err }},
		{name: "Str.Len", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { _, err := a.S.Len(ctx); return err }},
		{name: "Str.SetIfAbsent", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { _, _, err := a.S.SetIfAbsent(ctx, "x"); return err }},
		{name: "Str.CompareAndSwap", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { _, err := a.S.CompareAndSwap(ctx, "ab", "cd"); return err }},
		{name: "Str.Load", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { _, err := a.S.Load(ctx); return err }},
		{name: "Str.Save", field: "s", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { return a.S.Save(ctx) }},
		{name: "nested Str.Append", field: "home.city", same: func(x, y *acct) bool { return sameScalar[string](&x.Home.City, &y.Home.City) },
			run: func(ctx context.Context, a *acct) error { _, err := a.Home.City.Append(ctx, "x"); return err }},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestStrAbsentVsEmpty(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.S.Set("") })
		wantStored(t, b, a.Key(), "s", "")
		wantLocal(t, &reload(t, b, a).S, "")
		a.S.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "s")
		if reload(t, b, a).S.Present() {
			t.Fatal("cleared field loads as present")
		}
	})
}

func TestStrNested(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		a := saved(t, b, func(a *acct) { a.S.Set("top"); a.Home.City.Set("Par") })
		got, err := a.Home.City.Append(ctx, "is")
		noErr(t, err)
		if got != "Paris" {
			t.Fatalf("Append = %q, want Paris", got)
		}
		wantStored(t, b, a.Key(), "home.city", "Paris")
		wantStored(t, b, a.Key(), "s", "top")
		if fresh := reload(t, b, a); fresh.Home.City.Get() != "Paris" {
			t.Fatalf("reloaded home.city = %q", fresh.Home.City.Get())
		}
	})
}
