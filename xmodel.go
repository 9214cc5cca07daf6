package rapyer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// Calls across models, by key: the model of a key is found in the registry
// of defined models (registry.go) from the key's hash tag, so one call may
// load or delete objects of several models, in one round trip.

// Object is an object of any defined model, as the calls by key return it.
// Its dynamic type is the model's own pointer type (*User, say): a type
// switch, or ObjectsOf, gives the typed value. Every model pointer
// implements it (through the Model it embeds).
type Object interface {
	ID() string
	Key() string
	// ModelName is the name the model was defined with.
	ModelName() string
	base() *Model
}

// ModelName returns the name of the object's model ("" for an unbound
// Model).
func (m *Model) ModelName() string {
	if m.sc == nil {
		return ""
	}
	return m.sc.name
}

// ObjectsOf returns the objects among objs whose type is P (the model's
// pointer type), in order: ObjectsOf[*User](objs).
func ObjectsOf[P Object](objs []Object) []P {
	var out []P
	for _, o := range objs {
		if p, ok := o.(P); ok {
			out = append(out, p)
		}
	}
	return out
}

// objectOf returns a new object, nothing loaded, for the object key key
// on st: the model named by its hash tag, which must be defined in this
// process, and the id after it. Errors (ErrInvalid, naming the key): a key
// that is not an object key under st's prefix, a model not defined, a key
// in a shard where its model does not put that id.
func objectOf(op string, st *Store, key string) (Object, error) {
	bad := func(why string, args ...any) error {
		return &Error{Op: op, Err: fmt.Errorf("%w: key %s: %s", ErrInvalid, quoteID(key), fmt.Sprintf(why, args...))}
	}
	p, ok := parseKey(st.cfg.prefix, key)
	if !ok || p.kind != 'o' {
		return nil, bad("not an object key (want %s{<model>:<shard>}:o:<id>, as Model.Key prints it)", st.cfg.prefix)
	}
	if err := checkID(p.id); err != nil {
		return nil, &Error{Op: op, Model: p.model, ID: p.id, Err: err}
	}
	r, ok := lookup(p.model)
	if !ok {
		return nil, bad("model %q is not defined in this program", p.model)
	}
	obj := r.make(st, p.id)
	if obj.Key() != key {
		return nil, bad("model %q keeps id %s in shard %d, not %d", p.model, quoteID(p.id), shardOf(p.id, r.sc.shards), p.shard)
	}
	return obj, nil
}

// objectsOf is objectOf for every key, in order; nothing when one fails.
func objectsOf(op string, st *Store, keys []string) ([]Object, error) {
	if st == nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	out := make([]Object, len(keys))
	for i, k := range keys {
		o, err := objectOf(op, st, k)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// GetKey loads the object whose key is key (as Model.Key prints it), of
// whichever defined model the key names, as that model's Get would: one
// round trip. The result's dynamic type is the model's pointer type:
//
//	o, err := rapyer.GetKey(ctx, st, key)
//	switch v := o.(type) {
//	case *User: ...
//	}
//
// Errors: ErrInvalid (a key that is not an object key under the Store's
// prefix, or of a model not defined; nothing sent), ErrNotFound, ErrDecode
// (unless Tolerant). With a queue context it is queued like Get.
func GetKey(ctx context.Context, st *Store, key string, opts ...LoadOption) (Object, error) {
	const op = "GetKey"
	objs, err := objectsOf(op, st, []string{key})
	if err != nil {
		return nil, err
	}
	if err := objs[0].base().reload(ctx, op, opts, true); err != nil {
		return nil, err
	}
	return objs[0], nil
}

// MissingKeysError lists the keys FindKeys did not find. It wraps
// ErrNotFound.
type MissingKeysError struct{ Keys []string }

func (e *MissingKeysError) Error() string {
	quoted := make([]string, 0, min(len(e.Keys), 5))
	for _, k := range e.Keys[:min(len(e.Keys), 5)] {
		quoted = append(quoted, quoteID(k))
	}
	more := ""
	if len(e.Keys) > 5 {
		more = fmt.Sprintf(" and %d more", len(e.Keys)-5)
	}
	return fmt.Sprintf("rapyer: FindKeys: not found: %s%s", strings.Join(quoted, ", "), more)
}

func (e *MissingKeysError) Unwrap() error { return ErrNotFound }

// FindKeys loads the objects of keys, which may belong to different
// models, each as its model's Get loads it, ChunkSize keys per round trip
// (one for up to ChunkSize keys). The results are in key order. A key
// whose object does not exist is left out and reported, at the end, by a
// *MissingKeysError (wrapping ErrNotFound) returned beside the results,
// unless SkipMissing. An object that does not decode (without Tolerant), or
// cannot be read at all (a key of another Redis type), is left out and
// reported in a *SkippedError beside the results; with Tolerant its
// undecodable fields load absent instead (LoadErrors). Both reports are
// joined (errors.Join) when both happen. Errors that return no results:
// ErrInvalid (a key that is not an object key under the Store's prefix, of
// a model not defined in this program, a nil Store; nothing sent), the
// network and the context.
func FindKeys(ctx context.Context, st *Store, keys []string, opts ...ManyOption) ([]Object, error) {
	const op = "FindKeys"
	cfg := manyOptions(opts)
	objs, err := objectsOf(op, st, keys)
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(objs))
	var missing []string
	var bad []error
	err = chunks(objs, cfg.chunk, func(start int, part []Object) error {
		units := make([]ops.Unit, len(part))
		for i, o := range part {
			units[i] = o.base().loadUnit()
		}
		res, err := st.exec(ctx, request{units: units})
		if err != nil {
			return &Error{Op: op, Err: err}
		}
		for i, o := range part {
			m := o.base()
			if err := res[i].Err; err != nil {
				bad = append(bad, detail(op, m.sc.name, m.id, "", scriptError(err)))
				continue
			}
			if len(asSlice(res[i].Replies[0])) == 0 {
				missing = append(missing, keys[start+i])
				continue
			}
			if err := m.apply(op, res[i].Replies, cfg.load.tolerant, true); err != nil {
				bad = append(bad, err)
				continue
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var errs []error
	if len(missing) > 0 && !cfg.skipMissing {
		errs = append(errs, &MissingKeysError{Keys: missing})
	}
	if len(bad) > 0 {
		errs = append(errs, &SkippedError{Op: op, Errs: bad})
	}
	return out, errors.Join(errs...)
}

// FindOneKey returns the object of the first of keys (in their order)
// whose object exists and loads, reading them all as FindKeys does (one
// round trip for up to ChunkSize keys). Errors: ErrNotFound when none
// does (with the objects that did not load, if any, joined to it), and
// those of FindKeys that return no results.
func FindOneKey(ctx context.Context, st *Store, keys []string, opts ...ManyOption) (Object, error) {
	objs, err := FindKeys(ctx, st, keys, append(opts, SkipMissing())...)
	if len(objs) > 0 {
		return objs[0], nil
	}
	var sk *SkippedError
	if err != nil && !errors.As(err, &sk) {
		return nil, err
	}
	return nil, errors.Join(&Error{Op: "FindOneKey", Err: fmt.Errorf("%w: none of %d keys", ErrNotFound, len(keys))}, err)
}

// Deleted is what DeleteKeys removed: how many objects existed, in all and
// per model name.
type Deleted struct {
	Total   int
	ByModel map[string]int
}

// DeleteKeys deletes the objects of keys, which may belong to different
// models, each as its model's Delete does (DEL of its keys, or
// lua/delete.lua with its index entries), ChunkSize keys per round trip, and
// reports how many existed, per model. Errors: ErrInvalid (a bad key, a
// model not defined; nothing sent), the first object whose delete the
// server refused (the others were deleted), the network. With a queue
// context the deletes are queued as one operation (every key in the queue's
// round trip) and the count is read with Later.
func DeleteKeys(ctx context.Context, st *Store, keys []string, opts ...ManyOption) (Deleted, error) {
	const op = "DeleteKeys"
	cfg := manyOptions(opts)
	objs, err := objectsOf(op, st, keys)
	if err != nil {
		return Deleted{}, err
	}
	if ctx, err = st.perCall(ctx, cfg.wait); err != nil {
		return Deleted{}, &Error{Op: op, Err: err}
	}
	total := Deleted{ByModel: map[string]int{}}
	if len(objs) == 0 {
		_, err := queuedNone(ctx, op, "", total)
		return total, err
	}
	oneChunkQueued(ctx, &cfg, len(objs))
	err = chunks(objs, cfg.chunk, func(_ int, part []Object) error {
		units := make([]ops.Unit, len(part))
		ms := make([]*Model, len(part))
		for i, o := range part {
			ms[i] = o.base()
			units[i] = ms[i].removeUnit()
		}
		d, err := sendMany(ctx, st, op, "", ms, units, func(res []ops.Result, err error) (Deleted, error) {
			d := Deleted{ByModel: map[string]int{}}
			if err != nil {
				return d, &Error{Op: op, Err: err}
			}
			var first error
			for i, r := range res {
				if r.Err != nil {
					if first == nil {
						first = ms[i].fail(op, scriptError(r.Err))
					}
					continue
				}
				if n, _ := redis.Int(r.Replies[0], nil); n > 0 {
					d.Total++
					d.ByModel[ms[i].sc.name]++
				}
			}
			return d, first
		})
		total.Total += d.Total
		for k, v := range d.ByModel {
			total.ByModel[k] += v
		}
		return err
	})
	return total, err
}
