package rapyer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// readmeACL returns the ACL SETUSER line of README.md as its words.
func readmeACL(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	must(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "ACL SETUSER ") {
			return strings.Fields(line)
		}
	}
	t.Fatal("README.md has no ACL SETUSER line")
	return nil
}

// aclUser creates user (password pw) on c from README's line, with
// prefix's keys and without the permissions in drop (each must be in the
// line).
func aclUser(t *testing.T, c redis.Conn, user, pw, prefix string, drop ...string) {
	t.Helper()
	words := readmeACL(t)
	args := []any{"SETUSER", user}
	for _, w := range words[3:] {
		switch {
		case strings.HasPrefix(w, ">"):
			w = ">" + pw
		case strings.HasPrefix(w, "~"):
			w = "~" + prefix + "*"
		case slices.Contains(drop, w):
			drop = slices.DeleteFunc(drop, func(d string) bool { return d == w })
			continue
		}
		args = append(args, w)
	}
	if len(drop) > 0 {
		t.Fatalf("README's ACL line lacks %v", drop)
	}
	mustDo(t, c, "ACL", args...)
}

// aclServer starts a private redis-server, returns its URL and an admin
// connection (the default user, no password).
func aclServer(t *testing.T) (string, redis.Conn) {
	t.Helper()
	needRealRedis(t)
	url := testkit.StartRedis(t)
	return url, openAs(t, url)
}

// TestACLListCoversCode: every Redis command named in rapyer's scripts and
// in its Go code is in README's ACL line.
func TestACLListCoversCode(t *testing.T) {
	_, admin := aclServer(t)
	allowed := map[string]bool{}
	for _, w := range readmeACL(t) {
		if strings.HasPrefix(w, "+") && !strings.HasPrefix(w, "+@") {
			allowed[strings.ToUpper(strings.TrimPrefix(w, "+"))] = true
		}
	}
	var files []string
	for _, g := range []string{"lua/*.lua", "*.go", "ops/*.go", "types/*.go", "index/*.go"} {
		m, err := filepath.Glob(g)
		must(t, err)
		files = append(files, m...)
	}
	luaLit := regexp.MustCompile(`'([A-Z][A-Z]+)'`)
	goLit := regexp.MustCompile(`Name: "([A-Z][A-Z]+)"`)
	sub := regexp.MustCompile(`"SCRIPT", Args: \[\]any\{"([A-Z]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		must(t, err)
		for _, m := range sub.FindAllStringSubmatch(string(src), -1) {
			if !allowed["SCRIPT|"+m[1]] {
				t.Errorf("%s sends SCRIPT %s, not in README's ACL line", f, m[1])
			}
		}
		lit := goLit
		if strings.HasSuffix(f, ".lua") {
			lit = luaLit
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			name := m[1]
			if allowed[name] || name == "SCRIPT" || name == "ACL" || name == "AUTH" {
				continue
			}
			info, err := redis.Values(admin.Do("COMMAND", "INFO", name))
			must(t, err)
			if len(info) == 1 && info[0] != nil {
				t.Errorf("%s names the command %s, not in README's ACL line", f, name)
			}
		}
	}
}

// TestACLLeastPrivilege: a user with exactly README's ACL line, confined to
// the keys of its prefix, runs every kind of operation (so none touches a
// key outside the prefix: the ACL would refuse it).
func TestACLLeastPrivilege(t *testing.T) {
	url, admin := aclServer(t)
	aclUser(t, admin, "app", "App-Pass-1", "app:")
	st, err := rapyer.Open(testkit.Ctx(t), withUserinfo(url, "app:App-Pass-1"), rapyer.WithPrefix("app:"))
	must(t, err)
	defer st.Close()
	workload(t, st)
	// The category form README mentions works too.
	mustDo(t, admin, "ACL", "SETUSER", "cats", "on", ">Cats-Pass-1", "~app:*", "+@read", "+@write", "+@scripting", "+@transaction", "+ping")
	cats, err := rapyer.Open(testkit.Ctx(t), withUserinfo(url, "cats:Cats-Pass-1"), rapyer.WithPrefix("app:"))
	must(t, err)
	defer cats.Close()
	workload(t, cats)
	log, err := redis.Values(admin.Do("ACL", "LOG"))
	must(t, err)
	if len(log) != 0 {
		t.Errorf("ACL LOG has %d refusals", len(log))
	}
}

// renameAndSave loads u's object on st, changes its name and saves it (a
// MULTI of DEL, HSET and one push per container).
func renameAndSave(ctx context.Context, st *rapyer.Store, u *user) error {
	x, err := users.Get(ctx, st, u.ID())
	if err != nil {
		return err
	}
	x.Name.Set("Bob")
	return x.Save(ctx)
}

// TestACLMissingPermission: a user missing one permission of README's line
// gets ErrNoPermission naming the command, and nothing is written. A user
// without SCRIPT LOAD, MULTI or EXEC is refused at Open.
func TestACLMissingPermission(t *testing.T) {
	url, admin := aclServer(t)
	aclUser(t, admin, "full", "Full-Pass-1", "app:")
	full, err := rapyer.Open(testkit.Ctx(t), withUserinfo(url, "full:Full-Pass-1"), rapyer.WithPrefix("app:"))
	must(t, err)
	defer full.Close()
	for _, perm := range []string{"+multi", "+exec", "+script|load"} {
		t.Run("Open without "+perm, func(t *testing.T) {
			user := "no" + strings.NewReplacer("+", "", "|", "").Replace(perm)
			aclUser(t, admin, user, "Pass-2", "app:", perm)
			_, err := rapyer.Open(testkit.Ctx(t), withUserinfo(url, user+":Pass-2"), rapyer.WithPrefix("app:"))
			wantErr(t, err, rapyer.ErrNoPermission, "'"+strings.TrimPrefix(perm, "+")+"'")
		})
	}
	tests := []struct {
		perm string
		op   func(ctx context.Context, st *rapyer.Store, u *user) error
	}{
		{"+hset", renameAndSave},
		{"+rpush", renameAndSave},
		{"+evalsha", func(ctx context.Context, st *rapyer.Store, u *user) error {
			x, err := users.Get(ctx, st, u.ID())
			if err != nil {
				return err
			}
			_, err = x.Age.Incr(ctx, 1)
			return err
		}},
		{"+hmget", func(ctx context.Context, st *rapyer.Store, u *user) error {
			x, err := users.Get(ctx, st, u.ID())
			if err != nil {
				return err
			}
			_, err = x.Tags.Append(ctx, "z")
			return err
		}},
		{"+watch", func(ctx context.Context, st *rapyer.Store, u *user) error {
			_, err := users.Modify(ctx, st, u.ID(), func(x *user) error { x.Age.Set(1); return nil })
			return err
		}},
		{"+set", func(ctx context.Context, st *rapyer.Store, u *user) error {
			x, err := users.Get(ctx, st, u.ID())
			if err != nil {
				return err
			}
			_, err = x.TryLock(ctx, "job")
			return err
		}},
		{"+scan", func(ctx context.Context, st *rapyer.Store, u *user) error {
			_, err := people.Reindex(ctx, st)
			return err
		}},
		{"+del", func(ctx context.Context, st *rapyer.Store, u *user) error {
			_, err := users.Delete(ctx, st, u.ID())
			return err
		}},
		{"+exec", func(ctx context.Context, st *rapyer.Store, u *user) error {
			// Refused after Open: a Tx reports it and writes nothing.
			x, err := users.Get(ctx, st, u.ID())
			if err != nil {
				return err
			}
			mustDo(t, admin, "ACL", "SETUSER", "noexec-late", "-exec")
			return st.Tx(ctx, func(q context.Context) error {
				_, _ = x.Age.Incr(q, 1)
				_, _ = x.Tags.Append(q, "z")
				return nil
			})
		}},
	}
	for _, tt := range tests {
		name := strings.TrimPrefix(tt.perm, "+")
		t.Run("without "+name, func(t *testing.T) {
			ctx := testkit.Ctx(t)
			user := "no" + name
			if tt.perm == "+exec" {
				user = "noexec-late"
				aclUser(t, admin, user, "Pass-3", "app:")
			} else {
				aclUser(t, admin, user, "Pass-3", "app:", tt.perm)
			}
			st, err := rapyer.Open(ctx, withUserinfo(url, user+":Pass-3"), rapyer.WithPrefix("app:"))
			must(t, err)
			defer st.Close()
			u := saved(t, ctx, users, full)
			before := keyDump(t, admin, "app:")
			err = tt.op(ctx, st, u)
			wantErr(t, err, rapyer.ErrNoPermission, "'"+name+"'")
			if after := keyDump(t, admin, "app:"); !reflect.DeepEqual(before, after) {
				t.Errorf("keys changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestUnwatchRefused: with UNWATCH refused, a Modify whose function fails
// must not leave its WATCH open on a pooled connection: the next write on
// that Store, after another client changed the watched object, succeeds.
func TestUnwatchRefused(t *testing.T) {
	url, admin := aclServer(t)
	aclUser(t, admin, "nounwatch", "Pass-4", "app:", "+unwatch")
	ctx := testkit.Ctx(t)
	st, err := rapyer.Open(ctx, withUserinfo(url, "nounwatch:Pass-4"), rapyer.WithPrefix("app:"), rapyer.WithPoolSize(1, 1))
	must(t, err)
	defer st.Close()
	other, err := rapyer.Open(ctx, url, rapyer.WithPrefix("app:"))
	must(t, err)
	defer other.Close()
	u := saved(t, ctx, users, st)
	boom := errors.New("boom")
	_, err = users.Modify(ctx, st, u.ID(), func(*user) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Modify: %v, want boom", err)
	}
	x, err := users.Get(ctx, other, u.ID())
	must(t, err)
	x.Age.Set(99)
	must(t, x.Save(ctx))
	v := users.New(st)
	fill(v)
	v.Age.Set(7)
	must(t, v.Save(ctx)) // a stale WATCH would make this EXEC abort
	got, err := users.Get(ctx, other, v.ID())
	must(t, err)
	if got.Age.Get() != 7 {
		t.Fatalf("age %d", got.Age.Get())
	}
}

// TestACLIndexedRefusedFirst: writes of an indexed model whose index
// command the ACL refuses (ZADD) fail with ErrNoPermission naming it and
// write nothing: Save, Insert and a field operation ask the ACL before
// their first write.
func TestACLIndexedRefusedFirst(t *testing.T) {
	ctx := testkit.Ctx(t)
	url, admin, full := aclFull(t)
	p := people.New(full)
	p.Name.Set("Ada")
	p.Email.Set("ada@example.com")
	p.Age.Set(36)
	must(t, p.Save(ctx))

	aclUser(t, admin, "nozadd", "Pass-4", "app:", "+zadd")
	st, err := rapyer.Open(ctx, withUserinfo(url, "nozadd:Pass-4"), rapyer.WithPrefix("app:"))
	must(t, err)
	defer st.Close()
	q, err := people.Get(ctx, st, p.ID())
	must(t, err)
	before := keyDump(t, admin, "app:")
	for _, w := range []struct {
		name string
		run  func() error
	}{
		{"Save", func() error { q.Age.Set(40); return q.Save(ctx) }},
		{"Insert", func() error { x := people.New(st); x.Email.Set("x@example.com"); return x.Insert(ctx) }},
		{"Int.Incr", func() error { _, err := q.Age.Incr(ctx, 1); return err }},
		{"Str.Append", func() error { _, err := q.Name.Append(ctx, "!"); return err }},
	} {
		wantErr(t, w.run(), rapyer.ErrNoPermission, "'zadd'")
		if after := keyDump(t, admin, "app:"); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s refused by the ACL changed the data", w.name)
		}
	}
}

// TestACLContainerRefusedFirst: a container write whose version bump the
// ACL refuses (HINCRBY) fails with ErrNoPermission naming it and leaves
// the container as it was (the script asks before its first write).
func TestACLContainerRefusedFirst(t *testing.T) {
	ctx := testkit.Ctx(t)
	url, admin, full := aclFull(t)
	u := saved(t, ctx, users, full)
	aclUser(t, admin, "nohincrby", "Pass-5", "app:", "+hincrby")
	st, err := rapyer.Open(ctx, withUserinfo(url, "nohincrby:Pass-5"), rapyer.WithPrefix("app:"))
	must(t, err)
	defer st.Close()
	x, err := users.Get(ctx, st, u.ID())
	must(t, err)
	before := keyDump(t, admin, "app:")
	_, err = x.Tags.Append(ctx, "z")
	wantErr(t, err, rapyer.ErrNoPermission, "'hincrby'")
	_, err = x.Roles.Add(ctx, "ops")
	wantErr(t, err, rapyer.ErrNoPermission, "'hincrby'")
	if after := keyDump(t, admin, "app:"); !reflect.DeepEqual(before, after) {
		t.Fatal("a container write refused by the ACL changed the data")
	}
}

// aclFull starts an ACL server with a user "full" holding README's ACL line
// and opens a Store as that user (prefix "app:").
func aclFull(t *testing.T) (string, redis.Conn, *rapyer.Store) {
	t.Helper()
	url, admin := aclServer(t)
	aclUser(t, admin, "full", "Full-Pass-1", "app:")
	full, err := rapyer.Open(testkit.Ctx(t), withUserinfo(url, "full:Full-Pass-1"), rapyer.WithPrefix("app:"))
	must(t, err)
	t.Cleanup(func() { _ = full.Close() })
	return url, admin, full
}
