package types_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/types"
)

// Article is the model the examples of this package use.
type Article struct {
	rapyer.Model
	Title     types.Str
	Views     types.Int
	Published types.Time
}

var Articles = rapyer.Define("article", func(a *Article) rapyer.Fields {
	return rapyer.Fields{a.Title.Named("title"), a.Views.Named("views"), a.Published.Named("published")}
})

// newArticle opens an embedded server and saves one article on it.
func newArticle(ctx context.Context, set func(a *Article)) (*Article, func()) {
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	a := Articles.New(st)
	set(a)
	if err := a.Save(ctx); err != nil {
		log.Fatal(err)
	}
	return a, func() { _ = st.Close() }
}

func ExampleInt_Incr() {
	ctx := context.Background()
	a, done := newArticle(ctx, func(a *Article) { a.Views.Set(1 << 53) })
	defer done()

	// Exact past 2^53, where a Lua double would round 9007199254740993 down.
	n, err := a.Views.Incr(ctx, 1) // one script, TTL re-armed inside it
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n)

	// A result outside int64 is an error, and nothing is written.
	_, err = a.Views.Incr(ctx, math.MaxInt64)
	fmt.Println(errors.Is(err, rapyer.ErrOverflow))
	fmt.Println(a.Views.Load(ctx))
	// Output:
	// 9007199254740993
	// true
	// 9007199254740993 <nil>
}

func ExampleTime_Add() {
	ctx := context.Background()
	paris := time.FixedZone("CEST", 2*60*60)
	a, done := newArticle(ctx, func(a *Article) {
		a.Published.Set(time.Date(2024, 5, 17, 11, 30, 0, 1, paris))
	})
	defer done()

	// Nanosecond-exact integer arithmetic on the server; the result is in UTC.
	t, err := a.Published.Add(ctx, 36*time.Hour+500*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Format(time.RFC3339Nano))
	t, _ = a.Published.Sub(ctx, 1)
	fmt.Println(t.Format(time.RFC3339Nano))
	// Output:
	// 2024-05-18T21:30:00.500000001Z
	// 2024-05-18T21:30:00.5Z
}

func ExampleStr_Append() {
	ctx := context.Background()
	a, done := newArticle(ctx, func(a *Article) { a.Title.Set("Hello") })
	defer done()

	s, err := a.Title.Append(ctx, ", wörld") // one script; the local value follows
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s, a.Title.Get() == s)
	n, _ := a.Title.Len(ctx) // bytes, not runes (HSTRLEN)
	fmt.Println(n)
	// Output:
	// Hello, wörld true
	// 13
}
