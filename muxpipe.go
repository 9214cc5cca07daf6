package rapyer

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
)

// One multiplexed connection (see mux.go): its calls, its writer and its
// reader.

// pipeConn is one multiplexed connection: rapyer's conn, whose socket
// writes are held (ctlConn.hold) so that a batch goes out in one write.
type pipeConn struct {
	m         *mux
	c         *conn
	rc        redis.Conn // c's redigo protocol
	read      time.Duration
	write     time.Duration
	held      []byte // the batch being written (under c.ctl.holdMu)
	spareHeld []byte // the previous batch's room
	rest      []byte // the end of a write a caller's context cut short, for the writer goroutine
	sent      int    // commands written by the call being written
	sendFn    sendFunc
	writeDL   time.Time // the socket's write deadline (the writer's; see armWrite)

	mu      sync.Mutex
	queue   []*call // to write
	spare   []*call // the previous batch's room
	writing bool    // a write is under way (a caller's, or the writer goroutine's)
	pending []*call // written, replies awaited, in order from head
	head    int
	readDL  time.Time // the socket's read deadline (see armRead)
	writer  *call     // the call whose caller writes a batch now (see call.interrupt)
	cut     bool      // that caller's context ended during its write
	err     error     // the connection broke: every later call fails with it
	dead    atomic.Bool
	last    atomic.Int64 // when a batch was last written (UnixNano)

	// The read side: one reader at a time, a caller (for its own reply,
	// and those before it) or the reader goroutine (see readLoop).
	direct  bool       // callers may read (respReader over the socket; not under TLS)
	reading bool       // under mu: someone has the read side
	reader  *call      // under mu: the call whose caller has it (nil: the goroutine)
	rd      respReader // the reader's
	readFn  func([]byte) (int, error)

	encMu sync.Mutex    // held while a batch is encoded (calls' arguments read)
	wakeW chan struct{} // the writer goroutine: calls are queued for it
	wakeR chan struct{} // the reader goroutine: it has the read side
	quit  chan struct{} // closed when the connection broke
}

func newPipe(c *conn, m *mux) *pipeConn {
	pc := &pipeConn{m: m, c: c, rc: c.Conn, read: c.read, write: c.write,
		wakeW: make(chan struct{}, 1), wakeR: make(chan struct{}, 1), quit: make(chan struct{})}
	pc.sendFn = func(name string, args ...any) error {
		pc.sent++
		return wireSend(pc.rc, name, args...)
	}
	c.ctl.hold = &pc.held
	pc.direct = !c.tls
	pc.reading = !pc.direct // under TLS the reader goroutine always reads
	pc.readFn = wireReader(c.ctl.Conn)
	_ = c.ctl.Conn.SetDeadline(time.Time{}) // the dial's are over
	pc.last.Store(time.Now().UnixNano())
	go pc.writeLoop()
	go pc.readLoop()
	return pc
}

// submit queues c, and writes the queue itself when no write is under
// way; the writer goroutine takes what comes meanwhile. It reports whether
// c's caller got the read side (it then reads: leadRead), and when the
// caller wrote, with a context that can end, the stop of its interruption
// (call.interrupt, registered before the write; the caller stops it once
// done writing and reading).
//
// When replies are owed on the connection, other callers are at work on
// it: the reader that just handed them their replies made them runnable,
// and each is about to queue its next call. So the caller that will write
// yields once first (runtime.Gosched: to the back of the run queue), with
// the write marked under way: the callers that run meanwhile queue their
// calls behind it, and the one write carries them all. Measured at 64
// goroutines on 2 vCPUs: 7 to 16 calls a write instead of 1.3, and the
// server's time per call halved with its reads (DESIGN.md, "Decided for
// concurrent throughput"). A lone caller (no reply owed) writes at once.
func (pc *pipeConn) submit(ctx context.Context, c *call) (lead bool, stop func() bool) {
	pc.mu.Lock()
	if pc.err != nil {
		err := pc.err
		pc.mu.Unlock()
		c.finish(nil, err)
		return false, nil
	}
	pc.queue = append(pc.queue, c)
	if pc.writing {
		pc.mu.Unlock()
		return false, nil
	}
	pc.writing = true
	if pc.head < len(pc.pending) {
		pc.mu.Unlock()
		runtime.Gosched()
		pc.mu.Lock()
	}
	batch := pc.take()
	pc.mu.Unlock()
	if ctx.Done() != nil {
		c.pc = pc
		stop = context.AfterFunc(ctx, c.interruptFn)
	}
	lead = pc.writeBatch(ctx, c, batch)
	pc.mu.Lock()
	more := pc.err == nil && (len(pc.queue) > 0 || pc.rest != nil)
	pc.writing = more
	pc.mu.Unlock()
	if more {
		select {
		case pc.wakeW <- struct{}{}:
		default:
		}
	}
	return lead, stop
}

// take returns the queue and gives it the previous batch's room; under mu.
func (pc *pipeConn) take() []*call {
	b := pc.queue
	pc.queue, pc.spare = pc.spare[:0], nil
	return b
}

func (pc *pipeConn) writeLoop() {
	for {
		select {
		case <-pc.wakeW:
		case <-pc.quit:
			return
		}
		if pc.rest != nil {
			// The end of a caller's write, cut short by its context.
			pc.c.ctl.holdMu.Lock()
			pc.held, pc.rest = append(pc.held, pc.rest...), nil
			pc.c.ctl.holdMu.Unlock()
			if err := pc.flushHeld(context.Background(), nil); err != nil {
				pc.fail(err)
			}
		}
		for {
			pc.mu.Lock()
			if len(pc.queue) == 0 || pc.err != nil {
				pc.writing = false
				pc.mu.Unlock()
				break
			}
			batch := pc.take()
			pc.mu.Unlock()
			pc.writeBatch(context.Background(), nil, batch)
		}
	}
}

// writeBatch writes the calls of batch (those not abandoned) in one write
// and hands them to the reader. own is the call of the caller writing,
// ctx its context (nil and Background: the writer goroutine; see flushHeld); when
// the read side is free, own's caller takes it (writeBatch reports it), or
// else the reader goroutine does.
func (pc *pipeConn) writeBatch(ctx context.Context, own *call, batch []*call) (lead bool) {
	pc.encMu.Lock()
	w := 0
	var err error
	for _, c := range batch {
		if !c.state.CompareAndSwap(callQueued, callTaken) {
			continue // its caller left: never written
		}
		batch[w] = c
		w++
		pc.sent = 0
		if c.write != nil {
			err = c.write(pc.sendFn)
		} else {
			err = pc.sendFn(c.cmd, c.args...)
		}
		c.n = pc.sent
		if err != nil {
			break
		}
		if c.n == 0 {
			err = errors.New("rapyer: a request of no command")
			break
		}
	}
	if err == nil {
		err = wireFlush(pc.rc) // into held
	}
	pc.encMu.Unlock()
	clear(batch[w:])
	calls := batch[:w]
	if err != nil {
		// Half a call may be in held: the stream is lost.
		pc.finishAll(calls, pc.fail(err))
		pc.recycle(calls)
		return false
	}
	pc.mu.Lock()
	if pc.err != nil {
		err = pc.err
		pc.mu.Unlock()
		pc.finishAll(calls, err)
		pc.recycle(calls)
		return false
	}
	if !pc.direct && pc.head == len(pc.pending) && len(calls) > 0 {
		pc.armRead() // replies are owed from now
	}
	pc.pending = append(pc.pending, calls...)
	wake := false
	if !pc.reading && len(calls) > 0 {
		pc.reading = true
		lead = own != nil
		if lead {
			pc.reader = own
		} else {
			wake = true
		}
	}
	pc.mu.Unlock()
	if wake {
		pc.wakeReader()
	}
	pc.recycle(calls)
	pc.c.ctl.holdMu.Lock()
	some := len(pc.held) > 0
	pc.c.ctl.holdMu.Unlock()
	if some {
		err = pc.flushHeld(ctx, own)
		pc.last.Store(time.Now().UnixNano())
	}
	if err != nil {
		pc.fail(err)
	}
	return lead
}

// armRead bounds the wait for the next reply by the read timeout; under mu.
//
// The deadline moves only when less than a read timeout is left on it, and
// then to one and a half from now: a wait is cut after between one and one
// and a half read timeouts. A deadline moved on every call armed a runtime
// timer each time, and each arming woke an idle thread to watch it
// (runtime.wakeNetPoller; measured: about 3 µs of CPU per call on this
// 2-vCPU VM). The deadlines a context's end sets (leadRead) leave readDL
// in the past, so the next wait sets it anew.
func (pc *pipeConn) armRead() {
	if dl, ok := rearm(pc.readDL, pc.read); ok {
		pc.readDL = dl
		_ = pc.c.ctl.Conn.SetReadDeadline(dl)
	}
}

// rearm is the deadline to set for a wait bounded by timeout d (0: none)
// when dl is the one set (armRead, armWrite), and whether to set it: when
// less than d is left on dl, one and a half d from now.
func rearm(dl time.Time, d time.Duration) (time.Time, bool) {
	if d <= 0 {
		return time.Time{}, !dl.IsZero()
	}
	now := time.Now()
	if dl.Sub(now) >= d {
		return dl, false
	}
	return now.Add(d + d/2), true
}

// flushHeld writes the batch in held to the socket in one write, bounded
// by the write timeout (as armRead bounds a read: between one and one and a
// half write timeouts, the deadline moved only when less than one is left).
// A caller's write (own, with its context ctx) ends too when ctx does
// (call.interrupt puts the deadline in the past): what the socket did not
// take is then left in rest (nil error), for the writer goroutine, and the
// caller goes (a write once begun must end for the stream to stay whole;
// a caller must not block past its context). A context already ended
// leaves the whole batch to the writer goroutine.
func (pc *pipeConn) flushHeld(ctx context.Context, own *call) error {
	nc := pc.c.ctl.Conn
	ctl := pc.c.ctl
	ctl.holdMu.Lock()
	buf := pc.held
	pc.held = pc.spareHeld
	ctl.holdMu.Unlock()
	pc.armWrite()
	var n int
	var err error
	if own == nil {
		_, err = wireWrite(nc, buf)
	} else {
		pc.mu.Lock()
		pc.writer = own
		pc.mu.Unlock()
		// ctx ending from here on finds pc.writer: its interruption
		// wakes the write. Ended before, it did not: the write is skipped.
		if ctx.Err() == nil {
			n, err = wireWrite(nc, buf)
		}
		pc.mu.Lock()
		pc.writer = nil
		cut := pc.cut
		pc.cut = false
		pc.mu.Unlock()
		if cut {
			pc.writeDL = past // armWrite sets it anew
		}
		if ctx.Err() != nil && n < len(buf) && (err == nil || errors.Is(err, os.ErrDeadlineExceeded)) {
			pc.rest, err = append([]byte(nil), buf[n:]...), nil
		}
	}
	if cap(buf) > 1<<20 {
		buf = nil // a large batch's room is not kept
	}
	pc.spareHeld = buf[:0]
	return err
}

// armWrite bounds a batch's write by the write timeout (see flushHeld);
// the writer's.
func (pc *pipeConn) armWrite() {
	if dl, ok := rearm(pc.writeDL, pc.write); ok {
		pc.writeDL = dl
		_ = pc.c.ctl.Conn.SetWriteDeadline(dl)
	}
}

// recycle keeps batch's room for the next take.
func (pc *pipeConn) recycle(batch []*call) {
	clear(batch)
	pc.mu.Lock()
	if pc.spare == nil && cap(batch) <= 1024 {
		pc.spare = batch[:0]
	}
	pc.mu.Unlock()
}

func (pc *pipeConn) finishAll(calls []*call, err error) {
	for _, c := range calls {
		c.finish(nil, err)
	}
}

// readLoop is the reader goroutine. Under TLS it always reads (a
// connection the server closes while idle breaks at once, failing no call)
// and completes the calls in order. Otherwise it reads only when it has
// the read side: a batch the writer goroutine wrote while nobody read, or
// what a caller reading for its own reply left (leadRead), until no reply
// is owed.
func (pc *pipeConn) readLoop() {
	for {
		if pc.direct {
			select {
			case <-pc.wakeR:
			case <-pc.quit:
				return
			}
		}
		for {
			pc.mu.Lock()
			if pc.err != nil {
				pc.mu.Unlock()
				return
			}
			if pc.direct && pc.head == len(pc.pending) {
				pc.reading = false
				pc.mu.Unlock()
				break
			}
			if pc.direct {
				pc.armRead()
			}
			pc.mu.Unlock()
			r, err := pc.next(pc.readFn)
			if err != nil {
				pc.fail(err)
				return
			}
			if !pc.deliver(r) {
				return
			}
		}
	}
}

// next reads one reply: rapyer's own reader over the socket, or redigo's
// under TLS (read blocks: its deadline is armRead's).
func (pc *pipeConn) next(read func([]byte) (int, error)) (any, error) {
	if pc.direct {
		return pc.rd.next(read)
	}
	r, err := wireReceive(pc.rc, 0)
	if e, ok := err.(redis.Error); ok {
		r, err = e, nil
	}
	return r, err
}

// errNoWait is what noWait gives rd.next: the reply is not all in.
var errNoWait = errors.New("rapyer: reply not read yet")

func noWait([]byte) (int, error) { return 0, errNoWait }

// leadRead reads, on the caller's goroutine, the replies owed up to and
// including c's: one goroutine handoff fewer than the reader goroutine's
// (measured: 5-8 µs a round trip on 2 loaded cores). When ctx ends first,
// its deadline cuts the read short (respReader loses no byte of it) and
// the reader goroutine reads on. Then it hands the read side on: to the
// reader goroutine when replies are still owed, after taking those
// already buffered. (The interruption is submit's, call.interrupt.)
func (pc *pipeConn) leadRead(ctx context.Context, c *call) {
	read := pc.readFn
	for {
		pc.mu.Lock()
		if pc.err != nil {
			break // with mu held (the connection broke meanwhile)
		}
		if c.over && read != nil {
			pc.mu.Unlock()
			read = nil // the replies already in, without waiting
			continue
		}
		if ctx.Err() != nil || pc.head == len(pc.pending) {
			break // with mu held
		}
		if read != nil {
			pc.armRead()
		}
		pc.mu.Unlock()
		var r any
		var err error
		if read != nil {
			r, err = pc.next(read)
		} else {
			r, err = pc.rd.next(noWait)
		}
		if errors.Is(err, errNoWait) || (err != nil && ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded)) {
			pc.mu.Lock()
			break // with mu held
		}
		if err != nil {
			pc.fail(err)
			pc.mu.Lock()
			break
		}
		if !pc.deliver(r) {
			pc.mu.Lock()
			break
		}
	}
	// mu is held: hand the read side on.
	if pc.reader == c {
		pc.reader = nil
		if pc.err == nil && pc.head < len(pc.pending) {
			pc.wakeReader()
		} else {
			pc.reading = false
		}
	}
	pc.mu.Unlock()
}

// wakeReader gives the reader goroutine the read side.
func (pc *pipeConn) wakeReader() {
	select {
	case pc.wakeR <- struct{}{}:
	default: // it has it already (the connection broke meanwhile)
	}
}

// deliver gives reply r to the call it answers (the first pending), and
// completes that call when r is its last; false when the connection broke.
func (pc *pipeConn) deliver(r any) bool {
	pc.mu.Lock()
	if pc.err != nil {
		pc.mu.Unlock()
		return false
	}
	if pc.head == len(pc.pending) {
		pc.mu.Unlock()
		pc.fail(errors.New("rapyer: a reply came with no command waiting for it"))
		return false
	}
	c := pc.pending[pc.head]
	if c.replies == nil {
		c.replies = make([]any, 0, c.n)
	}
	c.replies = append(c.replies, r)
	done := len(c.replies) == c.n
	if done {
		c.over = true
		pc.pending[pc.head] = nil
		pc.head++
		if pc.head == len(pc.pending) {
			pc.pending, pc.head = pc.pending[:0], 0
			if !pc.direct {
				pc.readDL = time.Time{}
				_ = pc.c.ctl.Conn.SetReadDeadline(pc.readDL) // nothing owed
			}
		} else if !pc.direct {
			pc.armRead()
		}
	}
	idle := done && pc.head == len(pc.pending)
	pc.mu.Unlock()
	if done {
		c.done <- struct{}{}
	}
	if idle && pc.m.retired.Load() {
		// A node that left the cluster's map: its connection closes once
		// nothing is owed on it (the next call goes on a new one).
		if _, broke := pc.breakIf(errRetired, true); broke {
			return false
		}
	}
	return true
}

// errRetired fails the calls that come to a connection closed for
// idleness: none was written, so they go again on another.
var errRetired = errors.New("rapyer: multiplexed connection closed after being idle")

// retireIdle closes pc when nothing was written on it for idle and no call
// is queued or awaits a reply, and reports whether it did (or pc is dead).
func (pc *pipeConn) retireIdle(idle time.Duration) bool {
	if time.Since(time.Unix(0, pc.last.Load())) < idle {
		return false
	}
	_, done := pc.breakIf(errRetired, true)
	return done || pc.dead.Load()
}

// fail breaks the connection for good with err: the calls queued or in
// flight on it fail with err, the socket is closed, the goroutines end.
// The first error wins: fail returns it.
func (pc *pipeConn) fail(err error) error {
	err, _ = pc.breakIf(err, false)
	return err
}

// breakIf is fail; with idleOnly, only when no call is queued, being
// written or awaiting a reply (checked under the same lock), and reports
// whether it broke the connection.
func (pc *pipeConn) breakIf(err error, idleOnly bool) (error, bool) {
	pc.mu.Lock()
	if pc.err != nil {
		err = pc.err
		pc.mu.Unlock()
		return err, false
	}
	if idleOnly && (pc.writing || len(pc.queue) > 0 || pc.head < len(pc.pending)) {
		pc.mu.Unlock()
		return nil, false
	}
	pc.err = err
	pc.dead.Store(true)
	queued, inflight := pc.queue, pc.pending[pc.head:]
	pc.queue, pc.pending, pc.head = nil, nil, 0
	pc.mu.Unlock()
	close(pc.quit)
	pc.c.ctl.interrupt()
	_ = pc.rc.Close()
	pc.finishAll(queued, err)
	pc.finishAll(inflight, err)
	return err, true
}
