package testkit

import (
	"context"
	"net"
	"strings"
	"sync"
)

// wireConn counts what a Store sends at the wire: every command it writes
// (the name of each RESP array), and one round trip each time it writes
// after reading (or writes first): the client waited for the server, then
// sent again. A request written in several pieces before its replies are
// read is one round trip; so is a batch of a multiplexed connection (one
// write), and so are batches written back to back before any reply comes
// (they did not wait for each other). Counting here, below redigo and
// rapyer's connections, sees every path, whichever way it writes; a
// multiplexed connection reads and writes at the same time, hence the lock.
type wireConn struct {
	net.Conn
	ctr  *counter
	mu   sync.Mutex
	scan respScanner
	read bool // a Read returned data since the last Write
	used bool // written to before
}

func (c *wireConn) Write(b []byte) (int, error) {
	c.ctr.writing.Add(1)
	defer c.ctr.writing.Add(-1)
	c.mu.Lock()
	if c.read || !c.used {
		c.ctr.trip()
	}
	c.read, c.used = false, true
	c.mu.Unlock()
	c.ctr.wrote()
	n, err := c.Conn.Write(b)
	if n > 0 {
		// Only what the socket took: a write cut short by its deadline is
		// finished later by another Write of the rest, which counts then.
		c.mu.Lock()
		c.scan.feed(b[:n], func(name string) { c.ctr.sent(name, false) })
		c.mu.Unlock()
	}
	return n, err
}

func (c *wireConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.read = true
		c.mu.Unlock()
	}
	return n, err
}

// countingDialer dials as net.Dialer does, then counts on the connection.
func countingDialer(ctr *counter) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &wireConn{Conn: nc, ctr: ctr}, nil
	}
}

// respScanner finds the command names in a stream of RESP arrays of bulk
// strings (what a client sends), fed in any pieces; the rest of each
// command is skipped, not kept.
type respScanner struct {
	state int // 0 '*', 1 count, 2 '$', 3 length, 4 body, 5 CRLF after body
	num   int
	args  int // bulk strings left in the current array
	first bool
	name  []byte
	left  int // body bytes left
	cr    int // CRLF bytes left to skip
}

func (s *respScanner) feed(b []byte, emit func(string)) {
	for i := 0; i < len(b); i++ {
		ch := b[i]
		switch s.state {
		case 0: // expect '*'
			if ch == '*' {
				s.state, s.num = 1, 0
			}
		case 1, 3: // digits, then "\r\n"
			switch {
			case ch >= '0' && ch <= '9':
				s.num = 10*s.num + int(ch-'0')
			case ch == '\n':
				if s.state == 1 {
					s.args, s.first, s.state = s.num, true, 2
					if s.args == 0 {
						s.state = 0
					}
				} else {
					s.left, s.state, s.name = s.num, 4, s.name[:0]
					if s.left == 0 {
						s.state, s.cr = 5, 2
					}
				}
			}
		case 2: // expect '$'
			if ch == '$' {
				s.state, s.num = 3, 0
			}
		case 4: // body
			n := min(s.left, len(b)-i)
			if s.first && len(s.name) < 64 {
				s.name = append(s.name, b[i:i+min(n, 64-len(s.name))]...)
			}
			s.left -= n
			i += n - 1
			if s.left == 0 {
				s.state, s.cr = 5, 2
			}
		case 5: // "\r\n" after the body
			s.cr--
			if s.cr == 0 {
				if s.first {
					emit(strings.ToUpper(string(s.name)))
					s.first = false
				}
				s.args--
				s.state = 2
				if s.args == 0 {
					s.state = 0
				}
			}
		}
	}
}
