// Package lua holds rapyer's server-side scripts. Each script is a .lua file
// in this folder, whose header names its KEYS, ARGV, reply and error replies,
// embedded with go:embed. prelude.lua is prepended to every script; scripts
// that compute on int64 also get int64.lua.
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
	name string
	src  string
	sha  string
}

// Name is the script's file name without ".lua".
func (s *Script) Name() string { return s.name }

// Src is the full source sent with EVAL or SCRIPT LOAD.
func (s *Script) Src() string { return s.src }

// SHA is the hex SHA1 of Src, as EVALSHA wants it.
func (s *Script) SHA() string { return s.sha }

func build(parts ...string) *Script {
	var b strings.Builder
	for _, p := range append([]string{"prelude"}, parts...) {
		src, err := files.ReadFile(p + ".lua")
		if err != nil {
			panic("lua: missing embedded script " + p) // the build embeds every file
		}
		b.Write(src)
		b.WriteByte('\n')
	}
	sum := sha1.Sum([]byte(b.String()))
	return &Script{name: parts[len(parts)-1], src: b.String(), sha: hex.EncodeToString(sum[:])}
}

// The scripts. Each file's header documents its contract.
var (
	Insert = build("index", "insert")
	Update = build("index", "update")
	Int    = build("int64", "index", "int")
	Float  = build("index", "float")
	Scalar = build("index", "scalar")
	Save   = build("index", "save")
	Delete = build("index", "delete")
	// Query, Sweep and Reindex serve the secondary indexes (lua/index.lua).
	Query   = build("index", "query")
	Sweep   = build("index", "sweep")
	Reindex = build("index", "reindex")
	List    = build("list")
	Map     = build("int64", "map")
	Set     = build("set")
	ZSet    = build("zset")
	Lock    = build("lock")
	// InsertMany creates several objects, all or none.
	InsertMany = build("index", "insertmany")
)

// All lists every script, for loading them ahead of a transaction and for tests.
func All() []*Script {
	return []*Script{Insert, Update, Int, Float, Scalar, Save, Delete, Query, Sweep, Reindex, List, Map, Set, ZSet, Lock, InsertMany}
}
