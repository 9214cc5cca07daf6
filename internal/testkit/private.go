package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
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
	t.Run("embedded", func(t *testing.T) {
		srv, err := embedded.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		f(t, newBackend(t, "embedded", srv.URL(), srv, opts))
	})
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
// command-line arguments ("--maxmemory", "1mb", ...).
func StartRedis(t testing.TB, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (Debian: apt-get install -y redis-server): %v", err)
	}
	for try := 0; try < 5; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir(), "--loglevel", "warning"}, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
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
			c, err := redis.DialURL(url, redis.DialConnectTimeout(time.Second))
			if err == nil {
				_, err = c.Do("PING")
				_ = c.Close()
				if err == nil {
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
