package rapyer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

func TestOpen(t *testing.T) {
	ctx := testkit.Ctx(t)
	for _, tc := range []struct {
		name, url, mention string
	}{
		{"memory hint", "memory://", "embedded.Open"},
		{"bad scheme", "http://127.0.0.1:1", "http"},
		{"bad url", "redis://[::1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rapyer.Open(ctx, tc.url)
			wantErr(t, err, rapyer.ErrInvalid, tc.mention)
		})
	}
	srv, err := embedded.Start()
	must(t, err)
	defer srv.Close()
	_, err = rapyer.Open(ctx, srv.URL(), rapyer.WithPrefix("a{b"))
	wantErr(t, err, rapyer.ErrInvalid, "a{b")

	s, err := rapyer.Open(ctx, srv.URL(), rapyer.WithPrefix("app:"), rapyer.WithPoolSize(4, 2))
	must(t, err)
	must(t, s.Ping(ctx))
	u := users.New(s)
	fill(u)
	must(t, u.Save(ctx))
	if !strings.HasPrefix(u.Key(), "app:{user:0}:o:") {
		t.Fatalf("key %q", u.Key())
	}
	must(t, s.Close())
	must(t, s.Close())
	wantErr(t, s.Ping(ctx), rapyer.ErrClosed)
	_, err = users.Get(ctx, s, u.ID())
	wantErr(t, err, rapyer.ErrClosed)

	// Open fails fast on a server that is not there.
	_, err = rapyer.Open(ctx, "redis://127.0.0.1:1", rapyer.WithDialTimeout(time.Second))
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
}

func TestEmbeddedOpenClosesServer(t *testing.T) {
	ctx := testkit.Ctx(t)
	s, err := embedded.Open(ctx)
	must(t, err)
	must(t, s.Ping(ctx))
	must(t, s.Close())
	wantErr(t, s.Ping(ctx), rapyer.ErrClosed)
}

func TestDefinePanics(t *testing.T) {
	type one struct {
		rapyer.Model
		A, B types.Int
		N    address
	}
	for _, tc := range []struct {
		name    string
		mention string
		define  func()
	}{
		{"empty model name", `""`, func() {
			rapyer.Define("", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("a")} })
		}},
		{"model name with brace", `"us{er"`, func() {
			rapyer.Define("us{er", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("a")} })
		}},
		{"empty field name", `""`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("")} })
		}},
		{"field name with colon", `"a:b"`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("a:b")} })
		}},
		{"reserved underscore", `"_v"`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("_v")} })
		}},
		{"duplicate name", `"a"`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("a"), o.B.Named("a")} })
		}},
		{"duplicate nested name", `"n.city"`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields {
				return rapyer.Fields{rapyer.Nested("n", o.N.City.Named("city"), o.N.Zip.Named("city"))}
			})
		}},
		{"handle twice", `"b"`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("a"), o.A.Named("b")} })
		}},
		{"bad nested name", `"x.y"`, func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{rapyer.Nested("x.y", o.A.Named("a"))} })
		}},
		{"nil field", "nil field", func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{nil} })
		}},
		{"zero shards", "WithShards(0)", func() {
			rapyer.Define("m", func(o *one) rapyer.Fields { return rapyer.Fields{o.A.Named("a")} }, rapyer.WithShards(0))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("Define did not panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, tc.mention) {
					t.Fatalf("panic %q does not mention %q", msg, tc.mention)
				}
			}()
			tc.define()
		})
	}
}

func TestSaveGetRoundTrip(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := users.New(b.Store)
		fill(u)
		rt, cmds := b.Count(func() { must(t, u.Save(ctx)) })
		if rt != 1 {
			t.Fatalf("Save: %d round trips (%v)", rt, cmds)
		}
		if u.Version() != 1 {
			t.Fatalf("version after first save %d", u.Version())
		}
		var got *user
		rt, cmds = b.Count(func() {
			var err error
			got, err = users.Get(ctx, b.Store, u.ID())
			must(t, err)
		})
		if rt != 1 {
			t.Fatalf("Get: %d round trips (%v)", rt, cmds)
		}
		if got.Name.Get() != "Ada" || got.Age.Get() != 36 || got.Score.Get() != 1.5 || !got.Active.Get() ||
			!got.Seen.Get().Equal(seen0) || !bytes.Equal(got.Blob.Get(), []byte{0, 1, 0xff}) ||
			got.Meta.Get().Level != 2 || got.Meta.Get().Tags[0] != "a" ||
			got.Home.City.Get() != "Paris" || got.Home.Zip.Get() != "75001" || got.Version() != 1 {
			t.Fatalf("Get returned %+v", got)
		}
		// Nested fields are flattened with dotted names.
		if v, ok := b.HGet(t, u.Key(), "home.city"); !ok || v != "Paris" {
			t.Fatalf("home.city stored as %q %v", v, ok)
		}
		if got.Seen.Get().Location() != time.UTC {
			t.Fatal("time did not load as UTC")
		}

		// Absent is not zero: a cleared field is removed and loads absent.
		got.Age.Clear()
		got.Name.Set("")
		must(t, got.Save(ctx))
		if _, ok := b.HGet(t, u.Key(), "age"); ok {
			t.Fatal("cleared field still stored")
		}
		if v, ok := b.HGet(t, u.Key(), "name"); !ok || v != "" {
			t.Fatal("empty string not stored as present")
		}
		must(t, u.Reload(ctx))
		if u.Age.Present() || !u.Name.Present() || u.Name.Get() != "" || u.Version() != 2 {
			t.Fatalf("after reload: age present %v, name %q present %v, version %d", u.Age.Present(), u.Name.Get(), u.Name.Present(), u.Version())
		}
	})
}

func TestGetMissingAndBadIDs(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		_, err := users.Get(ctx, b.Store, "nobody")
		wantErr(t, err, rapyer.ErrNotFound, "user", "nobody")
		for _, id := range []string{"", strings.Repeat("x", rapyer.MaxIDLen+1)} {
			rt, _ := b.Count(func() {
				_, err = users.Get(ctx, b.Store, id)
				wantErr(t, err, rapyer.ErrInvalid, "id")
				_, err = users.NewWithID(b.Store, id)
				wantErr(t, err, rapyer.ErrInvalid, "id")
				_, err = users.Delete(ctx, b.Store, id)
				wantErr(t, err, rapyer.ErrInvalid)
				_, err = users.Exists(ctx, b.Store, id)
				wantErr(t, err, rapyer.ErrInvalid)
			})
			if rt != 0 {
				t.Fatalf("bad id sent %d round trips", rt)
			}
		}
	})
}

func TestWeirdIDs(t *testing.T) {
	ids := []string{"{", "}", "{}", "a:b", "x}:o:y", "{user:0}", "with space", "日本語", "a\x00b", "user:{user:1}", strings.Repeat("é", 256)}
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, sc := range []*rapyer.Schema[user, *user]{users, usersSharded} {
			for i, id := range ids {
				u, err := sc.NewWithID(b.Store, id)
				must(t, err)
				fill(u)
				u.Age.Set(int64(i))
				must(t, u.Save(ctx))
				tag := u.Key()[strings.Index(u.Key(), "{")+1 : strings.Index(u.Key(), "}")]
				if !strings.HasPrefix(tag, sc.Name()+":") {
					t.Fatalf("id %q moved the hash tag: key %q", id, u.Key())
				}
			}
			for i, id := range ids {
				got, err := sc.Get(ctx, b.Store, id)
				must(t, err)
				if got.ID() != id || got.Age.Get() != int64(i) {
					t.Fatalf("id %q loaded id %q age %d", id, got.ID(), got.Age.Get())
				}
			}
		}
	})
}

func TestGeneratedIDs(t *testing.T) {
	st, err := rapyer.NewStore(&redis.Pool{Dial: func() (redis.Conn, error) { return nil, errors.New("no I/O") }})
	must(t, err)
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := users.New(st).ID()
		if seen[id] || id <= prev {
			t.Fatalf("id %q after %q: not unique or not time-ordered", id, prev)
		}
		seen[id] = true
		prev = id
	}
}

func TestInsert(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := users.New(b.Store)
		fill(u)
		rt, _ := b.Count(func() { must(t, u.Insert(ctx)) })
		if rt != 1 {
			t.Fatalf("Insert: %d round trips", rt)
		}
		again, err := users.NewWithID(b.Store, u.ID())
		must(t, err)
		again.Name.Set("Eve")
		rt, _ = b.Count(func() { wantErr(t, again.Insert(ctx), rapyer.ErrExists, u.ID()) })
		if rt != 1 {
			t.Fatalf("failed Insert: %d round trips", rt)
		}
		if v, _ := b.HGet(t, u.Key(), "name"); v != "Ada" {
			t.Fatalf("failed Insert wrote name %q", v)
		}
		got, err := users.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Home.City.Get() != "Paris" || got.Version() != 1 {
			t.Fatal("insert did not store all fields")
		}
	})
}

func TestUpdateSelectedFields(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		// Another writer changes age on the server.
		b.Do(t, "HSET", u.Key(), "age", "99")
		u.Name.Set("Grace")
		u.Home.City.Set("Rome")
		u.Score.Clear()
		rt, _ := b.Count(func() { must(t, u.Update(ctx, &u.Name, &u.Home.City, &u.Score)) })
		if rt != 1 {
			t.Fatalf("Update: %d round trips", rt)
		}
		if v, _ := b.HGet(t, u.Key(), "age"); v != "99" {
			t.Fatalf("Update touched age: %q", v)
		}
		if v, _ := b.HGet(t, u.Key(), "home.city"); v != "Rome" {
			t.Fatalf("home.city = %q", v)
		}
		if _, ok := b.HGet(t, u.Key(), "score"); ok {
			t.Fatal("cleared score still stored")
		}
		if u.Version() != 2 {
			t.Fatalf("version %d", u.Version())
		}
		// One field alone.
		u.Home.Zip.Set("00100")
		rt, _ = b.Count(func() { must(t, u.Home.Zip.Save(ctx)) })
		if v, _ := b.HGet(t, u.Key(), "home.zip"); v != "00100" || rt != 1 {
			t.Fatalf("field Save: zip %q in %d round trips", v, rt)
		}

		// A field of another object is refused before any I/O.
		other := users.New(b.Store)
		rt, _ = b.Count(func() { wantErr(t, u.Update(ctx, &other.Name), rapyer.ErrInvalid, "name") })
		if rt != 0 {
			t.Fatal("foreign field sent a command")
		}

		// Update of a missing object writes nothing.
		ghost := users.New(b.Store)
		ghost.Name.Set("x")
		wantErr(t, ghost.Update(ctx, &ghost.Name), rapyer.ErrNotFound)
		wantErr(t, ghost.Name.Save(ctx), rapyer.ErrNotFound, "name")
		if n, _ := redis.Int(b.Do(t, "EXISTS", ghost.Key())); n != 0 {
			t.Fatal("Update created a half object")
		}
	})
}

func TestDeleteExistsDuplicate(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersTTL, b.Store)
		var dup *user
		rt, _ := b.Count(func() {
			var err error
			dup, err = usersTTL.Duplicate(ctx, u)
			must(t, err)
		})
		if rt != 1 || dup.ID() == u.ID() {
			t.Fatalf("Duplicate: %d round trips, id %q", rt, dup.ID())
		}
		got, err := usersTTL.Get(ctx, b.Store, dup.ID())
		must(t, err)
		if got.Name.Get() != "Ada" || got.Meta.Get().Level != 2 || got.Home.City.Get() != "Paris" || !got.Seen.Get().Equal(seen0) {
			t.Fatal("duplicate lost values")
		}
		if ttl := b.PTTL(t, dup.Key()); ttl < 3500_000 {
			t.Fatalf("duplicate PTTL %d", ttl)
		}

		var ok bool
		rt, _ = b.Count(func() { ok, err = u.Exists(ctx) })
		must(t, err)
		if !ok || rt != 1 {
			t.Fatalf("Exists %v in %d", ok, rt)
		}
		rt, _ = b.Count(func() { ok, err = u.Delete(ctx) })
		must(t, err)
		if !ok || rt != 1 {
			t.Fatalf("Delete %v in %d", ok, rt)
		}
		ok, err = u.Delete(ctx)
		must(t, err)
		if ok {
			t.Fatal("second Delete reported existing")
		}
		ok, err = usersTTL.Exists(ctx, b.Store, u.ID())
		must(t, err)
		if ok {
			t.Fatal("deleted object exists")
		}
		ok, err = usersTTL.Delete(ctx, b.Store, dup.ID())
		must(t, err)
		if !ok {
			t.Fatal("Schema.Delete of duplicate reported missing")
		}
		_, err = usersTTL.Get(ctx, b.Store, dup.ID())
		wantErr(t, err, rapyer.ErrNotFound)
	})
}

func TestReloadAndFieldLoad(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		b.Do(t, "HSET", u.Key(), "name", "Lin", "age", "7")
		b.Do(t, "HDEL", u.Key(), "score")
		rt, _ := b.Count(func() { must(t, u.Reload(ctx)) })
		if rt != 1 || u.Name.Get() != "Lin" || u.Age.Get() != 7 || u.Score.Present() {
			t.Fatalf("Reload in %d: %q %d %v", rt, u.Name.Get(), u.Age.Get(), u.Score.Present())
		}
		b.Do(t, "HSET", u.Key(), "age", "8")
		var n int64
		rt, _ = b.Count(func() {
			var err error
			n, err = u.Age.Load(ctx)
			must(t, err)
		})
		if rt != 1 || n != 8 || u.Age.Get() != 8 {
			t.Fatalf("Load in %d: %d", rt, n)
		}
		b.Do(t, "HDEL", u.Key(), "age")
		n, err := u.Age.Load(ctx)
		must(t, err)
		if n != 0 || u.Age.Present() {
			t.Fatal("absent field did not load as absent")
		}
		_, err = users.New(b.Store).Age.Load(ctx)
		wantErr(t, err, rapyer.ErrNotFound, "age")

		// An unbound handle says so instead of panicking.
		var lone user
		_, err = lone.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrUnbound)
		wantErr(t, lone.Save(ctx), rapyer.ErrUnbound)
	})
}

func TestCorruptDataAndTolerantLoad(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		b.Do(t, "HSET", u.Key(), "age", "not-a-number", "meta", "\xc1\xc1", "home.city", "Oslo")
		_, err := users.Get(ctx, b.Store, u.ID())
		wantErr(t, err, rapyer.ErrDecode, "user", u.ID(), "age")
		var de *rapyer.Error
		if !errors.As(err, &de) || de.Field != "age" || de.ID != u.ID() || de.Model != "user" {
			t.Fatalf("error detail %+v", de)
		}
		// A failed strict Reload leaves local values as they were.
		wantErr(t, u.Reload(ctx), rapyer.ErrDecode)
		if u.Home.City.Get() != "Paris" || u.Age.Get() != 36 {
			t.Fatal("failed Reload changed local values")
		}
		got, err := users.Get(ctx, b.Store, u.ID(), rapyer.Tolerant())
		must(t, err)
		if got.Age.Present() || got.Meta.Present() || got.Home.City.Get() != "Oslo" || got.Name.Get() != "Ada" {
			t.Fatal("tolerant load did not skip only the bad fields")
		}
		errs := got.LoadErrors()
		if len(errs) != 2 {
			t.Fatalf("LoadErrors = %v", errs)
		}
		for _, e := range errs {
			wantErr(t, e, rapyer.ErrDecode, u.ID())
		}
		// A corrupt value never panics a field op either.
		_, err = got.Age.Incr(ctx, 1)
		wantErr(t, err, rapyer.ErrDecode, "age")
		if v, _ := b.HGet(t, u.Key(), "age"); v != "not-a-number" {
			t.Fatal("failed Incr wrote")
		}
		// A wrong Redis type is reported, not panicked on.
		b.Do(t, "DEL", u.Key())
		b.Do(t, "SET", u.Key(), "x")
		_, err = users.Get(ctx, b.Store, u.ID())
		wantErr(t, err, rapyer.ErrWrongType)
	})
}

func TestEncodeErrorsSendNothing(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := users.New(b.Store)
		fill(u)
		u.Seen.Set(time.Time{})
		rt, _ := b.Count(func() {
			wantErr(t, u.Save(ctx), rapyer.ErrInvalid, "seen")
			wantErr(t, u.Insert(ctx), rapyer.ErrInvalid, "seen")
			wantErr(t, u.Update(ctx, &u.Seen), rapyer.ErrInvalid, "seen")
		})
		if rt != 0 {
			t.Fatalf("%d round trips for values that do not encode", rt)
		}
		if ok, _ := u.Exists(ctx); ok {
			t.Fatal("something was written")
		}
	})
}

func TestContext(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		u := saved(t, testkit.Ctx(t), users, b.Store)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rt, _ := b.Count(func() {
			_, err := u.Age.Incr(ctx, 1)
			wantErr(t, err, context.Canceled)
			wantErr(t, u.Save(ctx), context.Canceled)
		})
		if rt != 0 {
			t.Fatalf("a cancelled context sent %d round trips", rt)
		}
		ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := users.Get(ctx, b.Store, u.ID())
		wantErr(t, err, context.DeadlineExceeded)
	})

	// Waiting for a pooled connection honours the context.
	srv, err := embedded.Start()
	must(t, err)
	defer srv.Close()
	pool := &redis.Pool{MaxActive: 1, Wait: true, Dial: func() (redis.Conn, error) { return redis.DialURL(srv.URL()) }}
	defer pool.Close()
	st, err := rapyer.NewStore(pool)
	must(t, err)
	held := pool.Get()
	defer held.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = users.Get(ctx, st, "x")
	wantErr(t, err, context.DeadlineExceeded)
	if time.Since(start) > 2*time.Second {
		t.Fatal("pool wait ignored the deadline")
	}
}

func TestScriptFlush(t *testing.T) {
	testkit.RunPrivate(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		steps := []func() error{
			func() error { _, err := u.Age.Incr(ctx, 1); return err },
			func() error { _, err := u.Score.Mul(ctx, 2); return err },
			func() error { _, err := u.Name.Append(ctx, "!"); return err },
			func() error { return u.Update(ctx, &u.Name) },
			func() error { d := users.New(b.Store); fill(d); return d.Insert(ctx) },
		}
		for i, step := range steps {
			if _, err := b.Do(t, "SCRIPT", "FLUSH"); err != nil {
				t.Fatal(err)
			}
			if err := step(); err != nil {
				t.Fatalf("step %d after SCRIPT FLUSH: %v", i, err)
			}
		}
		got, err := users.Get(ctx, b.Store, u.ID())
		must(t, err)
		if got.Age.Get() != 37 || got.Score.Get() != 3 || got.Name.Get() != "Ada!" {
			t.Fatalf("after flushes: %d %v %q", got.Age.Get(), got.Score.Get(), got.Name.Get())
		}
	})
}

// reusedFields is a schema function that hands back one buffer every time.
type reusedDoc struct {
	rapyer.Model
	A types.Str
	B types.Int
}

var reusedBuf rapyer.Fields

var reusedDocs = rapyer.Define("reused", func(d *reusedDoc) rapyer.Fields {
	reusedBuf = append(reusedBuf[:0], d.A.Named("a"), d.B.Named("b"))
	return reusedBuf
})

// TestSchemaFunctionReusingItsSlice: objects of a schema function that
// returns the same slice every time still each keep their own fields.
func TestSchemaFunctionReusingItsSlice(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		x, y := reusedDocs.New(b.Store), reusedDocs.New(b.Store)
		x.A.Set("x")
		x.B.Set(1)
		y.A.Set("y")
		y.B.Set(2)
		must(t, x.Save(ctx))
		must(t, y.Save(ctx))
		got, err := reusedDocs.GetMany(ctx, b.Store, []string{x.ID(), y.ID()})
		must(t, err)
		for i, want := range []struct {
			a string
			b int64
		}{{"x", 1}, {"y", 2}} {
			if got[i].A.Get() != want.a || got[i].B.Get() != want.b {
				t.Fatalf("object %d loaded as %q %d, want %q %d", i, got[i].A.Get(), got[i].B.Get(), want.a, want.b)
			}
		}
		if v, _ := b.HGet(t, x.Key(), "a"); v != "x" {
			t.Fatalf("x saved a=%q", v)
		}
	})
}
