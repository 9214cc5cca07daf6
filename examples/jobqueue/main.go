// Command jobqueue runs a job queue with workers on the embedded server: a
// producer inserts jobs and pushes their ids on a queue object's list;
// workers move ids to a "working" list with a blocking move (so a job a
// worker dies with stays visible there), run each job under a lock they
// take without waiting, record the result, and drop the id from the
// working list.
//
// Round trips per job: the producer's Insert and Append (2); a worker's
// blocking move (3: the existence check, BLMOVE, the version and TTL), the
// lock (1), the reload and the save inside WithLock (2), the unlock (1)
// the Remove (1) and the count (1).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/embedded"
	"github.com/rapyer-go/rapyer/types"
)

// Queue holds job ids: waiting ones, and the ones a worker has taken.
type Queue struct {
	rapyer.Model
	Pending types.List[string]
	Working types.List[string]
	Done    types.Counter[string] // jobs done, per worker
}

var Queues = rapyer.Define("queue", func(q *Queue) rapyer.Fields {
	return rapyer.Fields{q.Pending.Named("pending"), q.Working.Named("working"), q.Done.Named("done")}
})

// Job is one unit of work.
type Job struct {
	rapyer.Model
	N      types.Int
	Status types.Str
	Result types.Int
	By     types.Str
}

var Jobs = rapyer.Define("job", func(j *Job) rapyer.Fields {
	return rapyer.Fields{j.N.Named("n"), j.Status.Named("status"), j.Result.Named("result"), j.By.Named("by")}
}, rapyer.WithTTL(time.Hour))

const (
	jobCount = 20
	workers  = 3
)

func main() {
	ctx := context.Background()
	st, err := embedded.Open(ctx)
	check(err)
	defer st.Close()

	// One queue object, created by whoever comes first.
	q, created, err := Queues.GetOrCreate(ctx, st, "default", nil)
	check(err)
	fmt.Println("queue created:", created)

	var wg sync.WaitGroup
	var done atomic.Int32
	wctx, stop := context.WithCancel(ctx)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(wctx, st, fmt.Sprintf("w%d", w), &done)
		}()
	}

	for i := range jobCount {
		j := Jobs.New(st)
		j.N.Set(int64(i))
		j.Status.Set("queued")
		check(j.Insert(ctx))
		_, err := q.Pending.Append(ctx, j.ID())
		check(err)
	}

	for done.Load() < jobCount {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()

	check(q.Reload(ctx))
	total := int64(0)
	for _, n := range q.Done.Local() {
		total += n
	}
	fmt.Println("jobs done:", total, "pending:", len(q.Pending.Local()), "working:", len(q.Working.Local()))
}

// work takes jobs until ctx ends. Each worker has its own objects: they are
// not safe for concurrent use (the Store is).
func work(ctx context.Context, st *rapyer.Store, name string, done *atomic.Int32) {
	q, err := Queues.Ref(st, "default") // no read: only remote operations
	check(err)
	for {
		id, ok, err := q.Pending.BMove(ctx, &q.Working, time.Second)
		if ctx.Err() != nil {
			return
		}
		check(err)
		if !ok {
			continue // nothing came within a second: wait again
		}
		j, err := Jobs.Ref(st, id)
		check(err)
		err = j.WithLock(ctx, "run", func(ctx context.Context) error {
			// WithLock reloaded the job: its fields are the stored ones.
			j.Result.Set(j.N.Get() * j.N.Get())
			j.Status.Set("done")
			j.By.Set(name)
			return nil
		}, rapyer.NoWait(), rapyer.WithSave())
		if errors.Is(err, rapyer.ErrLocked) {
			continue // another worker runs it
		}
		check(err)
		_, err = q.Working.Remove(ctx, id, 1)
		check(err)
		_, err = q.Done.Incr(ctx, name, 1)
		check(err)
		done.Add(1)
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
