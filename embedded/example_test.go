package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/types"
)

type Session struct {
	rapyer.Model
	User types.Str
	Hits types.Int
}

// Sessions expire an hour after their last use: every operation on a session
// re-arms its TTL inside its own round trip (refresh is on by default).
var Sessions = rapyer.Define("session", func(s *Session) rapyer.Fields {
	return rapyer.Fields{s.User.Named("user"), s.Hits.Named("hits")}
}, rapyer.WithTTL(time.Hour))

func ExampleOpen() {
	ctx := context.Background()
	st, err := embedded.Open(ctx) // a fresh in-process server; st.Close stops it
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	s, _ := Sessions.NewWithID(st, "s1")
	s.User.Set("ada")
	if err := s.Save(ctx); err != nil {
		log.Fatal(err)
	}
	got, err := Sessions.Get(ctx, st, "s1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.User.Get())
	// Output: ada
}

func ExampleServer_FastForward() {
	ctx := context.Background()
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	st, err := srv.Open(ctx) // closing st leaves srv running
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	s, _ := Sessions.NewWithID(st, "s1")
	s.User.Set("ada")
	if err := s.Save(ctx); err != nil {
		log.Fatal(err)
	}
	// TTL reads without refreshing; the clock runs as on Redis, so a few
	// milliseconds have gone: round to the minute.
	ttl := func() time.Duration {
		d, err := s.TTL(ctx)
		if err != nil {
			log.Fatal(err)
		}
		return d.Round(time.Minute)
	}
	fmt.Println(ttl())

	srv.FastForward(45 * time.Minute)
	fmt.Println(ttl())

	if _, err := s.Hits.Incr(ctx, 1); err != nil { // re-arms the TTL
		log.Fatal(err)
	}
	fmt.Println(ttl())

	srv.FastForward(61 * time.Minute) // no use for an hour: expired
	_, err = Sessions.Get(ctx, st, "s1")
	fmt.Println(errors.Is(err, rapyer.ErrNotFound))
	// Output:
	// 1h0m0s
	// 15m0s
	// 1h0m0s
	// true
}
