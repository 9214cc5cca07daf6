// Package index is the secondary-index and query engine behind rapyer's
// Find, FindOne, FindIDs, Count, DeleteWhere, Iter, Sweep and Reindex.
// Users do not need to import it: they declare indexes with Index() and
// Unique() on a model's fields and query through the root package
// (Users.Find(ctx, st, q.Age.Gte(18))). Handle packages use Leaf,
// Invalid and PrefixOf to build predicates of their own.
//
// It works on plain values, never on models: field names, sort kinds,
// stored texts and their sort keys (SortKey, the Go twin of lua/index.lua's
// encoder), and the key names of each shard, which the root's key builder
// computes (Model). From these it builds the predicate tree (Pred; Not
// pushed down to the leaves, leaves as sets of index-member intervals),
// plans a query (Compile), builds the per-shard calls of lua/query.lua,
// lua/sweep.lua and the Reindex walk as ops.Unit values, and merges the
// shards' replies in output order. It writes to no connection: every round
// trip goes through the Exec the root passes, the root's one executor.
//
// Imports point one way: index imports ops, lua, redigo's reply helpers
// and the standard library, never the root; the root imports index and
// adapts its models to it.
package index

import (
	"context"
	"errors"

	"github.com/rapyer-go/rapyer/ops"
)

// Exec sends units in one round trip (or as few as the executor needs) and
// returns one Result per unit; the root passes its executor. Script errors
// in the results come back to the caller as they are.
type Exec func(ctx context.Context, units []ops.Unit) ([]ops.Result, error)

// Errors of the engine; the root re-labels them with its own sentinels
// (rapyer.ErrInvalid, rapyer.ErrDecode).
var (
	// ErrInvalid: a predicate or query option the engine refuses; nothing
	// was sent.
	ErrInvalid = errors.New("rapyer: invalid argument")
	// ErrDecode: a script's reply does not have the expected shape.
	ErrDecode = errors.New("rapyer: cannot decode stored value")
)
