package schema

import (
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/types"
)

type Address struct {
	City types.Str
	Zip  types.Str
}

// Every handle listed: nothing to report.
type Good struct {
	rapyer.Model
	Name  types.Str
	Age   types.Int
	Tags  types.List[string]
	Home  Address
	Bound types.Bound // not a handle
	Note  string      // not a handle
}

var Goods = rapyer.Define("good", func(g *Good) rapyer.Fields {
	return rapyer.Fields{
		g.Name.Named("name").Index(),
		g.Age.Named("age"),
		g.Tags.Named("tags"),
		rapyer.Nested("home", g.Home.City.Named("city"), g.Home.Zip.Named("zip")),
	}
})

// A handle left out, a container left out, and half a nested group.
type Bad struct {
	rapyer.Model
	Name  types.Str
	Email types.Str
	Tags  types.List[string]
	Home  Address
}

var Bads = rapyer.Define("bad", func(b *Bad) rapyer.Fields { // want `field Bad.Email \(types.Str\) is not listed by the schema function of model "bad"` `field Bad.Tags \(types.List\[string\]\) is not listed` `field Bad.Home.Zip \(types.Str\) is not listed`
	return rapyer.Fields{
		b.Name.Named("name"),
		rapyer.Nested("home", b.Home.City.Named("city")),
	}
})

// A schema function declared apart is checked as well.
type Apart struct {
	rapyer.Model
	Name types.Str
	Age  types.Int
}

func apartFields(a *Apart) rapyer.Fields {
	return rapyer.Fields{a.Name.Named("name")}
}

var Aparts = rapyer.Define("apart", apartFields) // want `field Apart.Age \(types.Int\) is not listed`

// Handles listed through a helper that takes the nested group whole: the
// whole group counts as listed.
func addressFields(a *Address) []rapyer.Field {
	return []rapyer.Field{a.City.Named("city"), a.Zip.Named("zip")}
}

type Helped struct {
	rapyer.Model
	Home Address
}

var Helpeds = rapyer.Define("helped", func(h *Helped) rapyer.Fields {
	return rapyer.Fields{rapyer.Nested("home", addressFields(&h.Home)...)}
})

// The object passed whole to a helper: what it lists cannot be told, so
// nothing is reported.
type Whole struct {
	rapyer.Model
	Name types.Str
	Age  types.Int
}

func wholeFields(w *Whole) rapyer.Fields {
	return rapyer.Fields{w.Name.Named("name"), w.Age.Named("age")}
}

var Wholes = rapyer.Define("whole", func(w *Whole) rapyer.Fields { return wholeFields(w) })

// Embedded groups are followed through their promoted fields.
type Stamp struct {
	By types.Str
	At types.Int
}

type Embeds struct {
	rapyer.Model
	Stamp
}

var Embedss = rapyer.Define("embeds", func(e *Embeds) rapyer.Fields { // want `field Embeds.Stamp.At \(types.Int\) is not listed`
	return rapyer.Fields{e.By.Named("by")}
})
