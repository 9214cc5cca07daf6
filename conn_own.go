package rapyer

import (
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
)

// ownTrip is a request's round trip on a pooled connection (DoContext with
// a callInfo's write, nothing queued before it, not under TLS): its
// commands are written by an encoder of their own and its replies read by
// respReader (respread.go), which takes all of a reply's bulk strings in
// one allocation where redigo's reader makes two per string (measured: a
// load of 1000 objects spent three quarters of its CPU and allocations
// there). redigo's own connection never sees these commands, so its count
// of replies owed stays right for the pool's calls (PING, UNWATCH). Any
// failure breaks the connection: the stream may be cut within a reply.
//
// ci.raw, when set, is offered each reply as its bytes first (see
// request.raw); a reply it takes stands as rawTaken.
func (c *conn) ownTrip(ci *callInfo, timeout time.Duration) (any, error) {
	if c.enc == nil {
		// Writes only (no timeout of its own: ctl's write deadline is
		// the request's, set by arm).
		c.enc = redis.NewConn(c.ctl, 0, 0)
		c.sendFn = func(name string, args ...any) error {
			c.sent++
			return wireSend(c.enc, name, args...)
		}
	}
	c.sent = 0
	err := ci.write(c.sendFn)
	if err == nil {
		err = wireFlush(c.enc)
	}
	if err != nil {
		c.broken = err
		return nil, err
	}
	if ci.sent != nil {
		ci.ran = true
		ci.sent()
	}
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(timeout)
	}
	_ = c.ctl.SetReadDeadline(dl)
	replies := make([]any, c.sent)
	for i := range replies {
		b, bulk, strs, err := c.rd.take(wireReader(c.ctl))
		if err != nil {
			c.broken = err
			return nil, err
		}
		if ci.raw != nil && ci.raw(i, b) {
			replies[i] = rawTaken{}
			continue
		}
		replies[i] = parseReply(b, bulk, strs)
	}
	if c.rd.w > c.rd.r {
		// Bytes nobody asked for: the stream cannot be trusted.
		c.broken = fmt.Errorf("%w: %d bytes after the last reply", errProtocol, c.rd.w-c.rd.r)
		return nil, c.broken
	}
	if len(c.rd.buf) > respBufSize {
		// A pool holds many connections: each keeps 16 KB, not what its
		// largest reply needed (a multiplexed one keeps up to 1 MB).
		c.rd.buf = nil
	}
	return replies, nil
}

// rawTaken is the reply of a command whose reply request.raw took (read
// in place, never parsed).
type rawTaken struct{}
