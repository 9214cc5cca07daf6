package rapyer_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// These server states (maxmemory reached, a read-only replica) exist only
// on a real Redis: the tests start their own redis-server when the suite
// runs against one (REDIS_URL set, as make test-redis and CI do).
func needRealRedis(t *testing.T) {
	t.Helper()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("needs a real redis-server (set REDIS_URL, or run make test-redis): the embedded server has no maxmemory and no replicas")
	}
}

// snapshot returns every key under prefix with its type and full content,
// to prove that a refused write changed nothing.
func keyDump(t *testing.T, c redis.Conn, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	keys, err := redis.Strings(c.Do("KEYS", prefix+"*"))
	must(t, err)
	for _, k := range keys {
		typ, err := redis.String(c.Do("TYPE", k))
		must(t, err)
		var v any
		switch typ {
		case "hash":
			v, err = c.Do("HGETALL", k)
		case "list":
			v, err = c.Do("LRANGE", k, 0, -1)
		case "set":
			var ms []string
			ms, err = redis.Strings(c.Do("SMEMBERS", k))
			sort.Strings(ms)
			v = ms
		case "zset":
			v, err = c.Do("ZRANGE", k, 0, -1, "WITHSCORES")
		default:
			v, err = c.Do("GET", k)
		}
		must(t, err)
		out[k] = fmt.Sprintf("%s %q", typ, v)
	}
	return out
}

// TestOutOfMemory: with maxmemory reached (noeviction), every read still
// works, queued in MULTI or not, and every write fails with ErrOutOfMemory
// and writes nothing; once memory is back, writes work again.
func TestOutOfMemory(t *testing.T) {
	needRealRedis(t)
	url := testkit.StartRedis(t, "--maxmemory-policy", "noeviction")
	ctx := testkit.Ctx(t)
	st, err := rapyer.Open(ctx, url, rapyer.WithPrefix("oom:"))
	must(t, err)
	defer st.Close()
	admin, err := redis.DialURL(url)
	must(t, err)
	defer admin.Close()

	u := users.New(st)
	fill(u)
	must(t, u.Save(ctx))
	ut := usersTTL.New(st)
	fill(ut)
	must(t, ut.Save(ctx))
	p := people.New(st)
	p.Name.Set("Ada")
	p.Email.Set("ada@example.com")
	p.Age.Set(36)
	must(t, p.Save(ctx))

	_, err = admin.Do("CONFIG", "SET", "maxmemory", "1")
	must(t, err)
	before := keyDump(t, admin, "oom:")

	// Reads.
	got, err := users.Get(ctx, st, u.ID())
	must(t, err)
	if got.Name.Get() != u.Name.Get() || !reflect.DeepEqual(got.Tags.Local(), u.Tags.Local()) {
		t.Fatalf("Get under OOM: %q %v", got.Name.Get(), got.Tags.Local())
	}
	gt, err := usersTTL.Get(ctx, st, ut.ID()) // HGETALL + PEXPIRE in MULTI
	must(t, err)
	if gt.Age.Get() != ut.Age.Get() {
		t.Fatal("Get with refresh under OOM")
	}
	many, err := users.GetMany(ctx, st, []string{u.ID(), u.ID()})
	must(t, err)
	if len(many) != 2 || many[1].Name.Get() != u.Name.Get() {
		t.Fatal("GetMany under OOM")
	}
	must(t, got.Reload(ctx))
	n, err := got.Tags.Len(ctx)
	must(t, err)
	if n != len(u.Tags.Local()) {
		t.Fatalf("List.Len under OOM: %d", n)
	}
	must(t, got.Prefs.Load(ctx))
	if _, err := got.Age.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := users.Exists(ctx, st, u.ID()); err != nil || !ok {
		t.Fatalf("Exists under OOM: %v %v", ok, err)
	}
	found, err := people.Find(ctx, st, people.Fields().Age.Gte(30))
	must(t, err)
	if len(found) != 1 || found[0].ID() != p.ID() {
		t.Fatalf("Find under OOM: %d", len(found))
	}

	// Writes: ErrOutOfMemory, nothing written.
	writes := []struct {
		name string
		run  func() error
	}{
		{"Save", func() error { got.Name.Set("changed"); return got.Save(ctx) }},
		{"Save indexed", func() error { p.Age.Set(37); return p.Save(ctx) }},
		{"Insert", func() error { x := users.New(st); fill(x); return x.Insert(ctx) }},
		{"Update", func() error { got.Name.Set("changed"); return got.Update(ctx, &got.Name) }},
		{"Int.Incr", func() error { _, err := got.Age.Incr(ctx, 1); return err }},
		{"List.Append", func() error { _, err := got.Tags.Append(ctx, "more"); return err }},
		{"Tx", func() error {
			return st.Tx(ctx, func(q context.Context) error {
				_, err := got.Age.Incr(q, 1)
				if err == nil {
					err = got.Save(q)
				}
				return err
			})
		}},
		{"SaveMany", func() error { return users.SaveMany(ctx, []*user{got}) }},
	}
	for _, w := range writes {
		err := w.run()
		wantErr(t, err, rapyer.ErrOutOfMemory)
		if after := keyDump(t, admin, "oom:"); !reflect.DeepEqual(after, before) {
			t.Fatalf("%s under OOM changed the data:\nbefore %v\nafter  %v", w.name, before, after)
		}
	}

	_, err = admin.Do("CONFIG", "SET", "maxmemory", "0")
	must(t, err)
	got.Name.Set("after")
	must(t, got.Save(ctx))
	if _, err := got.Age.Incr(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlyReplica: on a read-only replica, reads work and writes fail
// with ErrReadOnly, writing nothing.
func TestReadOnlyReplica(t *testing.T) {
	needRealRedis(t)
	primary := testkit.StartRedis(t)
	ctx := testkit.Ctx(t)
	pst, err := rapyer.Open(ctx, primary, rapyer.WithPrefix("ro:"))
	must(t, err)
	defer pst.Close()
	u := users.New(pst)
	fill(u)
	must(t, u.Save(ctx))

	var host, port string
	fmt.Sscanf(primary, "redis://127.0.0.1:%s", &port)
	port = port[:len(port)-2] // "/0"
	host = "127.0.0.1"
	replica := testkit.StartRedis(t, "--replicaof", host, port, "--replica-read-only", "yes")
	rc, err := redis.DialURL(replica)
	must(t, err)
	defer rc.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		n, _ := redis.Int(rc.Do("EXISTS", u.Key()))
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica never synced")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := rapyer.Open(ctx, replica, rapyer.WithPrefix("ro:"))
	must(t, err)
	defer st.Close()
	got, err := users.Get(ctx, st, u.ID())
	must(t, err)
	before := keyDump(t, rc, "ro:")
	got.Name.Set("changed")
	wantErr(t, got.Save(ctx), rapyer.ErrReadOnly)
	_, err = got.Age.Incr(ctx, 1)
	wantErr(t, err, rapyer.ErrReadOnly)
	wantErr(t, st.Tx(ctx, func(q context.Context) error { return got.Save(q) }), rapyer.ErrReadOnly)
	if after := keyDump(t, rc, "ro:"); !reflect.DeepEqual(after, before) {
		t.Fatal("a refused write changed the replica")
	}
}
