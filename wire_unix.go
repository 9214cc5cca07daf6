//go:build unix

package rapyer

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawOf is nc's raw access for writeNow; nil when nc offers none (TLS).
func rawOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// nowWriter writes, through a socket's raw access, what of a buffer the
// socket takes at once, without waiting for room and so without a
// deadline. Its write method value is made once (rc.Write's argument), so
// a write allocates nothing.
type nowWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	b   []byte
	n   int
	err error
}

func newNowWriter(rc syscall.RawConn) *nowWriter {
	if rc == nil {
		return nil
	}
	w := &nowWriter{rc: rc}
	w.fn = w.write
	return w
}

// writeNow writes what of b the socket takes now: n bytes, and the write's
// error (none when the socket merely had no more room).
func (w *nowWriter) writeNow(b []byte) (int, error) {
	w.b, w.n, w.err = b, 0, nil
	if err := w.rc.Write(w.fn); err != nil && w.err == nil {
		w.err = err // the socket is closed
	}
	n, err := w.n, w.err
	w.b = nil
	return n, err
}

func (w *nowWriter) write(fd uintptr) bool {
	for w.n < len(w.b) {
		m, err := syscall.Write(int(fd), w.b[w.n:])
		if m > 0 {
			w.n += m
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			return true // no room now: the rest is the writer goroutine's
		case err != nil:
			w.err = os.NewSyscallError("write", err)
			return true
		case m <= 0:
			w.err = io.ErrShortWrite
			return true
		}
	}
	return true
}
