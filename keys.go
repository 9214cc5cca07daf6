package rapyer

import (
	"sync"

	"fmt"
	"github.com/mna/redisc"
	"strconv"
	"strings"
)

// The key builder: the only code that knows the key format.
//
//	object hash:      <prefix>{<model>:<shard>}:o:<id>
//	container field:  <prefix>{<model>:<shard>}:f:<field>:<id>
//	shard-wide keys:  <prefix>{<model>:<shard>}:x:<name>   (indexes, later)
//	named lock:       <prefix>{<model>:<shard>}:l:<name>:<id>
//	fencing counters: <prefix>{<model>:<shard>}:x:fence    (a HASH: lock name -> last token)
//
// The hash tag {<model>:<shard>} comes first, so an id holding '{', '}' or
// ':' cannot move it (Redis hashes the text between the first '{' and the
// first '}' after it). Model and field names are restricted to letters,
// digits, '_', '-' (models) and '.' (nested fields), and the prefix may not
// hold braces, so the parts stay unambiguous: parseKey inverts buildKey.

// MaxIDLen is the longest id accepted, in bytes.
const MaxIDLen = 512

func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty id", ErrInvalid)
	case len(id) > MaxIDLen:
		return fmt.Errorf("%w: id of %d bytes is longer than %d", ErrInvalid, len(id), MaxIDLen)
	}
	return nil
}

// shardOf maps an id to one of n shards (FNV-1a, stable across versions).
func shardOf(id string, n int) uint32 {
	if n <= 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return h % uint32(n)
}

// shardPrefix is the key prefix of shard of model: its hash tag is
// {model:shard}; with spread n (a cluster's 2..1024 shards) it is
// {model:shard.k} with the smallest k that puts shard i's slot in the i-th
// of n equal slot ranges (spread tags: masters holding equal contiguous
// slot ranges get equal shares of the model's shards; plain {model:i} tags
// land by CRC16 luck, 44% of a 16-shard model on the busiest of 3
// masters). On one server spread is 0, so keys there keep {model:i}. The
// shard count and this scheme are part of the key layout.
func shardPrefix(prefix, model string, shard, spread uint32) string {
	n := spread
	if n > 1 && n <= maxSpread {
		return prefix + "{" + spreadTags(model, n)[shard] + "}:"
	}
	return prefix + "{" + model + ":" + strconv.FormatUint(uint64(shard), 10) + "}:"
}

// maxSpread is the most shards that get spread tags (finding one costs
// about n CRC16s, so n*n per model).
const maxSpread = 1024

// spreadCache holds each (model, n)'s tags, made once.
var spreadCache sync.Map // spreadKey -> []string

type spreadKey struct {
	model string
	n     uint32
}

// spreadTags returns the hash tags of model's n shards (see shardPrefix).
func spreadTags(model string, n uint32) []string {
	key := spreadKey{model, n}
	if v, ok := spreadCache.Load(key); ok {
		return v.([]string)
	}
	tags := make([]string, n)
	for i := uint32(0); i < n; i++ {
		lo, hi := i*hashSlots/n, (i+1)*hashSlots/n
		base := model + ":" + strconv.FormatUint(uint64(i), 10)
		tags[i] = base
		for k := 0; ; k++ {
			t := base + "." + strconv.Itoa(k)
			if sl := uint32(redisc.Slot(t)); sl >= lo && sl < hi {
				tags[i] = t
				break
			}
		}
	}
	v, _ := spreadCache.LoadOrStore(key, tags)
	return v.([]string)
}

// hashSlots is Redis Cluster's slot count.
const hashSlots = redisc.HashSlots

func objectKey(prefix, model string, shard, n uint32, id string) string {
	return objectKeyAt(shardPrefix(prefix, model, shard, n), id)
}

func fieldKey(prefix, model string, shard, n uint32, field, id string) string {
	return fieldKeyAt(shardPrefix(prefix, model, shard, n), field, id)
}

// objectKeyAt and fieldKeyAt are objectKey and fieldKey in the shard whose
// shardPrefix is head (operations on many objects make head once).
func objectKeyAt(head, id string) string { return head + "o:" + id }

func fieldKeyAt(head, field, id string) string { return head + "f:" + field + ":" + id }

// lockKey is the key of the lock named name on an object (lock.go): same
// hash tag as the object, so the lock script runs in the object's slot. Lock
// names are field-name parts (no ':'), so the name cannot reach into the id.
func lockKey(prefix, model string, shard, n uint32, name, id string) string {
	return shardPrefix(prefix, model, shard, n) + "l:" + name + ":" + id
}

// fenceKey is the HASH of a shard's fencing counters, one field per lock
// name (lock.go). It lives beside the shard's index keys and is never
// deleted, so a lock's tokens keep growing after its object is deleted or
// expires; an object's locks share its hash tag, so one slot.
func fenceKey(prefix, model string, shard, n uint32) string {
	return shardPrefix(prefix, model, shard, n) + "x:fence"
}

// parseShard reads the shard number of a hash tag's tail: "i", or "i.k"
// for a spread tag (see shardPrefix).
func parseShard(s string) (uint32, bool) {
	num, k, spread := strings.Cut(s, ".")
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != num {
		return 0, false
	}
	if spread {
		if kn, err := strconv.ParseUint(k, 10, 32); err != nil || strconv.FormatUint(kn, 10) != k {
			return 0, false
		}
	}
	return uint32(n), true
}

// parsedKey is what parseKey recovers from a key.
type parsedKey struct {
	model string
	shard uint32
	kind  byte // 'o' object hash, 'f' container field
	field string
	id    string
}

// parseKey inverts objectKey and fieldKey for a known prefix.
func parseKey(prefix, key string) (parsedKey, bool) {
	var p parsedKey
	rest, ok := strings.CutPrefix(key, prefix+"{")
	if !ok {
		return p, false
	}
	tag, rest, ok := strings.Cut(rest, "}:")
	if !ok {
		return p, false
	}
	model, shard, ok := strings.Cut(tag, ":")
	if !ok {
		return p, false
	}
	n, ok := parseShard(shard)
	if !ok {
		return p, false
	}
	p.model, p.shard = model, uint32(n)
	switch {
	case strings.HasPrefix(rest, "o:"):
		p.kind, p.id = 'o', rest[2:]
	case strings.HasPrefix(rest, "f:"):
		field, id, ok := strings.Cut(rest[2:], ":")
		if !ok {
			return p, false
		}
		p.kind, p.field, p.id = 'f', field, id
	default:
		return p, false
	}
	return p, true
}

// validModelName: a letter, then letters, digits, '_' or '-'; at most 64 bytes.
func validModelName(s string) bool { return validName(s, true) }

// validFieldPart: a letter, then letters, digits or '_'; at most 64 bytes.
func validFieldPart(s string) bool { return validName(s, false) }

func validName(s string, dash bool) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_'):
		case i > 0 && dash && r == '-':
		default:
			return false
		}
	}
	return true
}

// indexKey is the x:i ZSET of an indexed field in one shard (lua/index.lua).
func indexKey(prefix, model string, shard, n uint32, field string) string {
	return shardPrefix(prefix, model, shard, n) + "x:i:" + field
}

// allKey is the x:all ZSET of a shard's indexed objects.
func allKey(prefix, model string, shard, n uint32) string {
	return shardPrefix(prefix, model, shard, n) + "x:all"
}

// revKey is the x:rev HASH of a shard: id -> its index entries.
func revKey(prefix, model string, shard, n uint32) string {
	return shardPrefix(prefix, model, shard, n) + "x:rev"
}
