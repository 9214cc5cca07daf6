// Command quickstart saves, increments and reloads one object on the
// embedded server, then changes two fields and a list in one transaction.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/types"
)

type Address struct{ City types.Str }

type User struct {
	rapyer.Model
	Name    types.Str
	Age     types.Int
	Score   types.Float
	Seen    types.Time
	Address Address
	Tags    types.List[string] // its own Redis LIST beside the object's hash
}

var Users = rapyer.Define("user", func(u *User) rapyer.Fields {
	return rapyer.Fields{u.Name.Named("name"), u.Age.Named("age"), u.Score.Named("score"),
		u.Seen.Named("seen"), rapyer.Nested("address", u.Address.City.Named("city")),
		u.Tags.Named("tags")}
}, rapyer.WithTTL(24*time.Hour))

func main() {
	ctx := context.Background()
	s, err := embedded.Open(ctx) // or rapyer.Open(ctx, "redis://127.0.0.1:6379/0")
	check(err)
	defer s.Close()
	u := Users.New(s) // a generated id, no I/O
	u.Name.Set("Ada")
	u.Age.Set(36)
	u.Score.Set(9.5)
	u.Seen.Set(time.Date(2024, 5, 17, 9, 30, 0, 123456789, time.UTC))
	u.Address.City.Set("London")
	u.Tags.SetLocal("math")
	check(u.Save(ctx))             // one MULTI/EXEC
	age, err := u.Age.Incr(ctx, 1) // one script: exact int64 math, TTL re-armed inside
	check(err)
	got, err := Users.Get(ctx, s, u.ID()) // one round trip
	check(err)
	fmt.Println("age after Incr:", age)
	fmt.Println(got.Name.Get(), got.Age.Get(), got.Score.Get(), got.Seen.Get().Format(time.RFC3339Nano), got.Address.City.Get(), got.Tags.Local())

	// A transaction: the calls made with q are queued, then sent in one
	// MULTI/EXEC; the handles hold the server's answers afterwards.
	check(s.Tx(ctx, func(q context.Context) error {
		if _, err := got.Score.Incr(q, 0.5); err != nil {
			return err
		}
		if _, err := got.Tags.Append(q, "engines"); err != nil {
			return err
		}
		_, err := got.Age.Incr(q, 1)
		return err
	}))
	fmt.Println(got.Score.Get(), got.Tags.Local(), got.Age.Get())
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
