package rapyer

import (
	"bytes"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// respStream is a stream of replies of every kind rapyer meets.
var respStream = "+OK\r\n+PONG\r\n+QUEUED\r\n-ERR wrong\r\n:0\r\n:-9223372036854775808\r\n:42\r\n" +
	"$-1\r\n$0\r\n\r\n$5\r\nab\r\nc\r\n*-1\r\n*0\r\n" +
	"*3\r\n$1\r\na\r\n*2\r\n:1\r\n-NOSCRIPT x\r\n*0\r\n" +
	"*2\r\n*1\r\n*1\r\n$3\r\nxyz\r\n$-1\r\n" +
	"$40000\r\n" + strings.Repeat("z", 40000) + "\r\n" +
	hgetallReply

// hgetallReply is an HGETALL reply: several bulk strings in one array (whose
// headers parseReply boxes together), an empty one among them.
const hgetallReply = "*6\r\n$4\r\nname\r\n$3\r\nann\r\n$5\r\nemail\r\n$0\r\n\r\n$2\r\n_v\r\n$1\r\n7\r\n"

// redigoReplies reads s with redigo's own reader: what the pipe used before.
func redigoReplies(t *testing.T, s string) []any {
	t.Helper()
	c := redis.NewConn(&streamConn{r: strings.NewReader(s)}, time.Minute, time.Minute)
	defer c.Close()
	var out []any
	for {
		r, err := c.Receive()
		if e, ok := err.(redis.Error); ok {
			r, err = e, nil
		}
		if err != nil {
			return out
		}
		out = append(out, r)
	}
}

// streamConn is a net.Conn whose reads give a fixed stream, then EOF
// (net.Pipe with a writer that closes after writing lost the end of the
// stream now and then: one reply in 20 runs).
type streamConn struct {
	net.Conn
	r *strings.Reader
}

func (c *streamConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *streamConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// chunked reads s in pieces of size n, with a deadline error between
// pieces: what a read cut short by a context gives.
func chunked(s string, n int) func([]byte) (int, error) {
	pos, cut := 0, false
	return func(p []byte) (int, error) {
		if pos == len(s) {
			return 0, errors.New("end of stream")
		}
		if cut = !cut; cut {
			return 0, os.ErrDeadlineExceeded
		}
		k := copy(p, s[pos:min(len(s), pos+n)])
		pos += k
		return k, nil
	}
}

// TestRespReader: the pipe's reader gives redigo's values for the same
// stream, however the stream is cut, and a read error in the middle of a
// reply loses none of its bytes. (Parsing only: no server involved; the
// mux tests run it on every backend.)
func TestRespReader(t *testing.T) {
	want := redigoReplies(t, respStream)
	if len(want) != 16 {
		t.Fatalf("redigo read %d replies, want 16", len(want))
	}
	for _, n := range []int{1, 2, 3, 7, 64, 1000, len(respStream)} {
		var rr respReader
		read := chunked(respStream, n)
		var got []any
		for len(got) < len(want) {
			r, err := rr.next(read)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if err != nil {
				t.Fatalf("chunks of %d: after %d replies: %v", n, len(got), err)
			}
			got = append(got, r)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunks of %d: got %#v\nwant %#v", n, got[:12], want[:12])
		}
	}
	// A bulk string of a shared allocation cannot grow into its neighbour.
	var rr respReader
	read := chunked("*2\r\n$2\r\nab\r\n$2\r\ncd\r\n", 100)
	r, err := rr.next(read)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		r, err = rr.next(read)
	}
	if err != nil {
		t.Fatal(err)
	}
	rs := r.([]any)
	_ = append(rs[0].([]byte), 'X')
	if !bytes.Equal(rs[1].([]byte), []byte("cd")) {
		t.Fatalf("append to one bulk string changed the next: %q", rs[1])
	}
	// An HGETALL reply of n fields costs three allocations (the array, the
	// bytes, the headers), whatever n; an empty value stays empty, not nil.
	var scan respScan
	if done, _, err := scan.more([]byte(hgetallReply)); !done || err != nil {
		t.Fatalf("scan: %v %v", done, err)
	}
	var kv []any
	raw := []byte(hgetallReply)
	allocs := testing.AllocsPerRun(100, func() {
		kv = parseReply(raw, scan.bulk, scan.strs).([]any)
	})
	if allocs > 4 {
		t.Fatalf("parseReply of an HGETALL reply: %v allocations, want at most 4", allocs)
	}
	if e, ok := kv[3].([]byte); !ok || e == nil || len(e) != 0 || string(kv[1].([]byte)) != "ann" {
		t.Fatalf("HGETALL reply parsed as %#v", kv)
	}
	for _, bad := range []string{"?x\r\n", "$3\r\nabcd\r\n", "*x\r\n", ":1\n", "$99999999999\r\n"} {
		var rr respReader
		read := chunked(bad, 100)
		var err error
		for err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			_, err = rr.next(read)
		}
		if !errors.Is(err, errProtocol) {
			t.Fatalf("%q: %v, want a protocol error", bad, err)
		}
	}
}
