package rapyer

import (
	"testing"

	"github.com/rapyer-go/rapyer/index"
)

// FuzzCursor: a cursor decodes to what was encoded, and no text, however
// damaged, makes decodeCursor panic.
func FuzzCursor(f *testing.F) {
	f.Add("user", "age", "\x80\x00\x01", "01937c2e", true, "c1")
	f.Add("m", "", "", "x", false, "YzEEdXNlcgNhZ2UA")
	f.Add("a", "b", "c", "{id:0}", false, "\xff")
	f.Fuzz(func(t *testing.T, model, order, sk, id string, desc bool, junk string) {
		_, _, _, _, _ = decodeCursor(junk) // must not panic
		if id == "" {
			return // Page never makes a cursor without an id
		}
		c := encodeCursor(model, order, desc, index.Hit{SortKey: sk, ID: id})
		m, o, d, h, err := decodeCursor(c)
		if err != nil || m != model || o != order || d != desc || h.SortKey != sk || h.ID != id {
			t.Fatalf("decodeCursor(encodeCursor(%q, %q, %v, %q, %q)) = %q, %q, %v, %+v, %v", model, order, desc, sk, id, m, o, d, h, err)
		}
	})
}
