package rapyer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gomodule/redigo/redis"
)

// respReader reads the replies of a multiplexed connection (muxpipe.go)
// with redigo's types (int64, []byte, string for a status, redis.Error,
// []any, nil), but can stop at any byte: a read cut short by a deadline
// loses nothing, since a reply is taken from the buffer only when it is
// there whole. So a caller may read its own reply on its own goroutine and,
// when its context ends, leave the rest of the stream to the connection's
// reader goroutine (redigo's reader would have to break the connection).
type respReader struct {
	buf  []byte
	r, w int // buf[r:w] is read and not yet taken
	scan respScan
}

// respScan is how far the reply at the start of the buffer was checked,
// so that a reply arriving in many reads is checked once, not once a read.
type respScan struct {
	pos   int   // bytes of the reply checked whole
	open  []int // elements still due in each array open at pos
	bulk  int   // bytes of bulk strings up to pos
	strs  int   // bulk strings of one byte or more up to pos
	begun bool
}

const (
	respBufSize = 16 << 10
	respKeepMax = 1 << 20 // a larger buffer is dropped once empty
)

var errProtocol = errors.New("rapyer: malformed reply from the server")

// next returns the next reply, reading with read as needed. Its error is
// read's (the reply's bytes so far are kept: next may be called again) or
// a protocol error.
func (rr *respReader) next(read func([]byte) (int, error)) (any, error) {
	b, bulk, strs, err := rr.take(read)
	if err != nil {
		return nil, err
	}
	return parseReply(b, bulk, strs), nil
}

// take is next without the parse: the next reply's bytes, whole (checked
// by respScan.more), with the counts parseReply needs. b is the buffer's:
// valid until the next read.
func (rr *respReader) take(read func([]byte) (int, error)) (b []byte, bulk, strs int, err error) {
	for {
		if rr.w > rr.r {
			done, need, err := rr.scan.more(rr.buf[rr.r:rr.w])
			if err != nil {
				return nil, 0, 0, err
			}
			if done {
				end := rr.r + rr.scan.pos
				b, bulk, strs = rr.buf[rr.r:end], rr.scan.bulk, rr.scan.strs
				rr.r = end
				rr.scan = respScan{open: rr.scan.open[:0]}
				if rr.r == rr.w {
					rr.r, rr.w = 0, 0
					if len(rr.buf) > respKeepMax {
						rr.buf = nil
					}
				}
				return b, bulk, strs, nil
			}
			rr.room(need)
		} else {
			rr.room(0)
		}
		n, err := read(rr.buf[rr.w:])
		rr.w += n
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				continue // the last bytes first
			}
			return nil, 0, 0, err
		}
	}
}

// room makes the buffer's free end at least what a reply of need bytes
// (from r) still lacks, and never empty.
func (rr *respReader) room(need int) {
	if rr.buf == nil {
		rr.buf = make([]byte, max(respBufSize, need))
	}
	have := rr.w - rr.r
	if rr.r > 0 && (rr.w == len(rr.buf) || need > len(rr.buf)-rr.r) {
		copy(rr.buf, rr.buf[rr.r:rr.w])
		rr.r, rr.w = 0, have
	}
	if want := max(need, have+1); want > len(rr.buf)-rr.r {
		nb := make([]byte, max(want, 2*len(rr.buf)))
		copy(nb, rr.buf[rr.r:rr.w])
		rr.buf, rr.r, rr.w = nb, 0, have
	}
}

// more checks b (the reply so far, from its first byte) past what earlier
// calls checked: whether the reply is whole, else the least length it
// needs (0: unknown).
func (s *respScan) more(b []byte) (done bool, need int, err error) {
	if !s.begun {
		s.begun, s.pos, s.bulk, s.strs = true, 0, 0, 0
	}
	for {
		if s.pos >= len(b) {
			return false, 0, nil
		}
		i := bytes.IndexByte(b[s.pos:], '\n')
		if i < 0 {
			return false, 0, nil
		}
		line := b[s.pos : s.pos+i+1]
		if i < 2 || line[i-1] != '\r' {
			return false, 0, errProtocol
		}
		head := line[1 : i-1]
		switch line[0] {
		case '+', '-', ':':
			s.pos += i + 1
		case '$':
			n, err := respLen(head)
			if err != nil {
				return false, 0, err
			}
			end := s.pos + i + 1
			if n >= 0 {
				end += n + 2
				if end > len(b) {
					return false, end, nil
				}
				if b[end-2] != '\r' || b[end-1] != '\n' {
					return false, 0, errProtocol
				}
				s.bulk += n
				if n > 0 {
					s.strs++
				}
			}
			s.pos = end
		case '*':
			n, err := respLen(head)
			if err != nil {
				return false, 0, err
			}
			s.pos += i + 1
			if n > 0 {
				s.open = append(s.open, n)
				continue
			}
		default:
			return false, 0, errProtocol
		}
		// An element ended: so did the arrays it was the last one of.
		for len(s.open) > 0 {
			s.open[len(s.open)-1]--
			if s.open[len(s.open)-1] > 0 {
				break
			}
			s.open = s.open[:len(s.open)-1]
		}
		if len(s.open) == 0 {
			s.begun = false
			return true, 0, nil
		}
	}
}

// respLen reads a length: -1 or a non-negative decimal.
func respLen(b []byte) (int, error) {
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, nil
	}
	if len(b) == 0 || len(b) > 10 {
		return 0, errProtocol
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errProtocol
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// parseReply decodes one whole reply (checked by respScan.more): its bulk
// strings (bulk bytes in all) are copied into one allocation, and when
// there are several (strs, of one byte or more), their slice headers are
// another, boxed without a copy (boxBytes): an HGETALL reply of n fields
// costs three allocations, not 2n+1.
func parseReply(b []byte, bulk, strs int) any {
	var p replyParse
	if bulk > 0 {
		p.arena = make([]byte, 0, bulk)
	}
	if strs > 1 {
		p.hdrs = make([][]byte, 0, strs)
	}
	v, _ := p.at(b, 0)
	return v
}

// emptyBulk is every empty bulk string: empty, not nil (a stored "" is not
// an absent value), shared (an append to it allocates anew: capacity 0).
var emptyBulk any = []byte{}

// replyParse is parseReply's state: where bulk strings and their headers go.
type replyParse struct {
	arena []byte
	hdrs  [][]byte // nil: each string boxed on its own
}

// respLine reads the line starting at b[pos] of a whole reply: its type
// byte, the text after it, and where the next line starts.
func respLine(b []byte, pos int) (kind byte, head []byte, next int) {
	i := pos + bytes.IndexByte(b[pos:], '\n')
	return b[pos], b[pos+1 : i-1], i + 1
}

// rawArray reads the header of the array at the start of the whole reply
// b, for a reply read in place (Model.applyRaw): its length and where its
// first element starts; false for another kind of reply.
func rawArray(b []byte) (n, pos int, ok bool) {
	if len(b) < 4 || b[0] != '*' {
		return 0, 0, false
	}
	_, head, pos := respLine(b, 0)
	n, err := respLen(head)
	return n, pos, err == nil && n >= 0
}

// rawBulk reads the bulk string at b[pos:] of a whole reply: its bytes, in
// place, and where the next element starts; false for anything else (a
// nil string, which HGETALL never gives).
func rawBulk(b []byte, pos int) (v []byte, next int, ok bool) {
	if pos >= len(b) || b[pos] != '$' {
		return nil, 0, false
	}
	_, head, start := respLine(b, pos)
	n, err := respLen(head)
	if err != nil || n < 0 {
		return nil, 0, false
	}
	return b[start : start+n : start+n], start + n + 2, true
}

func (p *replyParse) at(b []byte, pos int) (any, int) {
	kind, head, pos := respLine(b, pos)
	switch kind {
	case '+':
		switch string(head) {
		case "OK":
			return "OK", pos
		case "PONG":
			return "PONG", pos
		}
		return string(head), pos
	case '-':
		return redis.Error(head), pos
	case ':':
		n, err := strconv.ParseInt(string(head), 10, 64)
		if err != nil {
			return redis.Error(fmt.Sprintf("rapyer: bad integer reply %q", head)), pos
		}
		return n, pos
	case '$':
		n, _ := respLen(head)
		if n <= 0 {
			if n == 0 {
				return emptyBulk, pos + 2
			}
			return nil, pos
		}
		start := len(p.arena)
		p.arena = append(p.arena, b[pos:pos+n]...)
		v := p.arena[start : start+n : start+n]
		if p.hdrs == nil {
			return v, pos + n + 2
		}
		p.hdrs = append(p.hdrs, v)
		return boxBytes(&p.hdrs[len(p.hdrs)-1]), pos + n + 2
	default: // '*'
		n, _ := respLen(head)
		if n < 0 {
			return nil, pos
		}
		out := make([]any, n)
		for k := range out {
			out[k], pos = p.at(b, pos)
		}
		return out, pos
	}
}
