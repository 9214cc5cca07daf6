package rapyer_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

// pg is the paging tests' model: an indexed age over 4 shards (pages merge
// the shards), and a name without an index.
type pg struct {
	rapyer.Model
	Name types.Str
	Age  types.Int
}

func pgFields(p *pg) rapyer.Fields {
	return rapyer.Fields{p.Name.Named("name"), p.Age.Named("age").Index()}
}

var (
	pgs   = rapyer.Define("pg", pgFields, rapyer.WithShards(4))
	pgOne = rapyer.Define("pgone", pgFields)
)

// pgSave saves objects with ids "<prefix>NN" and the given ages.
func pgSave(t *testing.T, b *testkit.Backend, prefix string, ages ...int64) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for i, a := range ages {
		o, err := pgs.NewWithID(b.Store, fmt.Sprintf("%s%02d", prefix, i))
		if err != nil {
			t.Fatal(err)
		}
		o.Name.Set(fmt.Sprint(a))
		o.Age.Set(a)
		if err := o.Save(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// pgIDs lists the ids of objs as "id/age".
func pgIDs(objs []*pg) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = fmt.Sprintf("%s/%d", o.ID(), o.Age.Get())
	}
	return out
}

// pgAll pages through every match of q, 2 round trips per page, and returns
// the objects and the number of pages.
func pgAll(t *testing.T, b *testkit.Backend, opts ...rapyer.QueryOption) ([]string, int) {
	t.Helper()
	ctx := testkit.Ctx(t)
	var all []string
	cursor, pages := "", 0
	for {
		var objs []*pg
		var next string
		var err error
		rts, cmds := b.Count(func() {
			objs, next, err = pgs.Page(ctx, b.Store, rapyer.All(), append(opts, rapyer.After(cursor))...)
		})
		if err != nil {
			t.Fatal(err)
		}
		if rts != 2 {
			t.Fatalf("page %d: %d round trips (%v), want 2", pages, rts, cmds)
		}
		pages++
		all = append(all, pgIDs(objs)...)
		if next == "" {
			return all, pages
		}
		if pages > 100 {
			t.Fatal("more than 100 pages: the cursor does not advance")
		}
		cursor = next
	}
}

func TestPageCursor(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		q := pgs.Fields()
		// Ages with ties, so the order falls back to ids.
		pgSave(t, b, "a", 5, 3, 9, 3, 1, 7, 5, 5, 2, 8)
		want := []string{"a04/1", "a08/2", "a01/3", "a03/3", "a00/5", "a06/5", "a07/5", "a05/7", "a09/8", "a02/9"}

		t.Run("ascending", func(t *testing.T) {
			got, pages := pgAll(t, b, rapyer.Asc(&q.Age), rapyer.PageSize(3))
			if !slices.Equal(got, want) || pages != 4 {
				t.Fatalf("pages (%d) = %v, want 4: %v", pages, got, want)
			}
		})
		t.Run("descending", func(t *testing.T) {
			got, _ := pgAll(t, b, rapyer.Desc(&q.Age), rapyer.PageSize(4))
			rev := slices.Clone(want)
			slices.Reverse(rev)
			if !slices.Equal(got, rev) {
				t.Fatalf("pages = %v, want %v", got, rev)
			}
		})
		t.Run("by id", func(t *testing.T) {
			got, _ := pgAll(t, b, rapyer.PageSize(7))
			byID := slices.Clone(want)
			slices.Sort(byID)
			if !slices.Equal(got, byID) {
				t.Fatalf("pages = %v, want %v", got, byID)
			}
		})
		t.Run("exact last page", func(t *testing.T) {
			// 10 objects in pages of 5: the second page says no more.
			got, pages := pgAll(t, b, rapyer.Asc(&q.Age), rapyer.PageSize(5))
			if !slices.Equal(got, want) || pages != 2 {
				t.Fatalf("pages (%d) = %v, want 2: %v", pages, got, want)
			}
		})

		t.Run("an earlier cursor after inserts and deletes", func(t *testing.T) {
			first, next, err := pgs.Page(ctx, b.Store, rapyer.All(), rapyer.Asc(&q.Age), rapyer.PageSize(4))
			if err != nil {
				t.Fatal(err)
			}
			if got := pgIDs(first); !slices.Equal(got, want[:4]) || next == "" {
				t.Fatalf("first page %v, next %q; want %v and a cursor", got, next, want[:4])
			}
			// The cursor marks a03/3. Inserted before it (age 0, and a
			// tie at 3 with a smaller id, a000) or after it (a tie with a
			// larger id, b01, and greater ages); deleted after it; and the
			// object it marks deleted too.
			pgSave(t, b, "b", 0, 3, 4, 10)
			pgSave(t, b, "a0", 3)
			for _, id := range []string{"a03", "a06", "a09"} {
				if _, err := pgs.Delete(ctx, b.Store, id); err != nil {
					t.Fatal(err)
				}
			}
			rest, next, err := pgs.Page(ctx, b.Store, rapyer.All(), rapyer.Asc(&q.Age), rapyer.PageSize(100), rapyer.After(next))
			if err != nil {
				t.Fatal(err)
			}
			wantRest := []string{"b01/3", "b02/4", "a00/5", "a07/5", "a05/7", "a02/9", "b03/10"}
			if got := pgIDs(rest); !slices.Equal(got, wantRest) || next != "" {
				t.Fatalf("after the cursor: %v, next %q; want %v and none", got, next, wantRest)
			}
			// Iter resumes from the same kind of cursor.
			_, c2, err := pgs.Page(ctx, b.Store, rapyer.All(), rapyer.Asc(&q.Age), rapyer.PageSize(6))
			if err != nil {
				t.Fatal(err)
			}
			var it []*pg
			for o, err := range pgs.Iter(ctx, b.Store, rapyer.All(), rapyer.Asc(&q.Age), rapyer.PageSize(2), rapyer.After(c2)) {
				if err != nil {
					t.Fatal(err)
				}
				it = append(it, o)
			}
			if got := pgIDs(it); !slices.Equal(got, wantRest[1:]) {
				t.Fatalf("Iter after the 6th: %v, want %v", got, wantRest[1:])
			}
		})

		t.Run("first page, Limit, After empty", func(t *testing.T) {
			objs, next, err := pgs.Page(ctx, b.Store, q.Age.Gte(9), rapyer.After(""), rapyer.Limit(1), rapyer.PageSize(50))
			if err != nil {
				t.Fatal(err)
			}
			if got := pgIDs(objs); !slices.Equal(got, []string{"a02/9"}) || next == "" {
				t.Fatalf("Gte(9), Limit(1): %v, next %q; want [a02/9] and a cursor", got, next)
			}
		})
	})
}

func TestPageBadCursor(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		q := pgs.Fields()
		pgSave(t, b, "a", 1, 2, 3)
		_, asc, err := pgs.Page(ctx, b.Store, rapyer.All(), rapyer.Asc(&q.Age), rapyer.PageSize(1))
		if err != nil || asc == "" {
			t.Fatalf("Page: %q, %v", asc, err)
		}
		_, byID, err := pgs.Page(ctx, b.Store, rapyer.All(), rapyer.PageSize(1))
		if err != nil || byID == "" {
			t.Fatalf("Page by id: %q, %v", byID, err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(asc)
		if err != nil {
			t.Fatal(err)
		}
		enc := base64.RawURLEncoding.EncodeToString
		cases := []struct {
			name, cursor string
			opts         []rapyer.QueryOption
			pgone        bool
		}{
			{"not base64", "!!!", nil, false},
			{"padding", asc + "=", []rapyer.QueryOption{rapyer.Asc(&q.Age)}, false},
			{"another magic", enc(append([]byte("c9"), raw[2:]...)), []rapyer.QueryOption{rapyer.Asc(&q.Age)}, false},
			{"truncated", enc(raw[:len(raw)-len("a00")-1]), []rapyer.QueryOption{rapyer.Asc(&q.Age)}, false},
			{"a length past the end", enc(append([]byte("c1\xff\x01"), raw[2:]...)), []rapyer.QueryOption{rapyer.Asc(&q.Age)}, false},
			{"bad direction byte", enc(append(raw[:len(raw)-len("a00")-1:len(raw)-len("a00")-1], append([]byte{7}, "a00"...)...)), []rapyer.QueryOption{rapyer.Asc(&q.Age)}, false},
			{"ascending cursor, descending query", asc, []rapyer.QueryOption{rapyer.Desc(&q.Age)}, false},
			{"age cursor, query by id", asc, nil, false},
			{"id cursor, query by age", byID, []rapyer.QueryOption{rapyer.Asc(&q.Age)}, false},
			{"another model's cursor", asc, nil, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				opts := append(slices.Clone(tc.opts), rapyer.After(tc.cursor))
				var perr, ierr error
				rts, _ := b.Count(func() {
					if tc.pgone {
						qo := pgOne.Fields()
						_, _, perr = pgOne.Page(ctx, b.Store, rapyer.All(), rapyer.Asc(&qo.Age), rapyer.After(tc.cursor))
						for _, ierr = range pgOne.Iter(ctx, b.Store, rapyer.All(), rapyer.Asc(&qo.Age), rapyer.After(tc.cursor)) {
							break
						}
						return
					}
					_, _, perr = pgs.Page(ctx, b.Store, rapyer.All(), opts...)
					for _, ierr = range pgs.Iter(ctx, b.Store, rapyer.All(), opts...) {
						break
					}
				})
				for _, err := range []error{perr, ierr} {
					var e *rapyer.Error
					if !errors.Is(err, rapyer.ErrInvalid) || !errors.As(err, &e) || !strings.Contains(err.Error(), "After") {
						t.Fatalf("got %v, want ErrInvalid naming After", err)
					}
				}
				if rts != 0 {
					t.Fatalf("%d round trips for a bad cursor, want 0", rts)
				}
			})
		}
	})
}
