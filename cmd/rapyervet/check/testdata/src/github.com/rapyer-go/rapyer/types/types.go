// Package types is a stub of the library's handles.
package types

import "context"

type Str struct{ v string }

func (h *Str) Named(name string) *Str                            { return h }
func (h *Str) Index() *Str                                       { return h }
func (h *Str) Set(v string)                                      {}
func (h *Str) Append(ctx context.Context, s string) (int, error) { return 0, nil }

type Int struct{ v int64 }

func (h *Int) Named(name string) *Int                           { return h }
func (h *Int) Incr(ctx context.Context, d int64) (int64, error) { return 0, nil }

type List[T any] struct{ items []T }

func (l *List[T]) Named(name string) *List[T]                       { return l }
func (l *List[T]) Append(ctx context.Context, vs ...T) (int, error) { return 0, nil }

// Bound is not a handle (no Named): a model field of this type is no
// concern of the schema check.
type Bound struct{ f float64 }
