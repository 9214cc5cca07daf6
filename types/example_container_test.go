package types_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/types"
)

// Game is the model of the container examples: a list, a counter map, a set
// and a sorted set, each its own Redis key beside the object's hash.
type Game struct {
	rapyer.Model
	Moves  types.List[string]
	Stats  types.Counter[string]
	Tags   types.Set[string]
	Scores types.SortedSet[string]
}

var Games = rapyer.Define("game", func(g *Game) rapyer.Fields {
	return rapyer.Fields{g.Moves.Named("moves"), g.Stats.Named("stats"), g.Tags.Named("tags"), g.Scores.Named("scores")}
})

// newGame opens an embedded server and saves an empty game on it.
func newGame(ctx context.Context) (*Game, func()) {
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	g := Games.New(st)
	if err := g.Save(ctx); err != nil {
		log.Fatal(err)
	}
	return g, func() { _ = st.Close() }
}

func ExampleList() {
	ctx := context.Background()
	g, done := newGame(ctx)
	defer done()

	if _, err := g.Moves.Append(ctx, "e4", "e5", "Nf3", "Nc6"); err != nil { // one RPUSH in one script
		log.Fatal(err)
	}
	last, ok, err := g.Moves.Pop(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(last, ok)
	first2, err := g.Moves.Range(ctx, 0, 2) // Python slice g.moves[0:2]
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first2, g.Moves.Local())
	// Output:
	// Nc6 true
	// [e4 e5] [e4 e5 Nf3]
}

func ExampleCounter_Incr() {
	ctx := context.Background()
	g, done := newGame(ctx)
	defer done()

	// Any key works: no JSON path is built from it.
	for _, k := range []string{"a.b", "$x", "a.b"} {
		if _, err := g.Stats.Incr(ctx, k, 2); err != nil {
			log.Fatal(err)
		}
	}
	n, err := g.Stats.Incr(ctx, "a.b", 1<<62)
	fmt.Println(n, err)
	_, err = g.Stats.Incr(ctx, "a.b", 1<<62) // exact int64: overflow is refused
	fmt.Println(err != nil, g.Stats.Local()["$x"])
	// Output:
	// 4611686018427387908 <nil>
	// true 2
}

func ExampleSortedSet() {
	ctx := context.Background()
	g, done := newGame(ctx)
	defer done()

	if _, err := g.Scores.AddMany(ctx,
		types.Member[string]{Value: "ada", Score: 31},
		types.Member[string]{Value: "bob", Score: 12},
		types.Member[string]{Value: "eve", Score: 25}); err != nil {
		log.Fatal(err)
	}
	if _, err := g.Scores.IncrScore(ctx, "bob", 20); err != nil {
		log.Fatal(err)
	}
	top, err := g.Scores.PeekMax(ctx, 2) // a leaderboard
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(top)
	mid, err := g.Scores.RangeByScore(ctx, types.Excl(25), types.Inf())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mid)
	// Output:
	// [{bob 32} {ada 31}]
	// [{ada 31} {bob 32}]
}

func ExampleSet_Intersect() {
	ctx := context.Background()
	g, done := newGame(ctx)
	defer done()

	if _, err := g.Tags.Add(ctx, "blitz", "rated", "online"); err != nil {
		log.Fatal(err)
	}
	has, err := g.Tags.Has(ctx, "rated")
	if err != nil {
		log.Fatal(err)
	}
	common, err := g.Tags.IntersectValues(ctx, "rated", "casual", "online")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(has, common)
	// Output:
	// true [online rated]
}
