package types

import (
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/index"
)

// Prefix matches objects whose field holds a string starting with p (a
// byte prefix; Prefix("") matches every object holding the field). It is
// driven by the field's index as one ZRANGEBYLEX range when the field is
// indexed. A field stored through a codec that is not a string one makes
// the query return rapyer.ErrInvalid. See rapyer.Pred.
func (h *Str) Prefix(p string) rapyer.Pred {
	return rapyer.Pred(index.PrefixOf(index.Pred(h.Eq(p))))
}
