package bench

import (
	"errors"
	"maps"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/embedded"
)

// onServers runs f on the embedded server and, when REDIS_URL is set, on
// that Redis too, with the same assertions.
func onServers(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("embedded", func(t *testing.T) {
		srv, err := embedded.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		f(t, srv.URL())
	})
	if url := os.Getenv("REDIS_URL"); url != "" {
		t.Run("redis", func(t *testing.T) { f(t, url) })
	}
}

// hashes returns every hash under pe's key prefix, by key.
func hashes(t *testing.T, pe *peerEnv) map[string]map[string]string {
	t.Helper()
	c := pe.pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", pe.prefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, k := range keys {
		if out[k], err = redis.StringMap(c.Do("HGETALL", k)); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	return out
}

// run calls f n times and fails the test on its first error.
func run(t *testing.T, lib string, f op, n int) {
	t.Helper()
	for range n {
		if err := f(); err != nil {
			t.Fatalf("%s: %v", lib, err)
		}
	}
}

// TestPeersWriteTheSameHash: Save twice and SaveMany of 3, by each library
// in a key space of its own, leave hashes equal field for field to
// rapyer's, version included: the peers store the data rapyer stores.
func TestPeersWriteTheSameHash(t *testing.T) {
	onServers(t, func(t *testing.T, url string) {
		saves := []func(testing.TB, *peerEnv) op{
			func(b testing.TB, pe *peerEnv) op { return saveLib(b, pe.env) },
			func(b testing.TB, pe *peerEnv) op { return saveRaw(b, pe.env) },
			saveGoRedis, saveRueidis,
		}
		saveManys := []func(testing.TB, *peerEnv, int) op{
			func(b testing.TB, pe *peerEnv, n int) op { return saveManyLib(b, pe.env, n) },
			func(b testing.TB, pe *peerEnv, n int) op { return saveManyRaw(b, pe.env, n) },
			saveManyGoRedis, saveManyRueidis,
		}
		var want map[string]string
		for i, lib := range peerLibs {
			pe := newPeerEnv(t, url)
			run(t, lib, saves[i](t, pe), 2)
			run(t, lib, saveManys[i](t, pe, 3), 2)
			hs := hashes(t, pe)
			if len(hs) != 4 {
				t.Fatalf("%s: %d keys under %s, want 4 (1 Save, 3 SaveMany)", lib, len(hs), pe.prefix)
			}
			for k, h := range hs {
				if want == nil {
					want = h
					if want["_v"] != "2" || want["age"] != strconv.FormatInt(sample.Age, 10) {
						t.Fatalf("rapyer's hash after two saves: %v", want)
					}
				}
				if !maps.Equal(h, want) {
					t.Errorf("%s: %s = %v, want rapyer's %v", lib, k, h, want)
				}
			}
		}
	})
}

// TestPeersReadAndIncrement: every library's Get, GetMany and increment runs
// on the objects rapyer saved (Get and GetMany check the age they read),
// and three increments by any library leave age + 3 in every object.
func TestPeersReadAndIncrement(t *testing.T) {
	onServers(t, func(t *testing.T, url string) {
		pe := newPeerEnv(t, url)
		gets, incrs := getOps(t, pe, 2), incrOps(t, pe, 2)
		getManys := []op{getManyLib(t, pe.env, 5), getManyRaw(t, pe.env, 5), getManyGoRedis(t, pe, 5), getManyRueidis(t, pe, 5)}
		for i, lib := range peerLibs {
			for g := range 2 {
				run(t, lib, gets[i][g], 1)
				run(t, lib, incrs[i][g], 3)
			}
			run(t, lib, getManys[i], 1)
		}
		ages := map[string]int{}
		for _, h := range hashes(t, pe) {
			ages[h["age"]]++
		}
		// Get: 2 objects per library; Incr: 2 per library; GetMany: 5 per library.
		want := map[string]int{"36": 4*2 + 4*5, "39": 4 * 2}
		if !maps.Equal(ages, want) {
			t.Fatalf("objects by age: %v, want %v", ages, want)
		}
	})
}

// TestPeersReadErrors: a missing object and a damaged field are errors in
// every peer's Get (none reads zero values as data).
func TestPeersReadErrors(t *testing.T) {
	onServers(t, func(t *testing.T, url string) {
		pe := newPeerEnv(t, url)
		missing := pe.prefix + "missing"
		for name, f := range map[string]op{"redigo": getRedigo(pe, missing), "goredis": getGoRedis(t, pe, missing), "rueidis": getRueidis(t, pe, missing)} {
			if err := f(); !errors.Is(err, errNotFound) {
				t.Errorf("%s on a missing key: %v, want errNotFound", name, err)
			}
		}
		key := savedProfile(t, pe.env).Key()
		c := pe.pool.Get()
		_, err := c.Do("HSET", key, "score", "not a float")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]op{"redigo": getRedigo(pe, key), "goredis": getGoRedis(t, pe, key), "rueidis": getRueidis(t, pe, key)} {
			var ne *strconv.NumError
			if err := f(); !errors.As(err, &ne) || ne.Num != "not a float" {
				t.Errorf("%s on a damaged score: %v, want a parse error of it", name, err)
			}
		}
	})
}

// TestRunConcurrent: runConcurrent runs exactly count operations over its
// goroutines, and stops at an error, returning it.
func TestRunConcurrent(t *testing.T) {
	for _, g := range []int{1, 8, 64} {
		var calls atomic.Int64
		ops := make([]op, g)
		for i := range ops {
			ops[i] = func() error { calls.Add(1); return nil }
		}
		if _, err := runConcurrent(ops, 1000); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 1000 {
			t.Errorf("%d goroutines: %d calls, want 1000", g, calls.Load())
		}
	}
	boom := errors.New("boom")
	var calls atomic.Int64
	ops := make([]op, 4)
	for i := range ops {
		ops[i] = func() error {
			if calls.Add(1) == 10 {
				return boom
			}
			return nil
		}
	}
	if _, err := runConcurrent(ops, 1_000_000); !errors.Is(err, boom) {
		t.Fatalf("error: %v, want boom", err)
	}
	if n := calls.Load(); n >= 1_000_000 {
		t.Errorf("%d calls after the error, want the run stopped", n)
	}
}
