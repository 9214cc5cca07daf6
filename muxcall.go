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

	pc          *pipeConn // where its caller writes or reads (for interrupt)
	interruptFn func()    // interrupt, made once per call (context.AfterFunc's)
}

// calls keeps the calls their callers are done with, each with its done
// channel: a call is reused once its one value was received and nothing
// else can still hold it (see pipeConn.run).
var calls = sync.Pool{New: func() any {
	c := &call{done: make(chan struct{}, 1)}
	c.interruptFn = c.interrupt
	return c
}}

func newCall() *call { return calls.Get().(*call) }

// free gives c back to calls, its fields cleared (the replies are the
// caller's now).
func (c *call) free() {
	c.write, c.cmd, c.args, c.replies, c.err = nil, "", nil, nil, nil
	c.n, c.over, c.pc = 0, false, nil
	c.state.Store(callQueued)
	calls.Put(c)
}

// interrupt is what the end of the context of c's caller does while the
// caller writes c's batch or reads replies on c.pc (registered by submit):
// the socket's write or read deadline put in the past wakes the blocked
// write or read (pc.writer, pc.reader name the call whose caller does it).
// The caller then leaves, its write's rest and the replies to the writer
// and reader goroutines.
func (c *call) interrupt() {
	pc := c.pc
	pc.mu.Lock()
	if pc.err == nil {
		if pc.writer == c {
			pc.cut = true
			_ = pc.c.ctl.Conn.SetWriteDeadline(past)
		}
		if pc.reader == c {
			pc.readDL = past
			_ = pc.c.ctl.Conn.SetReadDeadline(past)
		}
	}
	pc.mu.Unlock()
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
	lead, stop := pc.submit(ctx, c)
	if sent != nil {
		sent()
	}
	if lead {
		pc.leadRead(ctx, c)
	}
	// c's interruption may still run (it compares pc.writer and pc.reader
	// with c): then c must not be reused.
	kept := stop != nil && !stop()
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
