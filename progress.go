package rapyer

// ChunkOption is an option of the bulk operations (a ManyOption) that the
// queries walking in chunks (DeleteWhere) take too (a QueryOption):
// ChunkSize and Progress.
type ChunkOption interface {
	ManyOption
	QueryOption
}

// Progress makes Reindex, Sweep and DeleteWhere call fn after each round
// trip that advanced, on the caller's goroutine, with the work done so far
// and the total when known (-1 when not):
//
//   - Reindex: done is the objects reindexed (every object its walk
//     found, changed or not); the total is not known while SCAN walks the
//     keyspace (-1), and the last call has done == total;
//   - Sweep: done is the index entries checked (the ids of every shard's
//     x:all walked); total is their number when the sweep began, read in
//     one more round trip (ZCARD of each shard's x:all) sent only with
//     Progress; the last call has done == total;
//   - DeleteWhere: done is the objects deleted; total is -1 until the last
//     call, which has done == total.
//
// fn must not block for long: the operation waits for it. Other
// operations ignore it. Default: none.
func Progress(fn func(done, total int)) ChunkOption { return progressOption(fn) }

type progressOption func(done, total int)

func (p progressOption) applyMany(c *manyConfig)   { c.progress = p }
func (p progressOption) applyQuery(c *queryConfig) { c.progress = p }

// chunkOption is ChunkSize's.
type chunkOption int

func (n chunkOption) applyMany(c *manyConfig) {
	if n > 0 {
		c.chunk = int(n)
	}
}

func (n chunkOption) applyQuery(c *queryConfig) {
	if n > 0 {
		c.chunk = int(n)
	}
}

// report calls a Progress function, when there is one.
func report(fn func(done, total int), done, total int) {
	if fn != nil {
		fn(done, total)
	}
}
