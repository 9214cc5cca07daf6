// Package lua holds rapyer's server-side scripts. Each script is a .lua file
// in this folder, whose header names its KEYS, ARGV, reply and error replies,
// embedded with go:embed. The libraries prelude.lua, int64.lua (scripts that
// compute on int64) and index.lua (scripts that keep indexes) come before a
// script's body, cut to the statements the body reaches, index.lua's
// defined on first use (shake.go). Each field script also has a Versioned
// twin whose reply carries the object's new version.
//
// Scripts stay inside what Redis 7.0 and miniredis both run: Lua 5.1 with the
// string, table and math libraries, every key passed through KEYS, and no
// integer beyond 2^53 ever computed in a double (int64.lua does exact
// arithmetic on decimal strings).
//
// This package does no I/O: the root package runs a Script by EVALSHA and falls
// back to EVAL on NOSCRIPT, in one place.
package lua

import (
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"strings"
)

//go:embed *.lua
var files embed.FS

// Script is one server-side script: its name, full source and SHA1.
type Script struct {
	name      string
	src       string
	sha       string
	versioned *Script // a field script's twin that also replies the version
}

// Name is the script's file name without ".lua".
func (s *Script) Name() string { return s.name }

// Src is the full source sent with EVAL or SCRIPT LOAD.
func (s *Script) Src() string { return s.src }

// SHA is the hex SHA1 of Src, as EVALSHA wants it.
func (s *Script) SHA() string { return s.sha }

// Versioned returns the twin of a field script (Int, Float, Scalar, List,
// Map, Set, ZSet) that runs the same code and replies {version, reply}:
// reply is the script's own reply and version the object version its write
// left, nil when it wrote nothing (bumped in prelude.lua); error replies pass
// through as they are. Models with WithVersionCheck run the twins, so that
// their Version follows their own field operations. Nil for other scripts.
func (s *Script) Versioned() *Script { return s.versioned }

func build(parts ...string) *Script {
	return assemble(false, "", parts)
}

// buildField builds a field script and its Versioned twin.
func buildField(parts ...string) *Script {
	s := assemble(false, "", parts)
	s.versioned = assemble(true, "", parts)
	return s
}

// buildEach builds driver, a script that runs the body of parts' last
// script once per object in one call (savemany.lua runs save.lua's). The
// script's first statement shadows KEYS and ARGV with locals, which the
// library code below captures: the driver binds them to each object's own
// (each_slice) and calls the body, made the function <last>_one. One script
// call pays the fixed cost of a call (a few µs of setup on the server) once
// for all its objects.
func buildEach(driver string, parts ...string) *Script {
	return assemble(false, driver, parts)
}

// headPrefix marks a part of a script's head (build's parts): code that
// runs first of all, before the libraries are defined, so that a call it
// finishes makes none of their closures (a fast path: see intadd.head.lua
// and savefast.lua). The head's parts are read from their files in order
// and run inside a function whose non-nil reply is the script's (for the
// Versioned twin, wrapped with head_bumped, the version the head wrote, as
// the body's is with bumped); nil goes on to the script's body, the head
// having written nothing. A head is self-contained: it cannot use the
// libraries (TestScriptsReadOnlyBuiltins would see such a name as a
// global).
const headPrefix = "head:"

// writeHead writes the head made of parts (none: no head).
func writeHead(b *strings.Builder, parts []string, versioned bool) {
	if len(parts) == 0 {
		return
	}
	b.WriteString("local head_bumped = false\nlocal function head_main()\n")
	for _, p := range parts {
		b.WriteString(read(p))
	}
	b.WriteString("\nend\nlocal head_reply = head_main()\nif head_reply ~= nil then\n")
	if versioned {
		b.WriteString("  if type(head_reply) == 'table' and head_reply.err then return head_reply end\n" +
			"  return { head_bumped, head_reply }\n")
	} else {
		b.WriteString("  return head_reply\n")
	}
	b.WriteString("end\n")
}

// read returns the embedded file name.lua.
func read(name string) string {
	src, err := files.ReadFile(name + ".lua")
	if err != nil {
		panic("lua: missing embedded script " + name) // the build embeds every file
	}
	return string(src)
}

// eachPrelude opens a buildEach script: the locals KEYS and ARGV, and
// each_slice, which copies t[from..to] into a new table (unpack stops near
// 8000 values, so a long one is copied item by item).
const eachPrelude = `local KEYS, ARGV = KEYS, ARGV
local function each_slice(t, from, to)
  if to - from < 4000 then return { unpack(t, from, to) } end
  local out = {}
  for j = from, to do out[j - from + 1] = t[j] end
  return out
end
`

// assemble is prelude.lua then parts, the libraries among them cut to what
// the bodies reach (shake.go); with versioned, the last part runs as a
// function whose reply is wrapped (see Versioned); with a driver, the last
// part is a function the driver calls per object (see buildEach).
func assemble(versioned bool, driver string, parts []string) *Script {
	var libs []stmt
	var bodies, head []string
	for len(parts) > 0 && strings.HasPrefix(parts[0], headPrefix) {
		head = append(head, strings.TrimPrefix(parts[0], headPrefix))
		parts = parts[1:]
	}
	for i, p := range append([]string{"prelude"}, parts...) {
		src := read(p)
		if libraries[p] {
			lib := statements(src)
			if p == lazyLib {
				lib = markLazy(lib)
			}
			libs = append(libs, lib...)
			continue
		}
		body := src + "\n"
		if versioned && i == len(parts) {
			body = "local function field_main()\n" + body +
				"end\nlocal reply = field_main()\n" +
				"if type(reply) == 'table' and reply.err then return reply end\n" +
				"return { bumped, reply }\n"
		}
		if driver != "" && i == len(parts) {
			body = "local function " + p + "_one()\n" + body + "end\n"
		}
		bodies = append(bodies, body)
	}
	name := parts[len(parts)-1]
	var b strings.Builder
	writeHead(&b, head, versioned)
	if driver != "" {
		bodies = append(bodies, read(driver)+"\n")
		b.WriteString(eachPrelude)
		name = driver
	}
	lazy := emit(&b, shake(libs, bodies))
	for _, body := range bodies {
		b.WriteString(qualify(body, lazy, lazyTable))
	}
	sum := sha1.Sum([]byte(b.String()))
	if versioned {
		name += "+version"
	}
	return &Script{name: name, src: b.String(), sha: hex.EncodeToString(sum[:])}
}

// The scripts. Each file's header documents its contract.
var (
	Insert = build("index", "insert")
	Update = build("index", "update")
	// Int, Float, Scalar, List, Map, Set and ZSet are the field scripts,
	// each with its Versioned twin.
	Int = buildField("int64", "index", "int")
	// IntAdd is Int's add and sub on a field without an index (the
	// common Incr): int.lua's replies without index.lua's code.
	IntAdd = buildField(headPrefix+"intadd.head", "int64", "intadd")
	Float  = buildField("index", "float")
	Scalar = buildField("index", "scalar")
	Save   = build(headPrefix+"savefast", headPrefix+"save.head", "index", "save")
	// LockedSave is Save behind an owner check of a lock (lockcheck.lua):
	// Model.WithLock with WithSave.
	LockedSave = build("index", "lockcheck", "save")
	Delete     = build("index", "delete")
	// Query, Sweep and Reindex serve the secondary indexes (lua/index.lua).
	Query   = build("index", "query")
	Sweep   = build("index", "sweep")
	Reindex = build("index", "reindex")
	List    = buildField("list")
	Map     = buildField("int64", "map")
	Set     = buildField("set")
	ZSet    = buildField("zset")
	Lock    = build("lock")
	// SaveMany saves several objects of one hash slot, each as Save does,
	// each on its own (lua/savemany.lua).
	SaveMany = buildEach("savemany", "savefast", "index", "save")
	// InsertMany creates several objects, all or none.
	InsertMany = build("index", "insertmany")
	// Read runs a read unit's commands where MULTI cannot (a server out of
	// memory).
	Read = build("read")
	// Touch bumps the version and applies the TTL mode after a blocking pop.
	Touch = build("touch")
	// Claim takes, confirms and releases the claims of unique values of a
	// model over several shards of a cluster.
	Claim = build("claim")
)

// All lists the scripts a Store loads on its first use (SCRIPT LOAD, in the
// same round trip). The Versioned twins are not in it (96 KB that only
// models with WithVersionCheck use): a Store sends one whole (EVAL) the
// first time it needs it, and a transaction sends its scripts whole.
func All() []*Script {
	return []*Script{Insert, Update, Int, IntAdd, Float, Scalar, Save, LockedSave, Delete, Query, Sweep, Reindex, List, Map, Set, ZSet, Lock, SaveMany, InsertMany, Read, Touch, Claim}
}
