package rapyer

import (
	"context"
	"net"
	"time"

	"github.com/gomodule/redigo/redis"
)

// The executor's wire: every command written to a connection and every
// reply read from one goes through the functions of this file, whatever
// the path (a pooled round trip in exec.go and conn_own.go, a multiplexed
// one in muxpipe.go, the connection type of conn.go). Nothing else in the
// library touches a connection's bytes, so that encoding, flushing and
// reading have one owner to change, count or fault.

// wireSend encodes one command into c's output buffer (redigo's encoder:
// nothing goes out until the buffer fills or wireFlush).
func wireSend(c redis.Conn, name string, args ...any) error { return c.Send(name, args...) }

// wireSender is wireSend bound to c, for a request's write function.
func wireSender(c redis.Conn) func(string, ...any) error { return c.Send }

// keepSender is wireSender for a connection that may keep the arguments
// after Send returns (rapyer's pooled conn queues them till its drain; a
// pool given to NewStore may hold any redis.Conn): it sends a copy, since
// writeUnit reuses its slice once send returns.
func keepSender(c redis.Conn) func(string, ...any) error {
	return func(name string, args ...any) error { return c.Send(name, append([]any(nil), args...)...) }
}

// wireFlush writes what c holds encoded.
func wireFlush(c redis.Conn) error { return c.Flush() }

// wireDo writes cmd (none when "") after what was sent on c and reads every
// reply owed, each within d (0: no limit).
func wireDo(c redis.Conn, d time.Duration, cmd string, args ...any) (any, error) {
	return redis.DoWithTimeout(c, d, cmd, args...)
}

// wireDoContext is wireDo bounded by ctx (conn.DoContext on rapyer's own
// connections; redigo's goroutine per call on others).
func wireDoContext(ctx context.Context, c redis.Conn, cmd string, args ...any) (any, error) {
	return redis.DoContext(c, ctx, cmd, args...)
}

// wireReceive reads one reply from c within d (0: no limit).
func wireReceive(c redis.Conn, d time.Duration) (any, error) {
	return redis.ReceiveWithTimeout(c, d)
}

// wireWrite writes b to the socket nc as it is (a multiplexed batch, or
// redigo's buffer through ctlConn).
func wireWrite(nc net.Conn, b []byte) (int, error) { return nc.Write(b) }

// wireReader is the socket nc's read, for respReader (respread.go).
func wireReader(nc net.Conn) func([]byte) (int, error) { return nc.Read }
