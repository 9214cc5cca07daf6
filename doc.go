// Package rapyer is a typed Redis object mapper: a model is a plain Go struct
// of typed field handles, each handle method is one atomic operation that runs
// on the server in one round trip, and whole objects save, load and expire as
// units. It runs on plain Redis 7.0 (no modules) and on the embedded
// in-process server of package embedded.
//
// # Models and Define
//
// A model is a struct that embeds Model and holds handles from package types
// (types.Int, types.Str, types.Float, types.Bool, types.Bytes, types.Time,
// types.Value[T]) and structs of handles. Define declares it once, with a
// schema function that names every field; nothing reflects, the field list is
// plain Go:
//
//	type Address struct{ City types.Str }
//
//	type User struct {
//		rapyer.Model
//		Name types.Str
//		Age  types.Int
//		Home Address
//	}
//
//	var Users = rapyer.Define("user", func(u *User) rapyer.Fields {
//		return rapyer.Fields{
//			u.Name.Named("name"),
//			u.Age.Named("age").Default(18),
//			rapyer.Nested("home", u.Home.City.Named("city")),
//		}
//	}, rapyer.WithTTL(24*time.Hour))
//
// Define calls the schema function once to check it, and once more for every
// object it creates or loads, to bind that object's handles. It panics, naming
// the culprit, on an invalid or duplicate model or field name, on a handle
// listed twice and on an invalid option: those are programming errors found at
// start-up. Nothing at run time panics, whatever the server holds.
//
// Every Define registers its model by name for the calls by key (GetKey,
// FindKeys, FindOneKey, DeleteKeys: objects of any model, from keys as
// Model.Key prints them, returned as Object). A name defined twice, from
// two lines of the program, would share keys: Define panics (Redefine
// allows it, for tests).
//
// Model names are a letter, then letters, digits, '_' or '-'; field names a
// letter, then letters, digits or '_'; both at most 64 bytes. Nested groups
// are stored under dotted names ("home.city") and may nest.
//
// Only the handles the schema function lists are stored: a handle left out is
// ignored by Save and Get, and its remote operations return ErrUnbound. The
// methods of Model (ID, Key, Version, Save, Update, TTL, ...) are promoted to
// the model struct, so a struct field of the same name hides them.
//
// The Schema that Define returns makes objects: New (a generated id, no I/O),
// NewWithID (a given id, no I/O), Get (load by id), Exists, Delete and
// Duplicate. Use objects through the pointers these return; a zero Model is
// unbound and its I/O methods return ErrUnbound.
//
// # Handles: local and remote
//
// Every handle holds a local value, which is present or absent. Absent is not
// zero: an absent field is a missing hash field in Redis, a field that was
// never set loads as absent, and Default only applies to objects made by New
// and NewWithID.
//
// Get, Set, Lookup, Present and Clear work on the local value and do no I/O.
// Save and Update on the object write local values; Get, Reload and a handle's
// Load read them.
//
// The other methods are remote operations that run on the server: Int.Incr,
// Float.Mul, Str.Append, Bool.Toggle, Time.Add and the rest of package types.
// Each is atomic, reads and writes the stored value (not the local one), and on
// success stores the server's answer as the local value. Arithmetic on an
// absent field starts from zero, as HINCRBY does. An operation on an object
// that does not exist returns ErrNotFound and creates nothing.
//
// Integer arithmetic is exact over the whole int64 range (the scripts compute
// on decimal strings, never on Lua doubles): a result outside int64 returns
// ErrOverflow and writes nothing. Time is stored as Unix nanoseconds, so
// Time.Add keeps every nanosecond; a loaded time is in UTC.
//
// # Round trips
//
// One logical operation is one round trip: one command, one MULTI/EXEC or one
// Lua script, with the TTL refresh inside it.
//
//	Model.Save              script save.lua (HSET with the next _v, HDEL,
//	                        containers, index entries, PEXPIRE; on Redis, a
//	                        model with no index, container or version check:
//	                        HINCRBY _v, HSET, HDEL in the script, savefast.lua)
//	Model.Insert            script insert.lua (create only if missing)
//	Model.Update, Scalar.Save   script update.lua (named fields only)
//	Schema.Get, Model.Reload    HGETALL (+PEXPIRE); with containers, one MULTI
//	                        with a full read of each
//	Scalar.Load             HMGET of the field and the version (+PEXPIRE)
//	Model.Delete            DEL (script delete.lua with indexes)
//	Model.Exists            EXISTS (+PEXPIRE)
//	Model.TTL               PTTL (never refreshes)
//	Model.SetTTL, Persist   MULTI EXISTS PEXPIRE|PERSIST EXEC
//	Int, Time arithmetic    script int.lua (Incr, Decr, Add, Sub of a field
//	                        without an index: intadd.lua; on Redis native
//	                        HINCRBY inside it)
//	Float arithmetic        script float.lua
//	Str, Bytes, Bool ops    script scalar.lua (Len: MULTI EXISTS HSTRLEN EXEC)
//	SetIfAbsent, CompareAndSwap   script scalar.lua
//
//	containers              writes: one script each (list.lua, map.lua,
//	                        set.lua, zset.lua); reads: MULTI EXISTS <read>
//	                        (+PEXPIRE) EXEC
//	Schema.GetMany, ...     one pipeline per ChunkSize objects
//	GetKey, FindKeys, DeleteKeys   as each key's model sends it, one pipeline
//	Find with Among         one pipelined load; the predicate checked in Go
//
// Scripts are sent with EVALSHA. The first Ping of a Store (Open calls it)
// loads them all (SCRIPT LOAD, in the same round trip), and a script the
// Store has not sent before goes whole by EVAL: its first use is one round
// trip. A server that lost them (SCRIPT FLUSH, restart, failover) gets the
// whole script again by EVAL on NOSCRIPT, which is safe because nothing ran;
// inside a Tx scripts always go as EVAL, so EXEC never meets NOSCRIPT.
//
// # Containers
//
// types.List, types.Map, types.Counter, types.Set and types.SortedSet store a
// field as its own Redis LIST, HASH, SET or ZSET beside the object's hash,
// under the same hash tag (Model.Keys lists them). Save writes them, Get and
// Reload read them in the same MULTI/EXEC as the hash (a consistent snapshot),
// Delete and the TTL calls cover them. Their local copy (Local, SetLocal)
// follows each remote operation and is replaced by full reads; it does not see
// other clients' writes until then. Set and SortedSet members and Map keys
// need a native codec: Define panics otherwise.
//
// # Batches, transactions and optimistic concurrency
//
// Store.Batch and Store.Tx call a function with a queue context: every
// operation called with it is queued (the same methods), then everything goes
// in one round trip, as a pipeline (Batch) or one MULTI/EXEC (Tx). Queued calls
// complete afterwards into the handles' local values; Later, Later2 and Later3 capture
// a queued call's own return values. A failed operation inside a Tx does not
// roll back the others: Tx returns a *BatchError naming it and its position.
// SaveMany, InsertMany, DeleteMany, ExistsMany and DeleteKeys are queued too,
// each as one operation. A Batch or Tx opened with a queue context joins the
// outer one (Separate makes it send on its own).
//
// Model.Modify and Schema.Modify watch an object, reload it, run a function and
// save in MULTI/EXEC, retrying when another client wrote in between
// (ErrConflict after MaxAttempts). WithVersionCheck makes Save and Update fail
// with ErrConflict when the stored version is not the one last seen; the
// object's own field operations keep that version in step, also when they are
// queued before its Save in the same Tx or Batch (which then runs guarded by
// WATCH: two round trips, all or nothing).
//
// Model.Lock, TryLock and WithLock take per-object named locks that expire
// (DefaultLockTTL), with an owner check on Extend and Unlock and a fencing
// token (Lock.Token) that increases with every acquisition.
//
// # Secondary indexes and queries
//
// Index and Unique on a scalar field (Age.Named("age").Index()) keep a
// per-shard sorted set of the field's values, updated by every write of the
// object inside its own script; Unique refuses a taken value with ErrExists
// (on Redis Cluster, for a model over several shards, after claiming the
// value in a key of its own slot: WithClaimLease; README, "Redis Cluster").
// Schema.Fields returns a probe object whose handles build typed predicates
// (q.Age.Gte(18), q.Name.Prefix("Al"), And, Or, Not, All); Find, FindOne,
// FindIDs, Count, DeleteWhere and Iter run them in at most two round trips,
// return every match unless Limit says otherwise, sort by any indexed field
// (Asc, Desc) and never return an expired object. Page returns one page and
// the cursor of its last object, which After turns into the start of the
// next page (of Page or Iter), for paging without Offset. Sweep reclaims what expired
// objects left in the indexes; Reindex builds indexes declared after objects
// were saved. DeleteWhere finds and deletes ChunkSize objects at a time;
// Progress reports how far Reindex, Sweep and DeleteWhere are.
//
// # Observability
//
// WithHook gives a Hook that is called around every operation (an
// Operation: name, model, id, units and round trips sent, scripts and
// commands, duration, error) and each round trip; module
// github.com/rapyer-go/rapyer/otel is one, for OpenTelemetry spans and
// metrics. WithLogger logs failed operations at Debug, and, with
// WithSlowThreshold, slow ones at Warn. Store.Stats reads the connection
// pool's figures. Without hook, logger or threshold none of it costs
// anything.
//
// # TTL
//
// A model's objects expire after WithTTL (or the Store's WithDefaultTTL;
// default: never). Save and Insert set the TTL. While refresh is on (the
// default, see WithRefresh and WithTTLRefresh) every operation on an object,
// reads included, re-arms the TTL of all its keys inside its own round trip:
// an object lives for the TTL after its last use. With refresh off, the first
// Save or Insert sets the TTL and later operations leave it alone.
//
// Model.TTL reads the time left (NoExpiry when none) without refreshing it;
// Model.SetTTL and Model.Persist change this one object's expiry until the
// next refreshing operation re-arms the model's TTL.
//
// # JSON, references, get-or-create and job queues
//
// Models implement json.Marshaler and json.Unmarshaler through their
// schema's field list ("_id", then the schema's names, nested groups as
// objects, absent scalars left out, containers as arrays or objects), and
// models and handles implement fmt.Stringer and slog.LogValuer showing
// their values (see Model.MarshalJSON).
//
// Schema.Ref returns a handle on a stored object without reading it, for
// remote operations; Schema.GetOrCreate reads an object or creates it,
// exactly one concurrent caller creating it. A query with Scan works on a
// model without indexes, by SCAN over the keyspace: O(keys).
//
// For job queues: List.BPopFront, List.BPop, List.BMove and
// SortedSet.BPopMin/BPopMax of package types wait for an element
// (BLPOP, BRPOP, BLMOVE, BZPOPMIN, BZPOPMAX on a connection of their own),
// bounded by a timeout and the context; the NoWait lock option makes
// WithLock skip a lock that is held. examples/jobqueue puts them together.
//
// # Errors
//
// Errors are a few sentinels (ErrNotFound, ErrExists, ErrConflict,
// ErrWrongType, ErrOverflow, ErrDivideByZero, ErrDecode, ErrInvalid,
// ErrOutOfRange, ErrLocked, ErrLockLost, ErrUnbound, ErrClosed,
// ErrOutOfMemory, ErrReadOnly), wrapped once in an *Error that names the operation,
// the model, the id and the field:
//
//	u, err := Users.Get(ctx, st, id)
//	if errors.Is(err, rapyer.ErrNotFound) { ... }
//	var e *rapyer.Error
//	if errors.As(err, &e) { log.Println(e.Op, e.Model, e.ID, e.Field) }
//
// Network and context errors are wrapped the same way and stay reachable with
// errors.Is (context.DeadlineExceeded, say). Arguments are checked and values
// encoded before anything is sent, and every script makes its checks before
// its first write, so an operation refused with a sentinel (ErrNotFound,
// ErrExists, ErrOverflow, ErrInvalid, ...) has written nothing.
//
// Stored data that does not decode fails a load with ErrDecode naming the
// field. Get, Reload, GetMany, Find, FindOne and Iter with Tolerant load the
// rest instead, leave the undecodable fields absent (in a container, only
// the undecodable elements are dropped) and list them in Model.LoadErrors; a query also leaves out an object it cannot read at all
// and reports it (*SkippedError).
//
// A server out of memory (maxmemory, noeviction) still serves every read;
// its refusal of a write is ErrOutOfMemory, a read-only replica's is
// ErrReadOnly, and nothing is written in either case.
//
// # Ids and keys
//
// New generates UUIDv7 ids (unique, ordered by creation time); NewWithID and
// Get take any id of 1 to MaxIDLen bytes, braces, colons, spaces and non-ASCII
// included. An object is one Redis hash at
//
//	<prefix>{<model>:<shard>}:o:<id>
//
// holding every field in native text (numbers as decimal text, times as Unix
// nanoseconds, strings raw; types.Value of other types as msgpack) and a version counter "_v" that every write increments
// (Model.Version). The hash tag {<model>:<shard>} comes first, so an id can
// never move it; the shard is 0 unless the model has several: WithShards, or
// the Store's default (WithDefaultShards: 12 on a Store over Redis Cluster,
// OpenCluster, where the tags are spread as {<model>:<shard>.<k>} so that the
// shards fall evenly on the masters; README, "Redis Cluster"). WithPrefix lets
// several applications or tests share one server.
//
// # Concurrency
//
// A Store is safe for concurrent use; make one per server and share it. It
// holds a connection pool (WithPoolSize); every method takes a context, which
// bounds the whole round trip: the wait for a connection, the writes and the
// wait for the reply. When the context ends the call returns its error at
// once (a deadline is always context.DeadlineExceeded) and the connection is
// discarded, so no caller ever reads another's late reply; this costs no
// goroutine per command. A write whose context ended may still have run on
// the server. A Schema is immutable and safe for concurrent use.
//
// Concurrent operations share a few multiplexed connections (one per CPU,
// at least 2; WithMultiplexConns): what callers send at the same time goes
// out in one write (a caller about to write while replies are owed first
// yields once, so that the callers those replies woke join its write) and
// each gets its own replies, in order. A caller whose
// context ends returns at once and its reply, if its command was sent, is
// read and dropped; a connection that breaks fails every operation in
// flight on it with the network error, and the next ones use a new one.
// WATCH (Modify), bulk calls and large requests take a pooled connection of
// their own. On a cluster the same holds per master: each has its own
// multiplexed connections and its own pool. WithoutMultiplexing gives every
// operation a pooled connection instead (better for large values, which
// hold back the replies queued behind them).
//
// The code behind this: exec.go is the one executor that writes to a
// connection (every operation is an ops.Unit it sends), conn.go its
// connections, package index the query engine, package ops the operations as
// values and the way to write a handle of your own.
//
// An object (the struct that New or Get returns) and its handles are not: they
// hold plain local values, like any Go struct. Give each goroutine its own
// object, or guard one with a mutex. On the server, every operation is atomic:
// concurrent Int.Incr calls on the same field from any number of processes
// never lose an update. Save writes the whole object (the last Save wins);
// Update writes only the fields it names.
//
// # The embedded server
//
// Package embedded runs an in-process Redis server (miniredis) on a loopback
// port, for the quick start, examples and tests; programs that never import it
// do not link it:
//
//	st, err := embedded.Open(ctx) // st.Close also stops the server
//
// Its clock is the wall clock, so keys expire on their own as on Redis. For
// tests that move time faster, start the server yourself (embedded.StartT(t)
// stops it when the test ends) and call Server.FastForward to expire keys
// without waiting.
package rapyer
