package types

import (
	"fmt"

	"github.com/rapyer-go/rapyer/serialize"
)

// Element-level tolerant loads (ops.TolerantLocal): each container stages
// the elements that decode and reports each one it drops, so that a load
// with rapyer.Tolerant loses only those.

// decodeSome decodes flat, skipping and reporting elements that fail
// (named by name(i)).
func (e *elems[T]) decodeSome(fb serialize.Fallback, flat [][]byte, name func(i int) string) ([]T, []error) {
	c := e.of(fb)
	out := make([]T, 0, len(flat))
	var errs []error
	for i, b := range flat {
		v, err := c.Decode(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name(i), err))
			continue
		}
		out = append(out, v)
	}
	return out, errs
}

func (l *listLocal[T]) StageTolerant(flat [][]byte, fb serialize.Fallback) []error {
	vs, errs := l.elems.decodeSome(fb, flat, func(i int) string { return fmt.Sprintf("element %d", i) })
	l.staged = vs
	return errs
}

func (s *setLocal[T]) StageTolerant(flat [][]byte, fb serialize.Fallback) []error {
	vs, errs := s.elems.decodeSome(fb, flat, func(i int) string { return fmt.Sprintf("member %q", clip(flat[i])) })
	s.staged = setOf(vs)
	return errs
}

func (h *mapLocal[K, V]) StageTolerant(flat [][]byte, fb serialize.Fallback) []error {
	kc, vc := h.keys.of(fb), h.vals.of(fb)
	h.staged = make(map[K]V, len(flat)/2)
	var errs []error
	for i := 0; i+1 < len(flat); i += 2 {
		k, err := kc.Decode(flat[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", clip(flat[i]), err))
			continue
		}
		v, err := vc.Decode(flat[i+1])
		if err != nil {
			errs = append(errs, fmt.Errorf("value of key %q: %w", clip(flat[i]), err))
			continue
		}
		h.staged[k] = v
	}
	return errs
}

func (z *zsetLocal[T]) StageTolerant(flat [][]byte, fb serialize.Fallback) []error {
	c := z.elems.of(fb)
	z.staged = make([]Member[T], 0, len(flat)/2)
	var errs []error
	for i := 0; i+1 < len(flat); i += 2 {
		v, err := c.Decode(flat[i])
		if err == nil {
			var s float64
			if s, err = parseScore(flat[i+1]); err == nil {
				z.staged = append(z.staged, Member[T]{Value: v, Score: s})
				continue
			}
		}
		errs = append(errs, fmt.Errorf("member %d (%q): %w", i/2, clip(flat[i]), err))
	}
	return errs
}
