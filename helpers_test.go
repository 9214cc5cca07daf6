package rapyer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	"github.com/rapyer-go/rapyer/types"
)

type meta struct {
	Tags  []string
	Level int
}

type address struct {
	City   types.Str
	Zip    types.Str
	Visits types.List[string]
}

// place is a plain Go struct held in a List (msgpack through the fallback).
type place struct {
	City string
	Lat  float64
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
	Tags   types.List[string]
	Places types.List[place]
	Prefs  types.Map[string, string]
	Counts types.Counter[string]
	Roles  types.Set[string]
	Board  types.SortedSet[string]
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
		rapyer.Nested("home", u.Home.City.Named("city"), u.Home.Zip.Named("zip"), u.Home.Visits.Named("visits")),
		u.Tags.Named("tags"),
		u.Places.Named("places"),
		u.Prefs.Named("prefs"),
		u.Counts.Named("counts"),
		u.Roles.Named("roles"),
		u.Board.Named("board"),
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
	u.Home.Visits.SetLocal("Rome", "Oslo")
	u.Tags.SetLocal("a", "b", "c")
	u.Places.SetLocal(place{"Paris", 48.85}, place{"Lima", -12.04})
	u.Prefs.SetLocal(map[string]string{"theme": "dark", "a.b[0] $x": "weird"})
	u.Counts.SetLocal(map[string]int64{"logins": 3})
	u.Roles.SetLocal("admin", "dev")
	u.Board.SetLocal(types.Member[string]{Value: "ada", Score: 10}, types.Member[string]{Value: "bob", Score: 2.5})
}

// onCluster is cluster on the cluster backend, else one: what a test
// asserts where a cluster behaves otherwise by design.
func onCluster[T any](b *testkit.Backend, one, cluster T) T {
	if b.Name == "cluster" {
		return cluster
	}
	return one
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

// savedBeside is saved in near's shard (NewBeside): objects of one model a
// Tx may hold together on a cluster too.
func savedBeside(t *testing.T, ctx context.Context, s *rapyer.Schema[user, *user], near *user) *user {
	t.Helper()
	u := s.NewBeside(near)
	fill(u)
	must(t, u.Save(ctx))
	return u
}
