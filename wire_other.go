//go:build !unix

package rapyer

import (
	"errors"
	"net"
	"syscall"
)

// Without Unix's raw write, a caller's write is bounded by a deadline
// instead (pipeConn.flushHeld).

func rawOf(net.Conn) syscall.RawConn { return nil }

type nowWriter struct{}

func newNowWriter(syscall.RawConn) *nowWriter { return nil }

func (*nowWriter) writeNow([]byte) (int, error) { return 0, errors.New("rapyer: no raw write here") }
