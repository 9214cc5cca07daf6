package rapyer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// wantJSON is fill's object as MarshalJSON writes it, after "_id".
const wantJSON = `"name":"Ada","age":36,"score":1.5,"active":true,"seen":"2026-11-25T10:00:00.123456789Z","blob":"AAH/",` +
	`"meta":{"Tags":["a"],"Level":2},"home":{"city":"Paris","zip":"75001","visits":["Rome","Oslo"]},"tags":["a","b","c"],` +
	`"places":[{"City":"Paris","Lat":48.85},{"City":"Lima","Lat":-12.04}],"prefs":{"a.b[0] $x":"weird","theme":"dark"},` +
	`"counts":{"logins":3},"roles":["admin","dev"],"board":[{"Value":"bob","Score":2.5},{"Value":"ada","Score":10}]}`

func TestJSONRoundTrip(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		got, err := users.Get(ctx, b.Store, u.ID())
		must(t, err)
		data, err := json.Marshal(got)
		must(t, err)
		if want := `{"_id":"` + u.ID() + `",` + wantJSON; string(data) != want {
			t.Fatalf("json.Marshal of a loaded object:\n got %s\nwant %s", data, want)
		}
		// Into a new object, saved under its own id, loaded back: the same.
		v, err := users.NewWithID(b.Store, "copy")
		must(t, err)
		must(t, json.Unmarshal(data, v))
		if v.ID() != "copy" {
			t.Fatalf("UnmarshalJSON changed the id to %q", v.ID())
		}
		must(t, v.Save(ctx))
		back, err := users.Get(ctx, b.Store, "copy")
		must(t, err)
		again, err := json.Marshal(back)
		must(t, err)
		if want := `{"_id":"copy",` + wantJSON; string(again) != want {
			t.Fatalf("after Unmarshal, Save, Get:\n got %s\nwant %s", again, want)
		}
		if !back.Seen.Get().Equal(seen0) || back.Seen.Get().Nanosecond() != 123456789 {
			t.Fatalf("time through JSON: %v", back.Seen.Get())
		}
	})
}

func TestJSONAbsentAndNull(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u, err := users.NewWithID(b.Store, "sparse")
		must(t, err)
		u.Name.Set("Bo")
		data, err := json.Marshal(u)
		must(t, err)
		want := `{"_id":"sparse","name":"Bo","home":{"visits":[]},"tags":[],"places":[],"prefs":{},"counts":{},"roles":[],"board":[]}`
		if string(data) != want {
			t.Fatalf("absent fields:\n got %s\nwant %s", data, want)
		}
		// Missing and null make fields absent; unknown keys are ignored.
		full := saved(t, ctx, users, b.Store)
		must(t, json.Unmarshal([]byte(`{"name":null,"age":7,"home":{"city":"Nice"},"extra":1,"_id":"other"}`), full))
		if full.Name.Present() || full.Age.Get() != 7 || full.Home.City.Get() != "Nice" || full.Home.Zip.Present() || len(full.Tags.Local()) != 0 || full.ID() == "other" {
			t.Fatalf("after Unmarshal: name %v age %d city %q zip %v tags %v id %q", full.Name.Present(), full.Age.Get(), full.Home.City.Get(), full.Home.Zip.Present(), full.Tags.Local(), full.ID())
		}
		must(t, full.Save(ctx))
		got, err := users.Get(ctx, b.Store, full.ID())
		must(t, err)
		if got.Name.Present() || got.Age.Get() != 7 || got.Score.Present() {
			t.Fatalf("saved after Unmarshal: name %v age %d score %v", got.Name.Present(), got.Age.Get(), got.Score.Present())
		}
	})
}

func TestJSONErrors(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		before, err := json.Marshal(u)
		must(t, err)
		cases := []struct{ in, field string }{
			{`{"age":"x"}`, "field age"},
			{`{"home":5}`, "field home:"},
			{`{"home":{"city":5}}`, "field home.city"},
			{`{"tags":{"a":1}}`, "field tags"},
			{`{"board":[{"Value":1}]}`, "field board"},
			{`{"seen":"yesterday"}`, "field seen"},
			{`[1,2]`, ``},
		}
		for _, c := range cases {
			err := json.Unmarshal([]byte(c.in), u)
			wantErr(t, err, rapyer.ErrInvalid, c.field)
			after, err := json.Marshal(u)
			must(t, err)
			if !bytes.Equal(after, before) {
				t.Fatalf("%s: a refused Unmarshal changed the object:\n%s\n%s", c.in, before, after)
			}
		}
		u.Score.Set(math.NaN())
		_, err = json.Marshal(u)
		wantErr(t, err, rapyer.ErrInvalid, "field score")
		var zero user
		_, err = json.Marshal(&zero)
		wantErr(t, err, rapyer.ErrUnbound)
		wantErr(t, json.Unmarshal([]byte(`{}`), &zero), rapyer.ErrUnbound)
	})
}

func TestPrinting(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		u := saved(t, ctx, users, b.Store)
		u.Score.Clear()
		s := fmt.Sprint(u)
		for _, want := range []string{"user{_id=" + u.ID(), " name=Ada ", " age=36 ", " home.city=Paris ", " tags=[a b c] ", " roles=[admin dev] ", " counts=map[logins:3] ", "board=[{bob 2.5} {ada 10}]}"} {
			if !strings.Contains(s, want) {
				t.Fatalf("fmt.Sprint(object) = %s\nlacks %q", s, want)
			}
		}
		if strings.Contains(s, "score") || strings.Contains(s, "0x") {
			t.Fatalf("fmt.Sprint(object) shows an absent field or a pointer: %s", s)
		}
		if got := fmt.Sprint(&u.Age, " ", u.Name, " ", u.Score, " ", u.Tags, " ", &u.Home.Visits); got != "36 Ada <absent> [a b c] [Rome Oslo]" {
			t.Fatalf("handles print as %q", got)
		}
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		log.Info("x", "user", u, "age", &u.Age, "tags", u.Tags)
		line := buf.String()
		for _, want := range []string{`"user":{"_model":"user","_id":"` + u.ID() + `","name":"Ada","age":36`, `"home":{"city":"Paris","zip":"75001","visits":"[Rome Oslo]"}`, `"age":36,"tags":"[a b c]"}`} {
			if !strings.Contains(line, want) {
				t.Fatalf("slog line %s\nlacks %s", line, want)
			}
		}
		if strings.Contains(line, "field score") {
			t.Fatalf("slog shows an absent field: %s", line)
		}
		var zero user
		if got := fmt.Sprint(&zero); got != "rapyer.Model{unbound}" {
			t.Fatalf("an unbound object prints as %q", got)
		}
	})
}
