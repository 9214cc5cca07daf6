package rapyer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/types"
)

type meta struct {
	Tags  []string
	Level int
}

type address struct {
	City types.Str
	Zip  types.Str
}

type user struct {
	rapyer.Model
	Name   types.Str
	Age    types.Int
	Score  types.Float
	Active types.Bool
	Seen   types.Time
	Blob   types.Bytes
	Meta   types.Value[meta]
	Home   address
}

func userFields(u *user) rapyer.Fields {
	return rapyer.Fields{
		u.Name.Named("name"),
		u.Age.Named("age"),
		u.Score.Named("score"),
		u.Active.Named("active"),
		u.Seen.Named("seen"),
		u.Blob.Named("blob"),
		u.Meta.Named("meta"),
		rapyer.Nested("home", u.Home.City.Named("city"), u.Home.Zip.Named("zip")),
	}
}

var (
	users          = rapyer.Define("user", userFields)
	usersTTL       = rapyer.Define("userttl", userFields, rapyer.WithTTL(time.Hour))
	usersNoRefresh = rapyer.Define("usernr", userFields, rapyer.WithTTL(time.Hour), rapyer.WithRefresh(false))
	usersSharded   = rapyer.Define("usersh", userFields, rapyer.WithShards(16))
)

var seen0 = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)

// fill sets every field of u to a known value.
func fill(u *user) {
	u.Name.Set("Ada")
	u.Age.Set(36)
	u.Score.Set(1.5)
	u.Active.Set(true)
	u.Seen.Set(seen0)
	u.Blob.Set([]byte{0, 1, 0xff})
	u.Meta.Set(meta{Tags: []string{"a"}, Level: 2})
	u.Home.City.Set("Paris")
	u.Home.Zip.Set("75001")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Fatalf("error %q does not mention %q", err, m)
		}
	}
}

func saved(t *testing.T, ctx context.Context, s *rapyer.Schema[user, *user], st *rapyer.Store) *user {
	t.Helper()
	u := s.New(st)
	fill(u)
	must(t, u.Save(ctx))
	return u
}
