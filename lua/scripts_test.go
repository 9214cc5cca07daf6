package lua

import (
	"slices"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// builtins are the globals a script may read: its inputs and what Redis's
// Lua 5.1 provides. A library function a script calls but does not carry
// would read a global of its name (nil: an error at run time, on the path
// that calls it), so every other global read is a defect of the assembly.
var builtins = []string{"KEYS", "ARGV", "redis", "string", "table", "math",
	"tonumber", "tostring", "type", "pairs", "ipairs", "unpack", "next",
	"error", "pcall", "select"}

// scripts is every script and Versioned twin.
func scripts() []*Script {
	var out []*Script
	for _, s := range All() {
		out = append(out, s)
		if v := s.Versioned(); v != nil {
			out = append(out, v)
		}
	}
	return out
}

// globals compiles src with gopher-lua and lists the globals its code
// reads and writes, and the largest upvalue count of its functions.
func globals(t *testing.T, name, src string) (read, written []string, upvalues int) {
	t.Helper()
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	proto, err := glua.Compile(chunk, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var walk func(p *glua.FunctionProto)
	walk = func(p *glua.FunctionProto) {
		upvalues = max(upvalues, int(p.NumUpvalues))
		for _, inst := range p.Code {
			op, bx := int(inst>>26), int(inst&0x3ffff)
			switch op {
			case glua.OP_GETGLOBAL:
				read = append(read, p.Constants[bx].String())
			case glua.OP_SETGLOBAL:
				written = append(written, p.Constants[bx].String())
			}
		}
		for _, q := range p.FunctionPrototypes {
			walk(q)
		}
	}
	walk(proto)
	slices.Sort(read)
	return slices.Compact(read), written, upvalues
}

// TestScriptsReadOnlyBuiltins: every script, as assembled (library
// statements cut to what it reaches, index.lua's behind idx_load), reads no
// global but the builtins, writes none (Redis refuses it), and keeps under
// Lua 5.1's 60 upvalues per function.
func TestScriptsReadOnlyBuiltins(t *testing.T) {
	for _, s := range scripts() {
		read, written, up := globals(t, s.Name(), s.Src())
		for _, g := range read {
			if !slices.Contains(builtins, g) {
				t.Errorf("%s reads global %q: a library function it does not carry?", s.Name(), g)
			}
		}
		if len(written) > 0 {
			t.Errorf("%s writes globals %v", s.Name(), written)
		}
		if up >= 60 {
			t.Errorf("%s: a function with %d upvalues (Lua 5.1 allows 60)", s.Name(), up)
		}
	}
}

// TestShake: a library statement is kept when the body reaches it,
// directly or through another kept statement, in the library's order; the
// others go.
func TestShake(t *testing.T) {
	lib := statements(`-- a comment above a
local function a() return 1 end
local unused, b = 1, 2

-- c uses b (and mentions d in a comment and a string)
local function c()
  -- d
  return b .. 'd' .. x.d
end
local function d() return a() end
`)
	var names []string
	for _, s := range lib {
		names = append(names, strings.Join(s.declares, ","))
	}
	if got := strings.Join(names, " "); got != "a unused,b c d" {
		t.Fatalf("statements declare %q", got)
	}
	for _, tt := range []struct{ body, want string }{
		{"return c()", "unused,b c"},
		{"return d()", "a d"},
		{"return d() + c()", "a unused,b c d"},
		{"return 'a' -- c", ""},
	} {
		var kept []string
		for _, s := range shake(lib, []string{tt.body}) {
			kept = append(kept, strings.Join(s.declares, ","))
		}
		if got := strings.Join(kept, " "); got != tt.want {
			t.Errorf("%q keeps %q, want %q", tt.body, got, tt.want)
		}
	}
}

// TestScriptsCarryWhatTheyUse: scripts carry only the libraries their code
// reaches, and index.lua's statements behind idx_load.
func TestScriptsCarryWhatTheyUse(t *testing.T) {
	for _, tt := range []struct {
		s       *Script
		has     []string
		hasNone []string
	}{
		{List, []string{"function open_container("}, []string{"function idx_load(", "function i64_load(", "function write_object("}},
		{Int, []string{"function i64_load(", "function idx_load(", "\nidx_prepare = function(", "function idx_field_check("}, []string{"function write_object(", "function open_container(", "idx_forget = function("}},
		{Save, []string{"function write_object(", "\nidx_write = function("}, []string{"function i64_load(", "function open_container(", "idx_forget = function(", "function idx_field_check("}},
		{Query, []string{"\nidx_forget = function(", "\nidx_key = function("}, []string{"function write_object(", "function i64_load(", "idx_prepare = function("}},
	} {
		for _, w := range tt.has {
			if !strings.Contains(tt.s.Src(), w) {
				t.Errorf("%s lacks %q", tt.s.Name(), w)
			}
		}
		for _, w := range tt.hasNone {
			if strings.Contains(tt.s.Src(), w) {
				t.Errorf("%s carries %q", tt.s.Name(), w)
			}
		}
	}
}
