package rapyer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A caller's side of a multiplexed connection (muxpipe.go): its call, and
// the round trip that queues it, may read the replies, and waits for its
// own.

// The states of a call.
const (
	callQueued    int32 = iota // waiting for a writer
	callTaken                  // a writer has it: being written, or written
	callAbandoned              // its caller left before a writer took it: never written
)

// call is one request on a multiplexed connection: its commands are what
// write writes, or when write is nil the one command cmd args.
type call struct {
	write   func(sendFunc) error
	cmd     string
	args    []any
	n       int // commands written, so replies to read
	state   atomic.Int32
	replies []any
	err     error
	over    bool          // under pc.mu: its replies were all read
	done    chan struct{} // gets one value when replies or err is set
}

// calls keeps the calls their callers are done with, each with its done
// channel: a call is reused once its one value was received and nothing
// else can still hold it (see pipeConn.run).
var calls = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func newCall() *call { return calls.Get().(*call) }

// free gives c back to calls, its fields cleared (the replies are the
// caller's now).
func (c *call) free() {
	c.write, c.cmd, c.args, c.replies, c.err = nil, "", nil, nil, nil
	c.n, c.over = 0, false
	c.state.Store(callQueued)
	calls.Put(c)
}

func (c *call) finish(replies []any, err error) {
	c.replies, c.err = replies, err
	c.done <- struct{}{}
}

// roundTrip sends what write writes (n commands) and returns their n
// replies (error replies as values), bounded by ctx; sent runs once the
// call is queued or written.
func (pc *pipeConn) roundTrip(ctx context.Context, n int, sent func(), write func(sendFunc) error) ([]any, error) {
	c := newCall()
	c.write = write
	return pc.run(ctx, c, n, sent)
}

// command sends the one command cmd args and returns its reply (an error
// reply as a value), bounded by ctx.
func (pc *pipeConn) command(ctx context.Context, cmd string, args []any) ([]any, error) {
	c := newCall()
	c.cmd, c.args = cmd, args
	return pc.run(ctx, c, 1, nil)
}

// run makes c's round trip (n commands); c is run's, to free once its
// caller is done with it.
func (pc *pipeConn) run(ctx context.Context, c *call, n int, sent func()) ([]any, error) {
	lead := pc.submit(c)
	if sent != nil {
		sent()
	}
	kept := false // c's context may still look at it (leadRead)
	if lead {
		kept = pc.leadRead(ctx, c)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		select {
		case <-c.done: // answered meanwhile
		default:
			if !c.state.CompareAndSwap(callQueued, callAbandoned) {
				// A writer has it: its replies will be read and dropped.
				// Wait for the encoding of its batch (no I/O), after
				// which nothing reads its arguments any more.
				pc.encMu.Lock()
				//lint:ignore SA2001 an empty critical section is the barrier
				pc.encMu.Unlock()
			}
			return nil, ctx.Err() // c is not freed: a writer or reader may hold it
		}
	}
	// c got its one value: no writer, reader or queue holds it any more.
	replies, err := c.replies, c.err
	if err == errRetired {
		// Never written: the connection was closed for idleness just
		// before. Again on a live one.
		next, nerr := pc.m.conn(ctx)
		if nerr != nil {
			return nil, nerr
		}
		again := newCall()
		again.write, again.cmd, again.args = c.write, c.cmd, c.args
		if !kept {
			c.free()
		}
		return next.run(ctx, again, n, sent)
	}
	if !kept {
		c.free()
	}
	if err != nil {
		return nil, err
	}
	if len(replies) != n {
		return nil, fmt.Errorf("rapyer: %d replies for %d commands", len(replies), n)
	}
	return replies, nil
}
