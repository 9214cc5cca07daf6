package serialize_test

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer/serialize"
)

type status string

type payload struct {
	Name  string
	Tags  []string
	Score float64
	Attrs map[string]int
}

func roundTrip[T any](t *testing.T, c serialize.Codec[T], v T, eq func(a, b T) bool) {
	t.Helper()
	b, err := c.Encode(v)
	if err != nil {
		t.Fatalf("Encode(%v): %v", v, err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%q): %v", b, err)
	}
	if !eq(got, v) {
		t.Fatalf("round trip of %v gave %v (stored %q)", v, got, b)
	}
}

func eqv[T comparable](a, b T) bool { return a == b }

func TestNativeRoundTrips(t *testing.T) {
	for _, v := range []string{"", "a", "日本", "\x00\xff", "with space"} {
		roundTrip(t, serialize.String, v, eqv)
	}
	for _, v := range [][]byte{{}, {0}, {0xff, 0, 1}, []byte("x")} {
		roundTrip(t, serialize.Bytes, v, bytes.Equal)
	}
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 53, -(1 << 53) - 1} {
		roundTrip(t, serialize.Int64, v, eqv)
	}
	bits := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	for _, v := range []float64{0, math.Copysign(0, -1), 0.1, 0.1 + 0.2, -1e-310, math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 1e21, 123456789.125} {
		roundTrip(t, serialize.Float64, v, bits)
	}
	roundTrip(t, serialize.Bool, true, eqv)
	roundTrip(t, serialize.Bool, false, eqv)
	timeEq := func(a, b time.Time) bool { return a.Equal(b) && a.Location() == time.UTC }
	paris := time.FixedZone("CET", 3600)
	for _, v := range []time.Time{time.Unix(0, 1), time.Date(2026, 11, 25, 13, 14, 15, 123456789, paris), time.Date(1700, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)} {
		roundTrip(t, serialize.Time, v, timeEq)
	}
	roundTrip(t, serialize.StringOf[status](), status("active"), eqv)
	roundTrip(t, serialize.IntOf[int32](), int32(math.MinInt32), eqv)
	mp := serialize.Via[payload](serialize.Msgpack)
	roundTrip(t, mp, payload{Name: "x", Tags: []string{"a", "b"}, Score: 0.5, Attrs: map[string]int{"k": 1}}, func(a, b payload) bool {
		return a.Name == b.Name && len(a.Tags) == 2 && a.Tags[1] == "b" && a.Score == b.Score && a.Attrs["k"] == 1
	})
}

func TestEncodeRejects(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := serialize.Float64.Encode(f); !errors.Is(err, serialize.ErrEncode) {
			t.Errorf("Encode(%v) = %v, want ErrEncode", f, err)
		}
	}
	for _, tm := range []time.Time{{}, time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := serialize.Time.Encode(tm); !errors.Is(err, serialize.ErrEncode) {
			t.Errorf("Encode(%v) = %v, want ErrEncode", tm, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"int text", decodeErr(serialize.Int64, "12a")},
		{"int plus sign", decodeErr(serialize.Int64, "+5")},
		{"int leading zero", decodeErr(serialize.Int64, "007")},
		{"int minus zero", decodeErr(serialize.Int64, "-0")},
		{"float hex", decodeErr(serialize.Float64, "0x1p-2")},
		{"float underscore", decodeErr(serialize.Float64, "1_0")},
		{"int overflow", decodeErr(serialize.Int64, "9223372036854775808")},
		{"int32 range", decodeErr(serialize.IntOf[int32](), "2147483648")},
		{"float text", decodeErr(serialize.Float64, "x")},
		{"float nan", decodeErr(serialize.Float64, "nan")},
		{"float inf", decodeErr(serialize.Float64, "inf")},
		{"bool", decodeErr(serialize.Bool, "yes")},
		{"time", decodeErr(serialize.Time, "1.5")},
		{"msgpack", decodeErr(serialize.Via[payload](serialize.Msgpack), "\xc1garbage")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, serialize.ErrDecode) {
				t.Fatalf("got %v, want ErrDecode", tc.err)
			}
		})
	}
}

func decodeErr[T any](c serialize.Codec[T], s string) error {
	_, err := c.Decode([]byte(s))
	return err
}

func TestForAndNative(t *testing.T) {
	if serialize.For[string]() == nil || serialize.For[time.Time]() == nil || serialize.For[int]() == nil {
		t.Fatal("For misses a native type")
	}
	if serialize.For[status]() != nil || serialize.For[payload]() != nil {
		t.Fatal("For matched a named or struct type")
	}
	if !serialize.Native(serialize.Int64) || serialize.Native(serialize.Via[payload](serialize.Msgpack)) {
		t.Fatal("Native is wrong")
	}
}

// FuzzDecode: no codec panics on any stored bytes, and whatever decodes
// encodes back to something that decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "1e308", "0.1", "true", "\x81\xa1a\x01", "\xc1", "9223372036854775807"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzOne(t, serialize.String, b, eqv)
		fuzzOne(t, serialize.Bytes, b, bytes.Equal)
		fuzzOne(t, serialize.Int64, b, eqv)
		fuzzOne(t, serialize.IntOf[int32](), b, eqv)
		fuzzOne(t, serialize.Float64, b, func(a, c float64) bool { return math.Float64bits(a) == math.Float64bits(c) })
		fuzzOne(t, serialize.Bool, b, eqv)
		fuzzOne(t, serialize.Time, b, func(a, c time.Time) bool { return a.Equal(c) })
		_, _ = serialize.Via[payload](serialize.Msgpack).Decode(b)
		_, _ = serialize.Via[map[string]any](serialize.Msgpack).Decode(b)
	})
}

func fuzzOne[T any](t *testing.T, c serialize.Codec[T], b []byte, eq func(a, b T) bool) {
	v, err := c.Decode(b)
	if err != nil {
		if !errors.Is(err, serialize.ErrDecode) {
			t.Fatalf("%T: error %v does not wrap ErrDecode", c, err)
		}
		return
	}
	enc, err := c.Encode(v)
	if err != nil {
		t.Fatalf("%T: decoded %v does not encode: %v", c, v, err)
	}
	back, err := c.Decode(enc)
	if err != nil || !eq(back, v) {
		t.Fatalf("%T: %v -> %q -> %v, %v", c, v, enc, back, err)
	}
}

// FuzzFloat64: every finite float64 round-trips bit-exactly.
func FuzzFloat64(f *testing.F) {
	f.Add(uint64(0))
	f.Add(math.Float64bits(0.1))
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		roundTrip(t, serialize.Float64, v, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
	})
}

// FuzzInt64 and FuzzTime: every value in range round-trips.
func FuzzInt64(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, n int64) {
		roundTrip(t, serialize.Int64, n, eqv)
		roundTrip(t, serialize.Time, time.Unix(0, n), func(a, b time.Time) bool { return a.Equal(b) })
	})
}
