package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer/embedded"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// peerEnv is env (rapyer's Store and the raw redigo pool) plus the peers on
// the same server: a go-redis v9 client and a rueidis client.
type peerEnv struct {
	*env
	gr *goredis.Client
	ru rueidis.Client
}

// peerLibs names the libraries of every peer benchmark, in the order of
// their metrics; "redigo" (raw redigo) is the baseline of every ratio.
var peerLibs = []string{"rapyer", "redigo", "goredis", "rueidis"}

// peerBackends runs f as a sub-benchmark per server: "redis" (REDIS_URL;
// skipped when unset) and "embedded" (a fresh miniredis, reached over TCP
// by every client). The stub backend is left out: it speaks only the
// commands redigo sends, not the peers' handshakes (HELLO 3, CLIENT SETINFO).
func peerBackends(b *testing.B, f func(b *testing.B, pe *peerEnv)) {
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			b.Skip("REDIS_URL not set")
		}
		f(b, newPeerEnv(b, url))
	})
	b.Run("embedded", func(b *testing.B) {
		srv, err := embedded.Start()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = srv.Close() })
		f(b, newPeerEnv(b, srv.URL()))
	})
}

// newPeerEnv opens every client on url. go-redis gets a pool of 64
// connections, the bound of rapyer's and the raw pool's (go-redis's own
// default is 10 per CPU); rueidis keeps its defaults (auto-pipelining on a
// few multiplexed connections, which is its design) with client-side
// caching off (no benchmark reads through the cache, and the embedded
// server has no CLIENT TRACKING).
func newPeerEnv(b testing.TB, url string) *peerEnv {
	b.Helper()
	e := newEnv(b, url)
	gopt, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	gopt.PoolSize = 64
	gopt.MaxActiveConns = 64
	gopt.DialTimeout = 5 * time.Second
	gopt.ReadTimeout = 3 * time.Second
	gopt.WriteTimeout = 3 * time.Second
	gr := goredis.NewClient(gopt)
	ropt, err := rueidis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	ropt.DisableCache = true
	ru, err := rueidis.NewClient(ropt)
	if err != nil {
		_ = gr.Close()
		b.Fatalf("rueidis on %s: %v", url, err)
	}
	b.Cleanup(func() {
		ru.Close()
		_ = gr.Close()
	})
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	if err := gr.Ping(ctx).Err(); err != nil {
		b.Fatalf("go-redis PING: %v", err)
	}
	if err := ru.Do(ctx, ru.B().Ping().Build()).Error(); err != nil {
		b.Fatalf("rueidis PING: %v", err)
	}
	if err := e.st.Ping(ctx); err != nil {
		b.Fatalf("rapyer Ping: %v", err)
	}
	warm(b, e.pool)
	return &peerEnv{env: e, gr: gr, ru: ru}
}
