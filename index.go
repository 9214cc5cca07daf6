package rapyer

import (
	"strconv"

	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// indexed reports whether the model has secondary indexes.
func (m *Model) indexed() bool { return len(m.sc.idx) > 0 }

// noIndex is the index section of a script call that touches no indexed
// field: its item count, 0.
var noIndex = []any{"0"}

// indexSection builds the index section of lua/index.lua for specs: the
// KEYS to append after the object's keys, and the ARGV items to append last
// (their count included). Without specs: no keys, and noIndex.
func (m *Model) indexSection(specs []indexSpec) (keys []string, args []any) {
	return m.indexSectionAt(specs, len(m.keys()))
}

// indexSectionAt is indexSection for keys that will follow base others in
// KEYS (InsertMany puts every object's keys first).
func (m *Model) indexSectionAt(specs []indexSpec, base int) (keys []string, args []any) {
	if len(specs) == 0 {
		return nil, noIndex
	}
	prefix, model := m.st.cfg.prefix, m.sc.name
	nn, sp := m.sc.layout(m.st)
	n := uint32(nn)
	shard := shardOf(m.id, nn)
	add := func(k string) int {
		keys = append(keys, k)
		return base + len(keys)
	}
	args = make([]any, 0, 8+6*len(specs))
	args = append(args, m.id, len(specs))
	for _, s := range specs {
		uniq := "0"
		if s.unique {
			uniq = "1"
		}
		args = append(args, s.name, string(s.kind), uniq, add(indexKey(prefix, model, shard, sp, s.name)))
		// On a cluster the other shards' indexes are in other slots: the
		// write claimed its unique values first (claim.go), and its script
		// checks its own shard only.
		if !s.unique || n == 1 || m.st.cl != nil {
			args = append(args, 0)
			continue
		}
		args = append(args, n-1)
		for o := uint32(0); o < n; o++ {
			if o != shard {
				args = append(args, add(indexKey(prefix, model, o, sp, s.name)))
			}
		}
	}
	args = append(args, add(revKey(prefix, model, shard, sp)), add(allKey(prefix, model, shard, sp)),
		shardPrefix(prefix, model, shard, sp)+"o:")
	args = append(args, strconv.Itoa(len(args)))
	return keys, args
}

// withIndex returns the object's keys followed by extra (a new slice when
// there are extra keys).
func (m *Model) withIndex(extra []string) []string {
	if len(extra) == 0 {
		return m.keys()
	}
	return append(append(make([]string, 0, len(m.keys())+len(extra)), m.keys()...), extra...)
}

// specsOf returns the index specs of the named scalar fields (in schema
// order of the model's indexes).
func (m *Model) specsOf(fields []Field) []indexSpec {
	if !m.indexed() || len(fields) == 0 {
		return nil
	}
	var out []indexSpec
	for _, s := range m.sc.idx {
		for _, f := range fields {
			if f.(binder).fullName() == s.name {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// deleteUnit is Delete for an indexed model: lua/delete.lua removes the
// object's index entries with its keys.
func (m *Model) deleteUnit() ops.Unit {
	extra, sec := m.indexSection(m.sc.idx)
	return ops.ScriptUnit(lua.Delete, m.withIndex(extra), append([]any{"0", len(m.keys())}, sec...))
}
