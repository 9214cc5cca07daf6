package rapyer_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// TestDuplicateMany: n copies under new ids in one round trip, each with
// containers of its own; n = 0 sends nothing; bad input is refused before
// anything is sent; a unique value makes it all or nothing.
func TestDuplicateMany(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		src := saved(t, ctx, users, b.Store)
		var copies []*user
		var err error
		trips, _ := b.Count(func() { copies, err = users.DuplicateMany(ctx, src, 3) })
		must(t, err)
		// On a cluster too: the copies' ids are new, so nothing is
		// checked first, and their per-slot scripts go in one request.
		if trips != 1 || len(copies) != 3 {
			t.Fatalf("DuplicateMany(3): %d copies in %d round trips, want 3 in 1", len(copies), trips)
		}
		ids := []string{src.ID()}
		for _, c := range copies {
			if slices.Contains(ids, c.ID()) {
				t.Fatalf("id %s twice", c.ID())
			}
			ids = append(ids, c.ID())
			got, err := users.Get(ctx, b.Store, c.ID())
			must(t, err)
			if got.Name.Get() != src.Name.Get() || fmt.Sprint(got.Tags.Local()) != fmt.Sprint(src.Tags.Local()) ||
				fmt.Sprint(got.Roles.Local()) != fmt.Sprint(src.Roles.Local()) {
				t.Fatalf("copy %s: %q %v, want %q %v", c.ID(), got.Name.Get(), got.Tags.Local(), src.Name.Get(), src.Tags.Local())
			}
		}
		// Containers are independent.
		_, err = copies[0].Tags.Append(ctx, "only-in-copy-0")
		must(t, err)
		for _, id := range []string{src.ID(), copies[1].ID()} {
			got, err := users.Get(ctx, b.Store, id)
			must(t, err)
			if slices.Contains(got.Tags.Local(), "only-in-copy-0") {
				t.Fatalf("%s shares copy 0's list", id)
			}
		}

		trips, _ = b.Count(func() { copies, err = users.DuplicateMany(ctx, src, 0) })
		if err != nil || copies != nil || trips != 0 {
			t.Fatalf("DuplicateMany(0): %v %v, %d round trips", copies, err, trips)
		}
		_, err = users.DuplicateMany(ctx, src, -1)
		wantErr(t, err, rapyer.ErrInvalid, "DuplicateMany")
		_, err = users.DuplicateMany(ctx, nil, 2)
		wantErr(t, err, rapyer.ErrInvalid, "DuplicateMany")
		_, err = users.DuplicateMany(ctx, users.New(nil), 2)
		wantErr(t, err, rapyer.ErrUnbound, "DuplicateMany")

		// A unique value: two copies always collide, so nothing is written.
		p := people.New(b.Store)
		p.Email.Set("dup@example.com")
		must(t, p.Save(ctx))
		before, err := people.Count(ctx, b.Store, rapyer.All())
		must(t, err)
		_, err = people.DuplicateMany(ctx, p, 2)
		wantErr(t, err, rapyer.ErrExists)
		after, err := people.Count(ctx, b.Store, rapyer.All())
		must(t, err)
		if after != before {
			t.Fatalf("a refused DuplicateMany wrote: %d objects, was %d", after, before)
		}
	})
}
