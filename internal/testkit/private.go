package testkit

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
)

// RunPrivate is Run for tests that change the server itself (SCRIPT FLUSH,
// CONFIG SET maxmemory, ...), which would disturb other tests sharing the
// server at REDIS_URL: its "redis" backend is a redis-server of its own,
// started on a free loopback port with nothing on disk and stopped by its
// pid. It runs when REDIS_URL is set (the suite is then meant to meet a
// real Redis) and redis-server is on the PATH; without redis-server it
// fails rather than skip.
func RunPrivate(t *testing.T, f func(t *testing.T, b *Backend), opts ...rapyer.Option) {
	t.Helper()
	runEmbedded(t, f, opts)
	if os.Getenv("REDIS_URL") == "" {
		return
	}
	t.Run("redis", func(t *testing.T) {
		url := StartRedis(t)
		f(t, newBackend(t, "redis", url, nil, opts))
	})
}

// StartRedis starts a throwaway redis-server on a free loopback port and
// returns its URL; the test's cleanup stops it by its pid. extra are more
// command-line arguments ("--maxmemory", "1mb", ...). A server that wants
// a password (--requirepass) counts as up when it answers NOAUTH.
func StartRedis(t testing.TB, extra ...string) string {
	t.Helper()
	return startRedis(t, nil, extra)
}

// StartRedisTLS starts a TLS-only throwaway redis-server (no plaintext
// port) on a free loopback port and returns its rediss:// URL. extra gives
// the certificates (--tls-cert-file, --tls-key-file, --tls-ca-cert-file,
// --tls-auth-clients ...); client is a TLS configuration that the server
// accepts, used to see that it is up.
func StartRedisTLS(t testing.TB, client *tls.Config, extra ...string) string {
	t.Helper()
	return startRedis(t, client, extra)
}

func startRedis(t testing.TB, client *tls.Config, extra []string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (Debian: apt-get install -y redis-server): %v", err)
	}
	for try := 0; try < 5; try++ {
		port := FreePort(t)
		listen := []string{"--port", fmt.Sprint(port)}
		url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		var dialOpts []redis.DialOption
		if client != nil {
			listen = []string{"--port", "0", "--tls-port", fmt.Sprint(port)}
			url = fmt.Sprintf("rediss://127.0.0.1:%d/0", port)
			dialOpts = append(dialOpts, redis.DialTLSConfig(client))
		}
		args := append(listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir(), "--loglevel", "warning")
		cmd := exec.Command(bin, append(args, extra...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited: // the port was taken between the check and the bind
				deadline = time.Time{}
				continue
			default:
			}
			c, err := redis.DialURL(url, append(dialOpts, redis.DialConnectTimeout(time.Second))...)
			if err == nil {
				_, err = c.Do("PING")
				_ = c.Close()
				if _, noauth := err.(redis.Error); err == nil || noauth {
					t.Cleanup(stop)
					return url
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
	}
	t.Fatal("could not start redis-server on a free port")
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartReplica starts a throwaway redis-server replicating the one at
// masterURL (StartRedis's) and waits, at most 30 s, until its link to the
// master is up; it returns the replica's URL. The test's cleanup stops it.
func StartReplica(t testing.TB, masterURL string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(masterURL, "redis://"), "/0"))
	if err != nil {
		t.Fatalf("StartReplica(%s): %v", masterURL, err)
	}
	url := StartRedis(t, "--replicaof", host, port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := redis.DialURL(url, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(5*time.Second))
		if err == nil {
			info, ierr := redis.String(c.Do("INFO", "replication"))
			_ = c.Close()
			if ierr == nil && strings.Contains(info, "master_link_status:up") {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s of %s: link not up in 30 s", url, masterURL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
