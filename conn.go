package rapyer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
)

// The connections Open dials: redigo's protocol over a net.Conn that a
// context can interrupt. A request arms the connection with its context:
// every read and write deadline is clamped to the context's deadline, and
// context.AfterFunc (no goroutine while the context lives) moves the
// deadlines into the past when the context ends, which wakes a blocked read
// or write at once. A connection interrupted that way is never reused: its
// Err reports it, so the pool discards it instead of handing out a stream
// with a reply still pending.

// errInterrupted marks a connection whose request was cut short by its
// context.
var errInterrupted = errors.New("rapyer: connection interrupted by a context (discarded)")

// ctlConn is a net.Conn whose deadlines a context bounds.
type ctlConn struct {
	net.Conn
	mu      sync.Mutex
	limit   time.Time // the armed context's deadline; zero: none
	stopped bool      // the armed context ended: every deadline is in the past
	// hold, when set (a multiplexed connection: mux.go), keeps what is
	// written instead of sending it, so that a batch goes out in one write;
	// the read deadlines are then the pipe's, not redigo's.
	hold   *[]byte
	holdMu sync.Mutex
}

// Write sends b, or keeps it in hold when set. (Under TLS the reader
// writes too, alerts and post-handshake messages: holdMu.)
func (c *ctlConn) Write(b []byte) (int, error) {
	if c.hold != nil {
		c.holdMu.Lock()
		*c.hold = append(*c.hold, b...)
		c.holdMu.Unlock()
		return len(b), nil
	}
	return wireWrite(c.Conn, b)
}

var past = time.Unix(1, 0)

func (c *ctlConn) clamp(t time.Time) time.Time {
	if c.stopped {
		return past
	}
	if !c.limit.IsZero() && (t.IsZero() || t.After(c.limit)) {
		return c.limit
	}
	return t
}

func (c *ctlConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.clamp(t))
}

func (c *ctlConn) SetReadDeadline(t time.Time) error {
	if c.hold != nil {
		return nil // a multiplexed connection: its pipe sets them (mux.go)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *ctlConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// interrupt wakes whatever blocks on the connection, for good (the
// socket, when it is not there yet, gets its past deadline in attach).
func (c *ctlConn) interrupt() {
	c.mu.Lock()
	c.stopped = true
	if c.Conn != nil {
		_ = c.Conn.SetDeadline(past)
	}
	c.mu.Unlock()
}

// attach gives c its socket while a dial bounded by limit goes on; an
// interrupt may run at the same time.
func (c *ctlConn) attach(nc net.Conn, limit time.Time) {
	c.mu.Lock()
	c.Conn, c.limit = nc, limit
	if c.stopped {
		_ = nc.SetDeadline(past)
	}
	c.mu.Unlock()
}

// arm bounds the connection by ctx until disarm(stop) runs.
// The write deadline is set here, once for the request (now + write, or
// none when write is 0, clamped to ctx's deadline), not by redigo once per
// command: a load of 1000 objects writes 1000 commands.
func (c *ctlConn) arm(ctx context.Context, write time.Duration) (stop func() bool) {
	dl, _ := ctx.Deadline()
	var wd time.Time
	if write > 0 {
		wd = time.Now().Add(write)
	}
	c.mu.Lock()
	c.limit = dl
	_ = c.Conn.SetWriteDeadline(c.clamp(wd))
	c.mu.Unlock()
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.interrupt)
	}
	return stop
}

// disarm ends what arm began and reports whether the context interrupted
// the connection (it is then unusable).
func (c *ctlConn) disarm(stop func() bool) bool {
	if stop != nil && !stop() {
		return true // interrupt ran (or is running)
	}
	c.mu.Lock()
	c.limit = time.Time{}
	cut := c.stopped
	c.mu.Unlock()
	return cut
}

// conn is a redigo connection over a ctlConn. Send only queues: the
// commands are written inside DoContext, under the context, so that a large
// write to a server that stopped reading is bounded too.
type conn struct {
	redis.Conn
	ctl    *ctlConn
	read   time.Duration
	write  time.Duration // per request (redigo's own, per command, is off)
	queue  []queuedCmd
	broken error
	// tls: redigo reads the replies through its own TLS layer over ctl, so
	// ctl's bytes are not the replies (a multiplexed connection then reads
	// them through redigo: muxpipe.go).
	tls bool
	// A request's own round trip (ownTrip): enc encodes and writes its
	// commands (redigo's writer, over ctl, never reading), rd reads the
	// replies, sent counts the commands.
	enc    redis.Conn
	rd     respReader
	sent   int
	sendFn func(string, ...any) error
}

type queuedCmd struct {
	name string
	args []any
}

// NewConn wraps nc, a connection already made to a Redis server (a Unix
// socket, a tunnel, a test double), as Dial's connections are: DoContext
// and ReceiveContext bounded by their context without a goroutine, an
// interrupted connection reporting it in Err. Only the read timeout of opts
// applies (the default when the context has no earlier deadline).
func NewConn(nc net.Conn, opts ...Option) redis.Conn {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	ctl := &ctlConn{Conn: nc}
	return &conn{Conn: redis.NewConn(ctl, cfg.readTimeout, 0), ctl: ctl, read: cfg.readTimeout, write: cfg.writeTimeout}
}

// Dial opens one connection to the server at rawURL as Open's pool does
// (same URL forms and options: dial, read and write timeouts, TLS). Its
// DoContext and ReceiveContext are bounded by their context without a
// goroutine per call, and a connection a context interrupted reports it in
// Err, so a redigo Pool discards it. Use it to build the pool given to
// NewStore; a pool of plain redigo connections works too, with redigo's own
// context handling (a goroutine per call).
func Dial(ctx context.Context, rawURL string, opts ...Option) (redis.Conn, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	t, err := cfg.target(rawURL)
	if err != nil {
		return nil, err
	}
	return dialTarget(ctx, t, &cfg)
}

func dialTarget(ctx context.Context, t *target, cfg *config) (redis.Conn, error) {
	ctl := &ctlConn{}
	d := net.Dialer{Timeout: cfg.dialTimeout, KeepAlive: 5 * time.Minute}
	dialOpts := []redis.DialOption{
		redis.DialReadTimeout(cfg.readTimeout),
		// No write timeout per command: the connection sets one per
		// request (ctlConn.arm); the dial's own writes (AUTH, SELECT)
		// are bounded by its context.
		redis.DialWriteTimeout(0),
		redis.DialTLSHandshakeTimeout(cfg.dialTimeout),
		redis.DialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialFn := d.DialContext
			if cfg.dialer != nil {
				dialFn = cfg.dialer
			}
			nc, err := dialFn(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The TLS handshake, AUTH and SELECT that follow are bounded
			// by ctx too.
			dl, _ := ctx.Deadline()
			ctl.attach(nc, dl)
			return ctl, nil
		}),
	}
	dialOpts = append(dialOpts, t.opts...)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, ctl.interrupt)
	}
	c, err := redis.DialURLContext(ctx, t.url, dialOpts...)
	if stop != nil && !stop() {
		if c != nil {
			_ = c.Close()
		}
		if t.tls && c == nil {
			return nil, fmt.Errorf("%w (no TLS session by then: does the server serve TLS on that port?)", ctx.Err())
		}
		return nil, ctx.Err()
	}
	if err != nil {
		if cerr := ctxDone(ctx); cerr != nil {
			return nil, fmt.Errorf("%w (%v)", cerr, err)
		}
		if _, reply := err.(redis.Error); reply { // AUTH or SELECT refused
			return nil, scriptError(err)
		}
		return nil, err
	}
	ctl.mu.Lock()
	ctl.limit = time.Time{}
	ctl.mu.Unlock()
	return &conn{Conn: c, ctl: ctl, read: cfg.readTimeout, write: cfg.writeTimeout, tls: t.tls}, nil
}

func (c *conn) Err() error {
	if c.broken != nil {
		return c.broken
	}
	return c.Conn.Err()
}

func (c *conn) Send(name string, args ...any) error {
	if c.broken != nil {
		return c.broken
	}
	c.queue = append(c.queue, queuedCmd{name, args})
	return nil
}

// drain hands the queued commands to redigo's writer.
func (c *conn) drain() error {
	if c.broken != nil {
		return c.broken
	}
	for _, q := range c.queue {
		if err := wireSend(c.Conn, q.name, q.args...); err != nil {
			c.dropQueue()
			return err
		}
	}
	c.dropQueue()
	return nil
}

// dropQueue empties the queue, keeping its room but not its arguments.
func (c *conn) dropQueue() {
	clear(c.queue)
	c.queue = c.queue[:0]
}

// drainTimed is drain outside a context (the pool's own calls): the write
// deadline is the write timeout from now, as DoContext's arm would set it.
func (c *conn) drainTimed() error {
	if c.write > 0 {
		_ = c.ctl.SetWriteDeadline(time.Now().Add(c.write))
	}
	return c.drain()
}

func (c *conn) Flush() error {
	if err := c.drainTimed(); err != nil {
		return err
	}
	return wireFlush(c.Conn)
}

func (c *conn) Do(cmd string, args ...any) (any, error) {
	return c.DoWithTimeout(c.read, cmd, args...)
}

func (c *conn) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	if err := c.drainTimed(); err != nil {
		return nil, err
	}
	return wireDo(c.Conn, d, cmd, args...)
}

func (c *conn) Receive() (any, error) { return c.ReceiveWithTimeout(c.read) }

func (c *conn) ReceiveWithTimeout(d time.Duration) (any, error) {
	if err := c.drainTimed(); err != nil {
		return nil, err
	}
	return wireReceive(c.Conn, d)
}

// readTimeout is the wait for a reply that ctx leaves: read (0: none),
// cut to ctx's deadline; context.DeadlineExceeded when it has passed.
func readTimeout(ctx context.Context, read time.Duration) (time.Duration, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return read, nil
	}
	left := time.Until(dl)
	if left <= 0 {
		return 0, context.DeadlineExceeded
	}
	if read == 0 || left < read {
		return left, nil
	}
	return read, nil
}

// callInfo rides in the context given to DoContext when the executor needs
// it: write, which writes the request's commands (given the connection's
// send); sent, a function to run once the commands are flushed and before
// the replies are read (see request.sent); and ours, which the connection
// sets to say it is one of rapyer's (see Store.do).
type callInfo struct {
	write func(send func(string, ...any) error) error
	sent  func()
	ran   bool
	ours  bool
	// wait lengthens the read timeout: the request ends in WAIT, which
	// may take that long to answer (WithWait).
	wait time.Duration
	// raw is offered reply i's bytes before it is parsed (request.raw;
	// ownTrip only).
	raw func(i int, b []byte) bool
}

type callKey struct{}

// DoContext sends the queued commands and cmd (none when cmd is "") and
// reads their replies, bounded by ctx: when ctx ends first, it returns at
// once with ctx's error and the connection is discarded.
func (c *conn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	return c.withContext(ctx, func(timeout time.Duration) (any, error) {
		queued := len(c.queue) > 0
		if err := c.drain(); err != nil {
			return nil, err
		}
		if ci, _ := ctx.Value(callKey{}).(*callInfo); ci != nil {
			ci.ours = true
			if ci.write != nil && cmd == "" && !c.tls && !queued {
				return c.ownTrip(ci, timeout)
			}
			if ci.write != nil {
				// The request's commands, written under the context
				// straight into redigo's buffer, which goes out whenever it
				// fills: the server starts on the first while the rest are
				// written.
				if err := ci.write(wireSender(c.Conn)); err != nil {
					return nil, err
				}
			}
			if ci.sent != nil && cmd == "" {
				if err := wireFlush(c.Conn); err != nil {
					return nil, err
				}
				ci.ran = true
				ci.sent()
			}
		}
		return wireDo(c.Conn, timeout, cmd, args...)
	})
}

// ReceiveContext reads one reply, bounded by ctx as DoContext is.
func (c *conn) ReceiveContext(ctx context.Context) (any, error) {
	return c.withContext(ctx, func(timeout time.Duration) (any, error) {
		if err := c.drain(); err != nil {
			return nil, err
		}
		return wireReceive(c.Conn, timeout)
	})
}

func (c *conn) withContext(ctx context.Context, f func(timeout time.Duration) (any, error)) (any, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if err := ctx.Err(); err != nil {
		c.dropQueue()
		return nil, err
	}
	read := c.read
	if ci, _ := ctx.Value(callKey{}).(*callInfo); ci != nil && read > 0 {
		read += ci.wait
	}
	timeout, err := readTimeout(ctx, read)
	if err != nil {
		return nil, err
	}
	dl, hasDL := ctx.Deadline()
	stop := c.ctl.arm(ctx, c.write)
	r, err := f(timeout)
	if c.ctl.disarm(stop) {
		c.broken = errInterrupted
	}
	if err == nil {
		return r, nil
	}
	if _, reply := err.(redis.Error); reply {
		return r, err
	}
	if cerr := ctx.Err(); cerr != nil {
		c.broken = errInterrupted
		return nil, fmt.Errorf("%w (%v)", cerr, err)
	}
	// The socket's deadline and ctx's timer fire at the same instant; the
	// socket may win. A timeout at or past ctx's deadline is ctx's.
	var ne net.Error
	if hasDL && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
		c.broken = errInterrupted
		return nil, fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return nil, err
}
