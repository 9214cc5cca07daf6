package rapyer_test

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

// Location is a struct of handles nested in Customer: its fields live in the
// customer's hash as "home.city" and "home.zip".
type Location struct {
	City types.Str
	Zip  types.Str
}

// Customer is a model: a struct embedding rapyer.Model, made of handles.
type Customer struct {
	rapyer.Model
	Name   types.Str
	Visits types.Int
	Since  types.Time
	Home   Location
}

// Customers is defined once, at package level. The schema function lists the
// fields by hand, so nothing reflects; it is called again for every object to
// bind the handles.
var Customers = rapyer.Define("customer", func(c *Customer) rapyer.Fields {
	return rapyer.Fields{
		c.Name.Named("name"),
		c.Visits.Named("visits").Default(0),
		c.Since.Named("since"),
		rapyer.Nested("home", c.Home.City.Named("city"), c.Home.Zip.Named("zip")),
	}
}, rapyer.WithTTL(30*24*time.Hour))

func ExampleDefine() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	fmt.Println(Customers.Name(), Customers.FieldNames())

	c := Customers.New(st) // no I/O; the id is a generated UUIDv7
	fmt.Println("visits before Save:", c.Visits.Get(), "(a default)")
	c.Name.Set("Ada")
	c.Since.Set(time.Date(2024, 5, 17, 9, 30, 0, 0, time.UTC))
	c.Home.City.Set("London")
	if err := c.Save(ctx); err != nil { // one MULTI/EXEC
		log.Fatal(err)
	}
	fmt.Println("version:", c.Version())
	_, hasZip := c.Home.Zip.Lookup()
	fmt.Println("zip present:", hasZip)
	// Output:
	// customer [name visits since home.city home.zip]
	// visits before Save: 0 (a default)
	// version: 1
	// zip present: false
}

func ExampleSchema_Get() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	_, err = Customers.Get(ctx, st, "ada")
	fmt.Println("before Save:", errors.Is(err, rapyer.ErrNotFound))

	c, err := Customers.NewWithID(st, "ada")
	if err != nil {
		log.Fatal(err)
	}
	c.Name.Set("Ada Lovelace")
	c.Home.City.Set("London")
	if err := c.Save(ctx); err != nil {
		log.Fatal(err)
	}

	got, err := Customers.Get(ctx, st, "ada") // HGETALL (+PEXPIRE): one round trip
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Key())
	fmt.Println(got.Name.Get(), "of", got.Home.City.Get())
	_, ok := got.Since.Lookup()
	fmt.Println("since present:", ok) // never set, so absent: not the zero time
	// Output:
	// before Save: true
	// {customer:0}:o:ada
	// Ada Lovelace of London
	// since present: false
}

func ExampleModel_Update() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	c, _ := Customers.NewWithID(st, "grace")
	c.Name.Set("Grace")
	c.Home.City.Set("Arlington")
	if err := c.Save(ctx); err != nil {
		log.Fatal(err)
	}

	// Two copies of one object: each writes only what it changed.
	a, _ := Customers.Get(ctx, st, "grace")
	b, _ := Customers.Get(ctx, st, "grace")
	a.Name.Set("Grace Hopper")
	b.Home.City.Set("New York")
	b.Home.Zip.Set("10001")
	if err := a.Update(ctx, &a.Name); err != nil { // one script, one round trip
		log.Fatal(err)
	}
	if err := b.Update(ctx, &b.Home.City, &b.Home.Zip); err != nil {
		log.Fatal(err)
	}

	got, _ := Customers.Get(ctx, st, "grace")
	fmt.Println(got.Name.Get(), "|", got.Home.City.Get(), got.Home.Zip.Get(), "| version", got.Version())

	// Update never creates: a missing object is ErrNotFound and nothing is written.
	ghost, _ := Customers.NewWithID(st, "ghost")
	ghost.Name.Set("Nobody")
	err = ghost.Update(ctx, &ghost.Name)
	fmt.Println(errors.Is(err, rapyer.ErrNotFound))
	// Output:
	// Grace Hopper | New York 10001 | version 3
	// true
}

func ExampleModel_Insert() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	first, _ := Customers.NewWithID(st, "alan")
	first.Name.Set("Alan")
	fmt.Println(first.Insert(ctx)) // creates it

	second, _ := Customers.NewWithID(st, "alan")
	second.Name.Set("Someone else")
	err = second.Insert(ctx) // the id is taken: nothing is written
	fmt.Println(errors.Is(err, rapyer.ErrExists))

	got, _ := Customers.Get(ctx, st, "alan")
	fmt.Println(got.Name.Get())
	// Output:
	// <nil>
	// true
	// Alan
}

func ExampleTolerant() {
	ctx := context.Background()
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	st, err := srv.Open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	c, _ := Customers.NewWithID(st, "kay")
	c.Name.Set("Kay")
	c.Visits.Set(3)
	if err := c.Save(ctx); err != nil {
		log.Fatal(err)
	}
	// Someone else writes text that is not an int64 into the hash.
	srv.Miniredis().HSet(c.Key(), "visits", "three")

	_, err = Customers.Get(ctx, st, "kay")
	var re *rapyer.Error
	if errors.As(err, &re) {
		fmt.Println("strict:", errors.Is(err, rapyer.ErrDecode), re.Op, re.Model, re.ID, re.Field)
	}

	got, err := Customers.Get(ctx, st, "kay", rapyer.Tolerant())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tolerant:", got.Name.Get(), "visits present:", got.Visits.Present())
	for _, e := range got.LoadErrors() {
		if errors.As(e, &re) {
			fmt.Println("skipped field:", re.Field)
		}
	}
	// Output:
	// strict: true Get customer kay visits
	// tolerant: Kay visits present: false
	// skipped field: visits
}
