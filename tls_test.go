package rapyer_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// tlsServer starts a TLS-only redis-server whose certificate (for
// 127.0.0.1) ca issued, asking clients for a certificate per authClients
// ("no", "yes", "optional"). client is a configuration it accepts.
func tlsServer(t *testing.T, ca *testkit.CA, authClients string, client *tls.Config) string {
	t.Helper()
	srv := ca.Issue(t, "127.0.0.1", false)
	return testkit.StartRedisTLS(t, client, "--tls-cert-file", srv.CertFile, "--tls-key-file", srv.KeyFile,
		"--tls-ca-cert-file", ca.File, "--tls-auth-clients", authClients)
}

// tlsServers starts two TLS-only servers with certificates of one CA: url
// asks no client certificate, mtlsURL requires one. trust trusts the CA;
// mutual also holds a client certificate it issued.
func tlsServers(t *testing.T) (trust, mutual *tls.Config, url, mtlsURL string) {
	t.Helper()
	needRealRedis(t)
	ca := testkit.NewCA(t, "rapyer-test")
	trust = testTLSTrusting(ca)
	mutual = trust.Clone()
	mutual.Certificates = []tls.Certificate{ca.Issue(t, "app", true).TLS}
	return trust, mutual, tlsServer(t, ca, "no", trust), tlsServer(t, ca, "yes", mutual)
}

// testTLSTrusting is a client configuration that trusts ca.
func testTLSTrusting(ca *testkit.CA) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}
}

// tlsStore is a Store over a pool of rapyer.Dial connections (the path a
// user's own pool takes), with opts.
func tlsStore(t *testing.T, url string, opts ...rapyer.Option) *rapyer.Store {
	t.Helper()
	pool := &redis.Pool{MaxIdle: 4, Wait: true, DialContext: func(ctx context.Context) (redis.Conn, error) {
		return rapyer.Dial(ctx, url, opts...)
	}}
	st, err := rapyer.NewStore(pool, opts...)
	must(t, err)
	t.Cleanup(func() { _ = st.Close(); _ = pool.Close() })
	return st
}

// TestTLS runs every kind of operation over TLS, by Open with a rediss://
// URL and by a pool of rapyer.Dial, with and without client certificates.
func TestTLS(t *testing.T) {
	trust, mutual, url, mtlsURL := tlsServers(t)
	if !strings.HasPrefix(url, "rediss://") {
		t.Fatalf("test kit URL %q", url)
	}
	t.Run("Open rediss", func(t *testing.T) {
		st, err := rapyer.Open(stepCtx(t, 5*time.Second), url, rapyer.WithTLSConfig(trust), rapyer.WithPrefix("tls1:"))
		must(t, err)
		defer st.Close()
		workload(t, st)
	})
	t.Run("Dial pool, client certificate", func(t *testing.T) {
		st := tlsStore(t, mtlsURL, rapyer.WithTLSConfig(mutual), rapyer.WithPrefix("tls2:"))
		must(t, st.Ping(stepCtx(t, 5*time.Second)))
		workload(t, st)
	})
	t.Run("Open rediss, client certificate", func(t *testing.T) {
		st, err := rapyer.Open(stepCtx(t, 5*time.Second), mtlsURL, rapyer.WithTLSConfig(mutual), rapyer.WithPrefix("tls3:"))
		must(t, err)
		defer st.Close()
		workload(t, st)
	})
}

// TestTLSRefused: what must fail does, promptly (within its 2 s context),
// with a clear error, and writes nothing.
func TestTLSRefused(t *testing.T) {
	trust, mutual, url, mtlsURL := tlsServers(t)
	other := testkit.NewCA(t, "other")
	plainURL := testkit.StartRedis(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	go func() { // accepts, never answers
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	withCA := func(p *x509.CertPool) *tls.Config { c := trust.Clone(); c.RootCAs = p; return c }
	misnamed := trust.Clone()
	misnamed.ServerName = "other.example"
	foreign := trust.Clone()
	foreign.Certificates = []tls.Certificate{other.Issue(t, "app", true).TLS}
	plain := strings.Replace(url, "rediss://", "redis://", 1)
	tests := []struct {
		name, url string
		cfg       *tls.Config
		mentions  string
	}{
		{"server certificate from another CA", url, withCA(other.Pool), "certificate"},
		{"system roots only", url, nil, "certificate"},
		{"name mismatch", url, misnamed, "other.example"},
		{"redis:// to the TLS port", plain, nil, "rediss://"},
		{"rediss:// to a plaintext port", strings.Replace(plainURL, "redis://", "rediss://", 1), trust, "serve TLS"},
		{"rediss:// to a silent listener", "rediss://" + silent.Addr().String() + "/0", trust, "serve TLS"},
		{"no client certificate", mtlsURL, trust, ""},
		{"client certificate from another CA", mtlsURL, foreign, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []rapyer.Option
			if tt.cfg != nil {
				opts = append(opts, rapyer.WithTLSConfig(tt.cfg))
			}
			opts = append(opts, rapyer.WithPrefix("refused:"))
			start := time.Now()
			_, err := rapyer.Open(stepCtx(t, 2*time.Second), tt.url, opts...)
			if took := time.Since(start); took > 2500*time.Millisecond {
				t.Errorf("Open took %v under a 2 s context", took)
			}
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("error %q does not mention %q", err, tt.mentions)
			}
			t.Logf("Open: %v", err)
			// A Store over a pool of rapyer.Dial: a write fails as
			// promptly and writes nothing.
			st := tlsStore(t, tt.url, opts...)
			u := users.New(st)
			fill(u)
			start = time.Now()
			if err := u.Save(stepCtx(t, 2*time.Second)); err == nil {
				t.Fatal("Save succeeded")
			}
			if took := time.Since(start); took > 2500*time.Millisecond {
				t.Errorf("Save took %v under a 2 s context", took)
			}
		})
	}
	for _, u := range []struct {
		url string
		cfg *tls.Config
	}{{url, trust}, {mtlsURL, mutual}} {
		if keys := keyDump(t, openAs(t, u.url, redis.DialTLSConfig(u.cfg)), "refused:"); len(keys) != 0 {
			t.Errorf("keys written: %v", keys)
		}
	}
	t.Run("WithDialTimeout bounds the handshake", func(t *testing.T) {
		start := time.Now()
		_, err := rapyer.Open(stepCtx(t, 10*time.Second), "rediss://"+silent.Addr().String()+"/0",
			rapyer.WithTLSConfig(trust), rapyer.WithDialTimeout(500*time.Millisecond))
		if err == nil {
			t.Fatal("Open succeeded")
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("Open took %v with a 500 ms dial timeout", took)
		}
		t.Logf("Open: %v", err)
	})
	t.Run("WithTLSConfig with redis://", func(t *testing.T) {
		_, err := rapyer.Open(stepCtx(t, 2*time.Second), plainURL, rapyer.WithTLSConfig(trust))
		wantErr(t, err, rapyer.ErrInvalid, "rediss://")
		_, err = rapyer.Dial(stepCtx(t, 2*time.Second), plainURL, rapyer.WithTLSConfig(trust))
		wantErr(t, err, rapyer.ErrInvalid, "rediss://")
	})
}

// TestTLSSystemRoots: a bare rediss:// URL holding a password, with no
// WithTLSConfig, checks the server against the system roots and runs
// every kind of operation. The roots are the test's CA, given by
// SSL_CERT_FILE to a child process (Go loads the system roots once per
// process).
func TestTLSSystemRoots(t *testing.T) {
	if url := os.Getenv("RAPYER_TEST_SYSTEM_ROOTS_URL"); url != "" { // the child
		st, err := rapyer.Open(testkit.Ctx(t), url, rapyer.WithPrefix("sysroots:"))
		must(t, err)
		defer st.Close()
		workload(t, st)
		return
	}
	needRealRedis(t)
	const pw = "Kx7-Quill-Pw"
	ca := testkit.NewCA(t, "rapyer-test")
	srv := ca.Issue(t, "127.0.0.1", false)
	url := testkit.StartRedisTLS(t, testTLSTrusting(ca), "--tls-cert-file", srv.CertFile, "--tls-key-file", srv.KeyFile,
		"--tls-ca-cert-file", ca.File, "--tls-auth-clients", "no", "--requirepass", pw)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTLSSystemRoots$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "RAPYER_TEST_SYSTEM_ROOTS_URL="+withUserinfo(url, ":"+pw),
		"SSL_CERT_FILE="+ca.File, "SSL_CERT_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestTLSSystemRoots") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	noLeak(t, pw, string(out))
}
