// Package rapyer is a stub of the library's API, as the checks see it.
package rapyer

import "context"

type Model struct{ id string }

func (m *Model) ID() string                     { return m.id }
func (m *Model) Save(ctx context.Context) error { return nil }

type Field = any

type Fields []Field

type Option interface{ option() }

type Schema[M any, P interface{ *M }] struct{}

func Define[M any, P interface{ *M }](name string, def func(P) Fields, opts ...Option) *Schema[M, P] {
	return &Schema[M, P]{}
}

func Nested(name string, fs ...Field) Field { return nil }

func (s *Schema[M, P]) Get(ctx context.Context, st *Store, id string) (P, error) { return nil, nil }

type Store struct{}

func (s *Store) Tx(ctx context.Context, fn func(q context.Context) error) error    { return nil }
func (s *Store) Batch(ctx context.Context, fn func(q context.Context) error) error { return nil }

type Result[T any] struct{}

func Later[T any](q context.Context, f func(q context.Context) (T, error)) *Result[T] { return nil }
