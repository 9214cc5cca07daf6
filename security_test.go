package rapyer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// withUserinfo puts info (user:password, :password, ...) into a redis://
// or rediss:// URL of the test kit.
func withUserinfo(url, info string) string {
	scheme, rest, _ := strings.Cut(url, "://")
	return scheme + "://" + info + "@" + rest
}

// stepCtx is a short context for one step that must answer promptly.
func stepCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// workload runs every mechanism once on st (Save, Get, a field script, a
// container operation, Tx, Batch, bulk, Find, locks, Modify, Reindex,
// Sweep, DeleteWhere, Delete) and fails the test at the first error.
func workload(t *testing.T, st *rapyer.Store) {
	t.Helper()
	ctx := testkit.Ctx(t)
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	u := users.New(st)
	fill(u)
	step("Save", u.Save(ctx))
	got, err := users.Get(ctx, st, u.ID())
	step("Get", err)
	if v := got.Name.Get(); v != "Ada" {
		t.Fatalf("Get: name %q", v)
	}
	n, err := u.Age.Incr(ctx, 1)
	step("Int.Incr", err)
	if n != 37 {
		t.Fatalf("Incr: %d", n)
	}
	_, err = u.Tags.Append(ctx, "d")
	step("List.Append", err)
	step("Tx", st.Tx(ctx, func(q context.Context) error {
		_, _ = u.Age.Incr(q, 1)
		_, _ = u.Tags.Append(q, "e")
		return nil
	}))
	step("Batch", st.Batch(ctx, func(q context.Context) error {
		_, _ = u.Age.Incr(q, 1)
		return u.Save(q)
	}))
	more := []*user{users.New(st), users.New(st)}
	fill(more[0])
	fill(more[1])
	step("SaveMany", users.SaveMany(ctx, more))
	many, err := users.GetMany(ctx, st, []string{more[0].ID(), more[1].ID()})
	step("GetMany", err)
	if len(many) != 2 {
		t.Fatalf("GetMany: %d objects", len(many))
	}
	l, err := u.TryLock(ctx, "job")
	step("TryLock", err)
	step("Unlock", l.Unlock(ctx))
	step("WithLock", u.WithLock(ctx, "job", func(context.Context) error { return nil }))
	_, err = users.Modify(ctx, st, u.ID(), func(x *user) error { x.Age.Set(50); return nil })
	step("Modify", err)
	p := people.New(st)
	p.Name.Set("Ada")
	p.Email.Set("ada@example.com")
	p.Age.Set(36)
	step("Save (indexed)", p.Save(ctx))
	q := people.Fields()
	found, err := people.Find(ctx, st, q.Age.Gte(30))
	step("Find", err)
	if len(found) != 1 {
		t.Fatalf("Find: %d objects", len(found))
	}
	_, err = people.Reindex(ctx, st)
	step("Reindex", err)
	_, err = people.Sweep(ctx, st)
	step("Sweep", err)
	gone, err := people.DeleteWhere(ctx, st, q.Age.Gte(30))
	step("DeleteWhere", err)
	if gone != 1 {
		t.Fatalf("DeleteWhere: %d", gone)
	}
	_, err = users.Delete(ctx, st, u.ID())
	step("Delete", err)
}

// TestAuth: on a server with a password, Open without one and Open with a
// wrong one fail promptly with ErrAuth (never a reset connection, a hang
// or a panic); the password in the URL (":pw", "pw" and "user:pw") and in
// WithAuth works; no error, log or printed Store shows it.
func TestAuth(t *testing.T) {
	needRealRedis(t)
	const pw = "Zebra-Orbit-42"
	url := testkit.StartRedis(t, "--requirepass", pw)
	admin := openAs(t, withUserinfo(url, ":"+pw))
	mustDo(t, admin, "ACL", "SETUSER", "app", "on", ">AppPass-77", "~*", "+@all")

	refused := []struct {
		name string
		url  string
		opts []rapyer.Option
		want string
	}{
		{"no password", url, nil, "NOAUTH"},
		{"wrong password", withUserinfo(url, ":Wrong-"+pw), nil, "WRONGPASS"},
		{"wrong user", withUserinfo(url, "nobody:"+pw), nil, "WRONGPASS"},
		{"wrong WithAuth", url, []rapyer.Option{rapyer.WithAuth("app", "Wrong-"+pw)}, "WRONGPASS"},
		{"WithAuth overrides the URL", withUserinfo(url, ":"+pw), []rapyer.Option{rapyer.WithAuth("", "Wrong-"+pw)}, "WRONGPASS"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			outs, err := openNoLeak(t, tt.url, tt.opts...)
			if time.Since(start) > 2*time.Second {
				t.Errorf("Open took %v", time.Since(start))
			}
			wantErr(t, err, rapyer.ErrAuth, tt.want)
			noLeak(t, pw, outs...)
		})
	}
	accepted := []struct {
		name string
		url  string
		opts []rapyer.Option
	}{
		{"URL :password", withUserinfo(url, ":"+pw), nil},
		{"URL password alone", withUserinfo(url, pw), nil},
		{"URL default:password", withUserinfo(url, "default:"+pw), nil},
		{"URL user:password", withUserinfo(url, "app:AppPass-77"), nil},
		{"WithAuth default user", url, []rapyer.Option{rapyer.WithAuth("", pw)}},
		{"WithAuth user", url, []rapyer.Option{rapyer.WithAuth("app", "AppPass-77")}},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			st, err := rapyer.Open(stepCtx(t, 5*time.Second), tt.url, append(tt.opts, rapyer.WithPrefix("auth:"))...)
			must(t, err)
			defer st.Close()
			u := saved(t, testkit.Ctx(t), users, st)
			_, err = users.Get(testkit.Ctx(t), st, u.ID())
			must(t, err)
			noLeak(t, pw, fmt.Sprint(st), fmt.Sprintf("%+v %#v", st, st))
			noLeak(t, "AppPass-77", fmt.Sprint(st), fmt.Sprintf("%+v %#v", st, st))
		})
	}
}

// openAs is a raw connection for the test's own commands.
func openAs(t *testing.T, url string, opts ...redis.DialOption) redis.Conn {
	t.Helper()
	c, err := redis.DialURL(url, opts...)
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustDo(t *testing.T, c redis.Conn, cmd string, args ...any) any {
	t.Helper()
	r, err := c.Do(cmd, args...)
	must(t, err)
	return r
}
