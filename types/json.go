package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// JSON and printing of the containers' local copies, for rapyer.Model's
// MarshalJSON, UnmarshalJSON, String and LogValue (which find these
// methods on the container's ops.Local) and the handles' own String and
// LogValue (rapyer.Container's). A List is a JSON array, a Map and a
// Counter an object (encoding/json's rules for keys), a Set an array (in
// the order of its members' JSON texts), a SortedSet an array of
// {"Value": v, "Score": s} in Redis order. StageJSON decodes into the
// staging slot, which Commit makes the local copy: a model's UnmarshalJSON
// stages every field before it commits any.

func (l *listLocal[T]) MarshalJSON() ([]byte, error) {
	if l.items == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(l.items)
}

func (l *listLocal[T]) StageJSON(b []byte) error {
	var vs []T
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	l.staged = vs
	return nil
}

func (l *listLocal[T]) String() string { return fmt.Sprint(l.items) }

func (h *mapLocal[K, V]) MarshalJSON() ([]byte, error) {
	if h.items == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(h.items)
}

func (h *mapLocal[K, V]) StageJSON(b []byte) error {
	m := map[K]V{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	h.staged = m
	return nil
}

func (h *mapLocal[K, V]) String() string { return fmt.Sprint(h.items) } // fmt sorts the keys

func (s *setLocal[T]) MarshalJSON() ([]byte, error) {
	texts := make([][]byte, 0, len(s.items))
	for v := range s.items {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		texts = append(texts, b)
	}
	slices.SortFunc(texts, bytes.Compare)
	return append(append([]byte("["), bytes.Join(texts, []byte(","))...), ']'), nil
}

func (s *setLocal[T]) StageJSON(b []byte) error {
	var vs []T
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	s.staged = setOf(vs)
	return nil
}

func (s *setLocal[T]) String() string {
	texts := make([]string, 0, len(s.items))
	for v := range s.items {
		texts = append(texts, fmt.Sprint(v))
	}
	slices.Sort(texts)
	return "[" + strings.Join(texts, " ") + "]"
}

func (z *zsetLocal[T]) MarshalJSON() ([]byte, error) {
	if z.items == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(z.items)
}

func (z *zsetLocal[T]) StageJSON(b []byte) error {
	var ms []Member[T]
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	z.staged = (*SortedSet[T])(z).normalize(ms)
	return nil
}

func (z *zsetLocal[T]) String() string { return fmt.Sprint(z.items) }
