package rapyer_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// op is one operation of the TTL matrix. It runs on an existing, filled
// object; with creates, it returns the keys of the object it created
// (Insert, Duplicate), whose fresh TTL is checked instead.
type op struct {
	name    string
	run     func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) (created []string, err error)
	creates bool
	trips   int // round trips, when not 1
}

func ignore[T any](_ T, err error) ([]string, error)          { return nil, err }
func ignore2[A, B any](_ A, _ B, err error) ([]string, error) { return nil, err }

// matrix lists every object operation of the model and of every handle. A
// meta-test (TestMatrixIsComplete) fails when an operation exists that is
// neither here nor in exempt. Each container handle lists its operations in
// its own file (ttl_<kind>_test.go).
var matrix = concat(coreOps, bulkOps, modifyOps, queryOps, containerOps, listOps, mapOps, setOps, zsetOps, ergoOps)

func concat(lists ...[]op) []op {
	var out []op
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var coreOps = []op{
	{name: "Model.Save", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Save(ctx)
	}},
	{name: "Model.Insert", creates: true, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		n := s.New(st)
		fill(n)
		return n.Keys(), n.Insert(ctx)
	}},
	{name: "Model.Update", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Update(ctx, &u.Name)
	}},
	{name: "Model.Reload", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Reload(ctx)
	}},
	{name: "Model.Exists", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Exists(ctx))
	}},
	{name: "Schema.Get", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(s.Get(ctx, st, u.ID()))
	}},
	{name: "Schema.Exists", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(s.Exists(ctx, st, u.ID()))
	}},
	{name: "Schema.Duplicate", creates: true, run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		d, err := s.Duplicate(ctx, u)
		if err != nil {
			return nil, err
		}
		return d.Keys(), nil
	}},
	{name: "Scalar.Load", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Name.Load(ctx))
	}},
	{name: "Scalar.Save", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return nil, u.Home.City.Save(ctx)
	}},
	{name: "Int.Incr", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Incr(ctx, 1))
	}},
	{name: "Int.Decr", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Decr(ctx, 1))
	}},
	{name: "Int.Mul", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Mul(ctx, 2))
	}},
	{name: "Int.FloorDiv", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.FloorDiv(ctx, 2))
	}},
	{name: "Int.Mod", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Mod(ctx, 5))
	}},
	{name: "Int.Pow", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Pow(ctx, 2))
	}},
	{name: "Int.Max", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Max(ctx, 100))
	}},
	{name: "Int.Min", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.Min(ctx, 1))
	}},
	{name: "Int.SetIfAbsent", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Age.SetIfAbsent(ctx, 1))
	}},
	{name: "Int.CompareAndSwap", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Age.CompareAndSwap(ctx, 36, 37))
	}},
	{name: "Float.Incr", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Score.Incr(ctx, 0.5))
	}},
	{name: "Float.Mul", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Score.Mul(ctx, 2))
	}},
	{name: "Float.Div", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Score.Div(ctx, 2))
	}},
	{name: "Float.FloorDiv", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Score.FloorDiv(ctx, 2))
	}},
	{name: "Float.Mod", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Score.Mod(ctx, 1))
	}},
	{name: "Float.Pow", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Score.Pow(ctx, 2))
	}},
	{name: "Str.Append", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Name.Append(ctx, "!"))
	}},
	{name: "Str.Repeat", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Name.Repeat(ctx, 2))
	}},
	{name: "Str.Len", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Name.Len(ctx))
	}},
	{name: "Str.SetIfAbsent", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore2(u.Name.SetIfAbsent(ctx, "x"))
	}},
	{name: "Str.CompareAndSwap", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Name.CompareAndSwap(ctx, "Ada", "Eve"))
	}},
	{name: "Bytes.Append", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Blob.Append(ctx, []byte{7}))
	}},
	{name: "Bytes.Len", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Blob.Len(ctx))
	}},
	{name: "Bool.Toggle", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Active.Toggle(ctx))
	}},
	{name: "Time.Add", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Seen.Add(ctx, time.Nanosecond))
	}},
	{name: "Time.Sub", run: func(ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store, u *user) ([]string, error) {
		return ignore(u.Seen.Sub(ctx, time.Hour))
	}},
}

// exempt lists the operations that manage the TTL or remove the object, so
// "refresh" does not apply; each has its own test (TestTTLCalls). Other
// files add theirs (lockExempt).
var exempt = merge(coreExempt, lockExempt, queryExempt)

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var coreExempt = map[string]string{
	"Model.TTL":         "reads the TTL; must not change it",
	"Model.SetTTL":      "sets the TTL explicitly",
	"Model.Persist":     "removes the TTL explicitly",
	"Model.Delete":      "removes the object",
	"Schema.Delete":     "removes the object",
	"Schema.DeleteMany": "removes the objects",
	"Schema.Sweep":      "model-wide index upkeep, not an object operation (maint_test.go)",
	"Schema.Reindex":    "model-wide index upkeep, not an object operation (maint_test.go)",
	"Store.Batch":       "runs the operations queued in it (TestBatchMatrix runs every matrix operation queued)",
	"Store.Tx":          "runs the operations queued in it (TestBatchMatrix runs every matrix operation queued)",
	"Store.Ping":        "not an object operation",
}

// TestTTLMatrix proves, for every operation, that it re-arms the TTL of the
// object inside its single round trip when refresh is on, leaves it alone
// when refresh is off, and sets none on a model without TTL. Operations that
// create an object set the TTL in both modes.
func TestTTLMatrix(t *testing.T) {
	const ttl = int64(time.Hour / time.Millisecond)
	const lowered = int64(100_000) // a TTL well below the model's
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		for _, o := range matrix {
			for _, mode := range []struct {
				name    string
				schema  *rapyer.Schema[user, *user]
				refresh bool
				hasTTL  bool
			}{
				{"refresh", usersTTL, true, true},
				{"norefresh", usersNoRefresh, false, true},
				{"nottl", users, true, false},
			} {
				t.Run(o.name+"/"+mode.name, func(t *testing.T) {
					u := saved(t, ctx, mode.schema, b.Store)
					if mode.hasTTL {
						if got := b.PTTL(t, u.Key()); got < ttl-60_000 {
							t.Fatalf("Save set PTTL %d, want about %d", got, ttl)
						}
						for _, k := range u.Keys() {
							b.Do(t, "PEXPIRE", k, lowered)
						}
					}
					var created []string
					rt, cmds := b.Count(func() {
						var err error
						created, err = o.run(ctx, mode.schema, b.Store, u)
						must(t, err)
					})
					if want := max(o.trips, 1); rt != want {
						t.Fatalf("%d round trips, want %d: %v", rt, want, cmds)
					}
					keys := u.Keys()
					if o.creates {
						keys = created
					}
					// Every key of the object that exists after the operation
					// (the hash always does) obeys the mode.
					for i, key := range keys {
						got := b.PTTL(t, key)
						if got == -2 && i > 0 {
							continue // an emptied container has no key
						}
						switch {
						case !mode.hasTTL:
							if got != -1 {
								t.Fatalf("model without TTL: PTTL of %s is %d", key, got)
							}
						case o.creates || mode.refresh:
							if got < ttl-60_000 {
								t.Fatalf("TTL of %s not (re)armed: PTTL %d", key, got)
							}
						default:
							if got > lowered || got < 0 {
								t.Fatalf("refresh off, yet PTTL of %s is %d (was %d)", key, got, lowered)
							}
						}
					}
				})
			}
		}
	})
}

func TestTTLCalls(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, usersTTL, b.Store)
		var d time.Duration
		rt, _ := b.Count(func() {
			var err error
			d, err = u.TTL(ctx)
			must(t, err)
		})
		if rt != 1 || d < 59*time.Minute || d > time.Hour {
			t.Fatalf("TTL %v in %d round trips", d, rt)
		}
		rt, _ = b.Count(func() { must(t, u.SetTTL(ctx, 5*time.Minute)) })
		if got := b.PTTL(t, u.Key()); rt != 1 || got > 300_000 || got < 290_000 {
			t.Fatalf("SetTTL: PTTL %d in %d round trips", got, rt)
		}
		rt, _ = b.Count(func() { must(t, u.Persist(ctx)) })
		if rt != 1 || b.PTTL(t, u.Key()) != -1 {
			t.Fatal("Persist did not remove the TTL")
		}
		d, err := u.TTL(ctx)
		must(t, err)
		if d != rapyer.NoExpiry {
			t.Fatalf("TTL of persistent object %v", d)
		}
		wantErr(t, u.SetTTL(ctx, 0), rapyer.ErrInvalid)

		// Expiry: the object is gone once its TTL runs out.
		must(t, u.SetTTL(ctx, 50*time.Millisecond))
		b.Elapse(150 * time.Millisecond)
		_, err = usersTTL.Get(ctx, b.Store, u.ID())
		wantErr(t, err, rapyer.ErrNotFound)
		_, err = u.TTL(ctx)
		wantErr(t, err, rapyer.ErrNotFound)
		wantErr(t, u.SetTTL(ctx, time.Minute), rapyer.ErrNotFound)
		wantErr(t, u.Persist(ctx), rapyer.ErrNotFound)
		if n, _ := redis.Int(b.Do(t, "EXISTS", u.Key())); n != 0 {
			t.Fatal("SetTTL/Persist on a missing object created it")
		}

		// Refresh off: Save of an existing object keeps its TTL, and the
		// first Save of a new object sets it.
		n := saved(t, ctx, usersNoRefresh, b.Store)
		if got := b.PTTL(t, n.Key()); got < 3500_000 {
			t.Fatalf("first save with refresh off set PTTL %d", got)
		}
		b.Do(t, "PEXPIRE", n.Key(), 100_000)
		must(t, n.Save(ctx))
		if got := b.PTTL(t, n.Key()); got > 100_000 {
			t.Fatalf("Save with refresh off re-armed the TTL: %d", got)
		}
	})
}

// TestMatrixIsComplete reads the source of the root and types packages (no
// reflection) and fails when an exported method taking a context is neither
// in the TTL matrix nor exempt, or when the matrix names an operation that
// does not exist.
func TestMatrixIsComplete(t *testing.T) {
	found := map[string]bool{}
	for _, dir := range []string{".", "types"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		must(t, err)
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			must(t, err)
			for _, d := range file.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || !fn.Name.IsExported() || fn.Type.Params.NumFields() == 0 {
					continue
				}
				sel, ok := fn.Type.Params.List[0].Type.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Context" {
					continue
				}
				recv := recvName(fn.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue // not an operation users call (modelRT: reached through the handles)
				}
				found[recv+"."+fn.Name.Name] = true
			}
		}
	}
	listed := map[string]bool{}
	for _, o := range matrix {
		listed[o.name] = true
		if !found[o.name] {
			t.Errorf("matrix lists %s, which does not exist", o.name)
		}
	}
	var missing []string
	for name := range found {
		if !listed[name] && exempt[name] == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("operation %s is not in the TTL matrix (ttl_test.go): add it, or exempt it with a reason", m)
	}
	if len(found) < 40 {
		t.Fatalf("found only %d operations; the parser missed some", len(found))
	}
}

func recvName(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.StarExpr:
		return recvName(v.X)
	case *ast.IndexExpr:
		return recvName(v.X)
	case *ast.IndexListExpr:
		return recvName(v.X)
	case *ast.Ident:
		return v.Name
	}
	return "?"
}
