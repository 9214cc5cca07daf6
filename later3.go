package rapyer

import "context"

// Triple is the value of a queued call returning three values besides its
// error (Map.PopItem's key, value and whether there was an entry), for
// Later3.
type Triple[A, B, C any] struct {
	A A
	B B
	C C
}

// Later3 is Later for calls returning three values and an error:
//
//	it := rapyer.Later3(q, m.Prefs.PopItem) // after the Tx: it.Get() returns a Triple
func Later3[A, B, C any](q context.Context, f func(q context.Context) (A, B, C, error)) *Result[Triple[A, B, C]] {
	return Later(q, func(q context.Context) (Triple[A, B, C], error) {
		a, b, c, err := f(q)
		return Triple[A, B, C]{a, b, c}, err
	})
}
