package ops_test

import (
	"context"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
	"github.com/rapyer-go/rapyer/types"
)

// Slug is a handle of our own: a string field with two remote operations.
type Slug struct{ rapyer.Scalar[string] }

// StoredLen returns the length of the stored value (HSTRLEN inside
// MULTI/EXEC with the existence check: one round trip).
func (h *Slug) StoredLen(ctx context.Context) (int, error) {
	return ops.Read(ctx, "Slug.StoredLen", h, "HSTRLEN", redis.Int)
}

// Extend appends "-" and part to the stored value with lua/scalar.lua's
// append (one script, one round trip) and returns the new value.
func (h *Slug) Extend(ctx context.Context, part string) (string, error) {
	return ops.Script(ctx, "Slug.Extend", h, lua.Scalar, func(r any, err error) (string, error) {
		b, err := redis.Bytes(r, err)
		if err != nil {
			return "", err
		}
		if err := ops.DecodeReply(h, b); err != nil { // the local value follows
			return "", err
		}
		return h.Get(), nil
	}, "append", "-"+part)
}

type Post struct {
	rapyer.Model
	Title types.Str
	Slug  Slug
}

var Posts = rapyer.Define("post", func(p *Post) rapyer.Fields {
	return rapyer.Fields{p.Title.Named("title"), p.Slug.Named("slug")}
})

// A handle written with Script and Read works alone and queued in a Tx.
func Example_customHandle() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		panic(err)
	}
	defer st.Close()

	p := Posts.New(st)
	p.Title.Set("Hello")
	p.Slug.Set("hello")
	if err := p.Save(ctx); err != nil {
		panic(err)
	}
	s, _ := p.Slug.Extend(ctx, "world")
	n, _ := p.Slug.StoredLen(ctx)
	fmt.Println(s, n)

	var ext *rapyer.Result[string]
	err = st.Tx(ctx, func(q context.Context) error {
		ext = rapyer.Later(q, func(q context.Context) (string, error) { return p.Slug.Extend(q, "again") })
		return nil
	})
	v, _ := ext.Get()
	fmt.Println(v, err, p.Slug.Get())
	// Output:
	// hello-world 11
	// hello-world-again <nil> hello-world-again
}
