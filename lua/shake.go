package lua

import "strings"

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

// stmt is one top-level statement of a library with the comment above it:
// the names it declares (`local function f`, `local a, b = ...`) and the
// identifiers its code uses (comments and strings left out).
type stmt struct {
	text     string
	declares []string
	uses     []string
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
			out = append(out, stmt{text: text, declares: declared(head), uses: identifiers(text)})
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
			name := src[i:j]
			if (i == 0 || (src[i-1] != '.' && src[i-1] != ':')) && !seen[name] {
				seen[name] = true
				out = append(out, name)
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
	return out
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
