package lua

import (
	"slices"
	"strings"
)

// Redis runs a script's whole body on every call: each `local function`
// of a library it carries is made anew (a closure, its upvalues, garbage
// for the collector) whether the call needs it or not, which cost Int.Incr
// about 4 µs of its 12 on Redis 7.0. So a script carries only the
// library code its body can reach: the libraries (prelude.lua, int64.lua,
// index.lua) are cut into their top-level statements, and a statement is
// kept when a name it declares is used by the body or by a kept statement.

// libraries are the files cut into statements; every other part is a body,
// kept whole.
var libraries = map[string]bool{"prelude": true, "int64": true, "index": true}

// Most calls of a script that carries index.lua need none of it: a field
// operation on a model without indexes, a Save of one. So index.lua's
// statements are made on first use: a script's kept statements of it are
// defined by idx_load(), which idx_parse calls when it finds an index
// section, sweep.lua first thing and query.lua before a candidate's sort
// key or reclaim. A statement that calls idx_load or idx_parse (so loads
// the library itself before it uses it) is defined at once, after
// idx_load; the others may not use it.

// lazyLib is the library whose statements idx_load defines.
const lazyLib = "index"

// stmt is one top-level statement of a library with the comment above it:
// the names it declares (`local function f`, `local a, b = ...`) and the
// identifiers its code uses (comments and strings left out).
type stmt struct {
	text      string
	head      string // the "local ..." line
	declares  []string
	uses      []string
	lazy      bool // defined by idx_load
	afterLoad bool // index.lua's others: defined after idx_load
}

// statements cuts a library into its top-level statements. A statement
// starts at a line beginning with "local " (or at the comment lines right
// above it); every other line (indented, "end", a closing brace) continues
// the statement before it. The libraries keep to that layout.
func statements(src string) []stmt {
	var out []stmt
	var cur, pending strings.Builder // pending: comment and blank lines at column 0
	var head string                  // the current statement's "local" line
	flush := func() {
		if cur.Len() > 0 {
			text := cur.String()
			out = append(out, stmt{text: text, head: head, declares: declared(head), uses: identifiers(text)})
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(src, "\n") {
		switch {
		case strings.HasPrefix(line, "--"), strings.TrimSpace(line) == "":
			pending.WriteString(line)
		case strings.HasPrefix(line, "local "):
			flush()
			head = line
			cur.WriteString(pending.String())
			pending.Reset()
			cur.WriteString(line)
		default:
			cur.WriteString(pending.String())
			pending.Reset()
			cur.WriteString(line)
		}
	}
	flush()
	return out
}

// declared reads the names a statement's first line ("local ...") declares.
func declared(line string) []string {
	line = strings.TrimSpace(strings.TrimPrefix(line, "local "))
	if rest, ok := strings.CutPrefix(line, "function "); ok {
		name, _, _ := strings.Cut(rest, "(")
		return []string{strings.TrimSpace(name)}
	}
	line, _, _ = strings.Cut(line, "=")
	var names []string
	for _, n := range strings.Split(line, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// identifiers lists the names Lua code uses as variables: identifiers
// outside comments and string literals, not after "." or ":" (fields and
// methods), keywords included (harmless: no statement declares them).
func identifiers(src string) []string {
	var out []string
	seen := map[string]bool{}
	scanIdents(src, func(i, j int) {
		if name := src[i:j]; !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	})
	return out
}

// scanIdents calls f(i, j) for each identifier src[i:j] used as a
// variable: outside comments and string literals, not after "." or ":".
func scanIdents(src string, f func(i, j int)) {
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			i++
			for i < len(src) && src[i] != c && src[i] != '\n' {
				if src[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case isIdentStart(c):
			j := i
			for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			if i == 0 || (src[i-1] != '.' && src[i-1] != ':') {
				f(i, j)
			}
			i = j
		case c >= '0' && c <= '9':
			for i < len(src) && (isIdentStart(src[i]) || src[i] >= '0' && src[i] <= '9' || src[i] == '.') {
				i++
			}
		default:
			i++
		}
	}
}

// qualify rewrites src's uses of names as fields of the table lib
// (name -> lib.name).
func qualify(src string, names map[string]bool, lib string) string {
	if len(names) == 0 {
		return src
	}
	var b strings.Builder
	last := 0
	scanIdents(src, func(i, j int) {
		if names[src[i:j]] {
			b.WriteString(src[last:i])
			b.WriteString(lib + ".")
			last = i
		}
	})
	b.WriteString(src[last:])
	return b.String()
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// shake returns the statements of libs that the bodies reach, in their
// order. A statement uses only names declared above it (Lua resolves
// locals where they are written), so one pass from the last statement up
// finds them all.
func shake(libs []stmt, bodies []string) []stmt {
	need := map[string]bool{}
	for _, b := range bodies {
		for _, n := range identifiers(b) {
			need[n] = true
		}
	}
	keep := make([]bool, len(libs))
	for i := len(libs) - 1; i >= 0; i-- {
		for _, n := range libs[i].declares {
			if need[n] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, n := range libs[i].uses {
				need[n] = true
			}
		}
	}
	var out []stmt
	for i, s := range libs {
		if keep[i] {
			out = append(out, s)
		}
	}
	return out
}

// markLazy marks the statements of index.lua: lazy, those idx_load
// defines, which use neither idx_load nor idx_parse; the others are
// defined at once, after idx_load.
func markLazy(lib []stmt) []stmt {
	for i := range lib {
		lib[i].lazy = !slices.Contains(lib[i].uses, "idx_load") && !slices.Contains(lib[i].uses, "idx_parse")
		lib[i].afterLoad = !lib[i].lazy
	}
	return lib
}

// emit writes the kept statements: the other libraries' in order, then
// idx_load, which defines the lazy ones as its own locals and keeps them in
// one table, idx_lib, then the rest of index.lua's. It returns the lazy
// names, which code outside idx_load reads as idx_lib's fields (qualify):
// a closure of the body that captured each of them as a local of its own
// cost one allocation per name per call (Save: about 1 us of 6). It panics
// when a lazy statement uses a name defined after idx_load (there it would
// read a global): the build is wrong, not data.
func emit(b *strings.Builder, kept []stmt) map[string]bool {
	var names []string
	lazy := map[string]bool{}
	later := map[string]bool{}
	index := false
	for _, s := range kept {
		switch {
		case s.lazy:
			names = append(names, s.declares...)
			for _, n := range s.declares {
				lazy[n] = true
			}
			index = true
		case s.afterLoad:
			for _, n := range s.declares {
				later[n] = true
			}
			index = true
		default:
			b.WriteString(s.text)
		}
	}
	if !index {
		return nil
	}
	b.WriteString("\n-- idx_load defines the index library on first use (lua/shake.go).\n")
	b.WriteString("local " + lazyTable + " = nil\nlocal function idx_load()\n  if " + lazyTable + " then return end\n")
	if len(names) > 0 {
		b.WriteString("  local " + strings.Join(names, ", ") + "\n")
	}
	for _, s := range kept {
		if !s.lazy {
			continue
		}
		for _, n := range s.uses {
			if later[n] {
				panic("lua: lazy statement " + s.declares[0] + " uses " + n + ", defined after idx_load")
			}
		}
		head := strings.TrimPrefix(s.head, "local ")
		if rest, ok := strings.CutPrefix(head, "function "); ok {
			name, args, _ := strings.Cut(rest, "(")
			head = name + " = function(" + args
		}
		b.WriteString(strings.Replace(s.text, s.head, head, 1))
	}
	fields := make([]string, len(names))
	for i, n := range names {
		fields[i] = n + " = " + n
	}
	b.WriteString("  " + lazyTable + " = { " + strings.Join(fields, ", ") + " }\nend\n")
	for _, s := range kept {
		if s.afterLoad {
			b.WriteString(qualify(s.text, lazy, lazyTable))
		}
	}
	return lazy
}

// lazyTable is the local that holds the lazy library once idx_load ran.
const lazyTable = "idx_lib"
