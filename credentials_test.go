package rapyer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
)

// leaks reports which piece of secret (itself, or any 4 bytes of it) out
// holds; "" when none.
func leaks(out, secret string) string {
	for n := len(secret); n >= 4; n-- {
		for i := 0; i+n <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+n]) {
				return secret[i : i+n]
			}
		}
	}
	return ""
}

// noLeak fails when secret (or 4 bytes of it) is in any of outs.
func noLeak(t *testing.T, secret string, outs ...string) {
	t.Helper()
	for _, out := range outs {
		if p := leaks(out, secret); p != "" {
			t.Fatalf("%q shows %q of the password", out, p)
		}
	}
}

// errTexts is the text of err and of every error it wraps.
func errTexts(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e.Error(), fmt.Sprintf("%#v", e))
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// openNoLeak opens rawURL with a Debug logger, recovering a panic, and
// returns every text Open produced and the error.
func openNoLeak(t *testing.T, rawURL string, opts ...rapyer.Option) ([]string, error) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append(opts, rapyer.WithLogger(log), rapyer.WithDialTimeout(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var err error
	var outs []string
	func() {
		defer func() {
			if p := recover(); p != nil {
				outs = append(outs, fmt.Sprint(p))
				t.Errorf("Open panicked: %v", p)
			}
		}()
		var st *rapyer.Store
		st, err = rapyer.Open(ctx, rawURL, opts...)
		if st != nil {
			outs = append(outs, fmt.Sprint(st), fmt.Sprintf("%+v %#v", st, st))
			_ = st.Close()
		}
		c, derr := rapyer.Dial(ctx, rawURL, opts...)
		if c != nil {
			_ = c.Close()
		}
		outs = append(outs, errTexts(derr)...)
	}()
	outs = append(outs, errTexts(err)...)
	outs = append(outs, logs.String(), fmt.Sprintf("%v %+v %#v", opts, opts, opts))
	return outs, err
}

// TestURLPasswordNeverLeaks: whatever is wrong with a URL (an unescaped
// '%', '/', '?', '#' or space in the password, a bad port or database, a
// form without //, another scheme), Open and Dial fail without showing the
// password in the error, in the errors it wraps, in the logs, or in a
// panic; a server that refuses the connection is no different.
func TestURLPasswordNeverLeaks(t *testing.T) {
	const pw = "Tr0ub4dor"
	tests := []struct {
		name, url, secret string
		invalid           bool
	}{
		{"percent", "redis://app:" + pw + "%zz@127.0.0.1:1/0", pw + "%zz", true},
		{"percent at end", "redis://app:" + pw + "%@127.0.0.1:1/0", pw + "%", true},
		{"slash", "redis://app:" + pw + "/x@127.0.0.1:1/0", pw + "/x", true},
		{"digits then slash", "redis://app:1234/" + pw + "@127.0.0.1:1/0", "1234/" + pw, true},
		{"hash", "redis://app:" + pw + "#x@127.0.0.1:1/0", pw + "#x", true},
		{"question mark", "redis://:" + pw + "?x@127.0.0.1:1/0", pw + "?x", true},
		{"space", "redis://app:" + pw + " x@127.0.0.1:1/0", pw + " x", true},
		{"control character", "redis://app:" + pw + "\x01@127.0.0.1:1/0", pw, true},
		{"bad port", "redis://app:" + pw + "@127.0.0.1:99x/0", pw, true},
		{"bad database", "redis://app:" + pw + "@127.0.0.1:1/abc", pw, true},
		{"opaque", "redis:app:" + pw + "@127.0.0.1:1", pw, true},
		{"memory", "memory://app:" + pw + "@x", pw, true},
		{"embedded", "embedded://:" + pw + "@", pw, true},
		{"other scheme", "http://app:" + pw + "@127.0.0.1:1", pw, true},
		{"TLS config with redis://", "redis://app:" + pw + "@127.0.0.1:1/0", pw, true},
		{"refused", "redis://app:" + pw + "@127.0.0.1:1/0", pw, false},
		{"refused, password only", "redis://" + pw + "@127.0.0.1:1/0", pw, false},
		{"refused, rediss", "rediss://:" + pw + "@127.0.0.1:1/0", pw, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []rapyer.Option
			if strings.HasPrefix(tt.name, "TLS config") {
				opts = append(opts, rapyer.WithTLSConfig(nil), rapyer.WithTLSConfig(testTLSConfigForURL()))
			}
			outs, err := openNoLeak(t, tt.url, opts...)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if tt.invalid && !errors.Is(err, rapyer.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			noLeak(t, tt.secret, outs...)
		})
	}
	t.Run("WithAuth", func(t *testing.T) {
		outs, err := openNoLeak(t, "redis://127.0.0.1:1/0", rapyer.WithAuth("app", pw))
		if err == nil {
			t.Fatal("Open succeeded")
		}
		noLeak(t, pw, outs...)
	})
}

// testTLSConfigForURL is any TLS configuration.
func testTLSConfigForURL() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }
