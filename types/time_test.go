package types_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

var (
	// y2k is a start with sub-second digits, in a zone that is not UTC.
	y2k      = time.Date(2000, 1, 1, 0, 0, 0, 999_999_999, time.FixedZone("X", -(3*3600+1800)))
	lastTime = time.Unix(0, math.MaxInt64) // the last storable instant (2262)
	firstT   = time.Unix(0, math.MinInt64) // the first (1677)
)

func timep(v time.Time) *time.Time { return &v }

func TestTimeAddSub(t *testing.T) {
	const maxDur = time.Duration(math.MaxInt64)
	tests := []struct {
		name    string
		start   *time.Time // nil: absent (the Unix epoch)
		sub     bool
		d       time.Duration
		want    time.Time
		wantErr error
	}{
		{"add 1ns", timep(y2k), false, 1, y2k.Add(1), nil},
		{"add -1ns", timep(y2k), false, -1, y2k.Add(-1), nil},
		{"sub 1ns", timep(y2k), true, 1, y2k.Add(-1), nil},
		{"add 200 years", timep(y2k), false, 200 * 8766 * time.Hour, y2k.Add(200 * 8766 * time.Hour), nil},
		{"sub 200 years", timep(y2k), true, 200 * 8766 * time.Hour, y2k.Add(-200 * 8766 * time.Hour), nil},
		{"add the max duration from before 1970", timep(firstT), false, maxDur, time.Unix(0, -1), nil},
		{"absent counts as the epoch", nil, false, 90 * time.Minute, time.Unix(0, 0).Add(90 * time.Minute), nil},
		{"to the last instant", timep(lastTime.Add(-5)), false, 5, lastTime, nil},
		{"to the first instant", timep(firstT.Add(5)), true, 5, firstT, nil},
		{"past 2262", timep(lastTime.Add(-5)), false, 6, time.Time{}, rapyer.ErrOverflow},
		{"an hour past 2262", timep(lastTime), false, time.Hour, time.Time{}, rapyer.ErrOverflow},
		{"max duration from 2000", timep(y2k), false, maxDur, time.Time{}, rapyer.ErrOverflow},
		{"before 1678", timep(firstT.Add(5)), true, 6, time.Time{}, rapyer.ErrOverflow},
		{"sub the min duration", timep(y2k), true, math.MinInt64, time.Time{}, rapyer.ErrOverflow},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) {
					if tt.start != nil {
						a.At.Set(*tt.start)
					}
				})
				var got time.Time
				var err error
				if tt.sub {
					got, err = a.At.Sub(ctx, tt.d)
				} else {
					got, err = a.At.Add(ctx, tt.d)
				}
				if tt.wantErr != nil {
					wantFieldErr(t, err, tt.wantErr, "at")
					wantStored(t, b, a.Key(), "at", strconv.FormatInt(tt.start.UnixNano(), 10))
					if !a.At.Get().Equal(*tt.start) {
						t.Fatalf("local value %v, want it unchanged at %v", a.At.Get(), *tt.start)
					}
					return
				}
				noErr(t, err)
				if !got.Equal(tt.want) || got.UnixNano() != tt.want.UnixNano() {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				if got.Location() != time.UTC {
					t.Fatalf("result in %v, want UTC", got.Location())
				}
				wantStored(t, b, a.Key(), "at", strconv.FormatInt(tt.want.UnixNano(), 10))
				if v, ok := a.At.Lookup(); !ok || !v.Equal(tt.want) || v.Location() != time.UTC {
					t.Fatalf("local value %v (present %v), want %v in UTC", v, ok, tt.want)
				}
				if fresh := reload(t, b, a); !fresh.At.Get().Equal(tt.want) {
					t.Fatalf("reloaded %v, want %v", fresh.At.Get(), tt.want)
				}
			})
		}
	})
}

func TestTimeLoadsAsUTC(t *testing.T) {
	tests := []struct {
		name string
		v    time.Time
	}{
		{"fixed zone", time.Date(2024, 3, 1, 12, 30, 15, 123456789, time.FixedZone("IST", 5*3600+1800))},
		{"negative offset", y2k},
		{"with a monotonic reading", time.Now()},
		{"before 1970", time.Date(1901, 12, 13, 20, 45, 52, 1, time.FixedZone("W", -7*3600))},
		{"first instant", firstT},
		{"last instant", lastTime},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := saved(t, b, func(a *acct) { a.At.Set(tt.v) })
				wantStored(t, b, a.Key(), "at", strconv.FormatInt(tt.v.UnixNano(), 10))
				got := reload(t, b, a).At.Get()
				if !got.Equal(tt.v) || got.Location() != time.UTC {
					t.Fatalf("Get: %v in %v, want %v in UTC", got, got.Location(), tt.v)
				}
				if got != tt.v.UTC().Round(0) {
					t.Fatalf("Get: %#v, want the plain UTC value %#v", got, tt.v.UTC().Round(0))
				}
				loaded, err := a.At.Load(ctx)
				noErr(t, err)
				if !loaded.Equal(tt.v) || loaded.Location() != time.UTC || a.At.Get().Location() != time.UTC {
					t.Fatalf("Load: %v in %v, want %v in UTC", loaded, loaded.Location(), tt.v)
				}
			})
		}
	})
}

func TestTimeUnstorable(t *testing.T) {
	tests := []struct {
		name string
		v    time.Time
	}{
		{"zero time", time.Time{}},
		{"before 1678", firstT.Add(-1)},
		{"after 2262", lastTime.Add(1)},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Run("new object", func(t *testing.T) {
					a := accts.New(b.Store)
					a.N.Set(1)
					a.At.Set(tt.v)
					var err error
					noTrip(t, b, func() { err = a.Save(ctx) })
					wantFieldErr(t, err, rapyer.ErrInvalid, "at")
					wantNoKey(t, b, a.Key())
				})
				t.Run("existing object", func(t *testing.T) {
					a := saved(t, b, func(a *acct) { a.N.Set(1); a.At.Set(y2k) })
					a.N.Set(2)
					a.At.Set(tt.v)
					var err error
					noTrip(t, b, func() { err = a.Save(ctx) })
					wantFieldErr(t, err, rapyer.ErrInvalid, "at")
					noTrip(t, b, func() { err = a.At.Save(ctx) })
					wantFieldErr(t, err, rapyer.ErrInvalid, "at")
					wantStored(t, b, a.Key(), "at", strconv.FormatInt(y2k.UnixNano(), 10))
					wantStored(t, b, a.Key(), "n", "1")
				})
			})
		}
	})
}

func TestTimeCorrupt(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, raw := range []string{"yesterday", "2024-01-01T00:00:00Z", "1.5", "9223372036854775808", ""} {
			t.Run(strconv.Quote(raw), func(t *testing.T) {
				a := saved(t, b, func(a *acct) { a.At.Set(y2k) })
				corrupt(t, b, a.Key(), "at", raw)
				_, err := a.At.Add(ctx, time.Second)
				wantFieldErr(t, err, rapyer.ErrDecode, "at")
				wantStored(t, b, a.Key(), "at", raw)
				_, err = a.At.Load(ctx)
				wantFieldErr(t, err, rapyer.ErrDecode, "at")
				if !a.At.Get().Equal(y2k) {
					t.Fatalf("local value %v changed by failed operations", a.At.Get())
				}
			})
		}
	})
}

func TestTimeContract(t *testing.T) {
	seed := func(a *acct) { a.At.Set(y2k) }
	same := func(x, y *acct) bool {
		xv, xok := x.At.Lookup()
		yv, yok := y.At.Lookup()
		// The instant, not the zone: Save keeps the local value as the
		// caller set it, in its own zone; loads and operations give UTC.
		return xok == yok && xv.Equal(yv)
	}
	ops := []remoteOp{
		{name: "Time.Add", field: "at", seed: seed, same: same, corrupt: "noon",
			run: func(ctx context.Context, a *acct) error { _, err := a.At.Add(ctx, time.Nanosecond); return err }},
		{name: "Time.Sub", field: "at", seed: seed, same: same, corrupt: "noon",
			run: func(ctx context.Context, a *acct) error { _, err := a.At.Sub(ctx, time.Hour); return err }},
		{name: "Time.Load", field: "at", seed: seed, same: same, corrupt: "noon",
			run: func(ctx context.Context, a *acct) error { _, err := a.At.Load(ctx); return err }},
		{name: "Time.Save", field: "at", seed: seed, same: same,
			run: func(ctx context.Context, a *acct) error { return a.At.Save(ctx) }},
	}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) { checkOps(t, b, ops) })
}

func TestTimeAbsent(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		epoch := time.Unix(0, 0)
		a := saved(t, b, func(a *acct) { a.At.Set(epoch) })
		wantStored(t, b, a.Key(), "at", "0")
		if v, ok := reload(t, b, a).At.Lookup(); !ok || !v.Equal(epoch) {
			t.Fatalf("epoch loads as %v, present %v", v, ok)
		}
		a.At.Clear()
		noErr(t, a.Save(ctx))
		wantAbsent(t, b, a.Key(), "at")
		if reload(t, b, a).At.Present() {
			t.Fatal("cleared field loads as present")
		}
	})
}
