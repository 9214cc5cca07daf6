package bench

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/rapyer-go/rapyer/lua"
)

// stubConn is a net.Conn with a canned Redis behind it: Write parses the
// RESP commands the client sends and queues a plausible reply for each, Read
// hands the replies back. No syscall, no other goroutine, no server work:
// under it a redigo connection costs only the client's CPU (encoding,
// decoding, the pool), so the "stub" backend shows what rapyer itself adds
// to a raw-redigo call sending the same commands, free of the machine's
// network and scheduling noise. Its replies fit the commands benchmarked
// here, nothing more.
type stubConn struct {
	in, out bytes.Buffer
	multi   bool
	queued  bytes.Buffer // replies of the commands queued since MULTI
	nqueued int
	counter int64
	args    [][]byte
	num     [20]byte
	num2    [20]byte
}

var errStubClosed = errors.New("stub: read with no reply pending")

func (c *stubConn) Write(p []byte) (int, error) {
	c.in.Write(p)
	for c.parse() {
	}
	return len(p), nil
}

func (c *stubConn) Read(p []byte) (int, error) {
	if c.out.Len() == 0 {
		return 0, errStubClosed
	}
	return c.out.Read(p)
}

// parse consumes one complete command from c.in, if there is one, and
// answers it. In steady state it allocates nothing, so that allocs/op stay
// the client's.
func (c *stubConn) parse() bool {
	buf := c.in.Bytes()
	line, rest, ok := bytes.Cut(buf, crlf)
	if !ok || len(line) < 2 || line[0] != '*' {
		return false
	}
	n, ok := atoi(line[1:])
	if !ok {
		return false
	}
	c.args = c.args[:0]
	for range n {
		line, after, ok := bytes.Cut(rest, crlf)
		if !ok || len(line) < 2 || line[0] != '$' {
			return false
		}
		l, ok := atoi(line[1:])
		if !ok || len(after) < l+2 {
			return false
		}
		c.args = append(c.args, after[:l])
		rest = after[l+2:]
	}
	switch name := string(c.args[0]); {
	case name == "MULTI":
		c.multi, c.nqueued = true, 0
		c.queued.Reset()
		c.out.WriteString("+OK\r\n")
	case name == "EXEC":
		c.multi = false
		c.out.WriteByte('*')
		c.out.Write(strconv.AppendInt(c.num[:0], int64(c.nqueued), 10))
		c.out.Write(crlf)
		c.out.Write(c.queued.Bytes())
	case c.multi:
		c.answer(&c.queued, c.args)
		c.nqueued++
		c.out.WriteString("+QUEUED\r\n")
	default:
		c.answer(&c.out, c.args)
	}
	c.in.Next(len(buf) - len(rest))
	return true
}

var crlf = []byte("\r\n")

func atoi(b []byte) (int, bool) {
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, len(b) > 0
}

// stubProfile is HGETALL's reply: sample's fields as rapyer stores them.
var stubProfile = func() []byte {
	var b bytes.Buffer
	pairs := []string{
		"name", sample.Name,
		"age", strconv.FormatInt(sample.Age, 10),
		"score", strconv.FormatFloat(sample.Score, 'g', -1, 64),
		"active", "1",
		"seen", strconv.FormatInt(sample.Seen.UnixNano(), 10),
		"email", sample.Email,
		"_v", "7",
	}
	b.WriteString("*" + strconv.Itoa(len(pairs)) + "\r\n")
	for _, s := range pairs {
		b.WriteString("$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n")
	}
	return b.Bytes()
}()

// stubArray is an array reply of the given strings.
func stubArray(items []string) []byte {
	var b bytes.Buffer
	b.WriteString("*" + strconv.Itoa(len(items)) + "\r\n")
	for _, s := range items {
		b.WriteString("$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n")
	}
	return b.Bytes()
}

// The replies of the container reads: bagList, bagMap and bagSet.
var (
	stubList = stubArray(bagList)
	stubSet  = stubArray(bagSet)
	stubMap  = func() []byte {
		var kv []string
		for k, v := range bagMap {
			kv = append(kv, k, v)
		}
		return stubArray(kv)
	}()
)

// answer writes the reply to one command (outside MULTI's bookkeeping).
func (c *stubConn) answer(dst *bytes.Buffer, args [][]byte) {
	switch string(args[0]) {
	case "PING":
		dst.WriteString("+PONG\r\n")
	case "HSET", "DEL":
		dst.WriteString(":0\r\n")
	case "EXISTS":
		dst.WriteString(":1\r\n")
	case "HINCRBY":
		c.counter++
		dst.WriteByte(':')
		dst.Write(strconv.AppendInt(c.num[:0], c.counter, 10))
		dst.Write(crlf)
	case "HGETALL":
		if bytes.Contains(args[1], []byte(":f:")) { // a container field's key
			dst.Write(stubMap)
		} else {
			dst.Write(stubProfile)
		}
	case "LRANGE":
		dst.Write(stubList)
	case "SMEMBERS":
		dst.Write(stubSet)
	case "RPUSH", "SADD":
		dst.WriteString(":101\r\n")
	case "EVALSHA", "EVAL": // EVAL: a script the Store had not sent yet goes whole
		if sc := string(args[1]); sc == lua.SaveMany.SHA() || sc == lua.SaveMany.Src() {
			// One version per object: ARGV[1] is their count.
			nk, _ := strconv.Atoi(string(args[2]))
			n, _ := strconv.Atoi(string(args[3+nk]))
			dst.WriteByte('*')
			dst.Write(strconv.AppendInt(c.num[:0], int64(n), 10))
			dst.Write(crlf)
			for range n {
				dst.WriteString("$1\r\n1\r\n")
			}
			break
		}
		c.counter++
		n := strconv.AppendInt(c.num[:0], c.counter, 10)
		if sc := string(args[1]); sc == lua.Int.SHA() || sc == lua.Int.Src() || sc == lua.IntAdd.SHA() || sc == lua.IntAdd.Src() { // Int.Incr's scripts answer in text
			dst.WriteByte('$')
			dst.Write(strconv.AppendInt(c.num2[:0], int64(len(n)), 10))
			dst.Write(crlf)
		} else {
			dst.WriteByte(':')
		}
		dst.Write(n)
		dst.Write(crlf)
	case "SCRIPT":
		sum := sha1.Sum(args[len(args)-1])
		dst.WriteString("$40\r\n" + hex.EncodeToString(sum[:]) + "\r\n")
	case "SCAN":
		dst.WriteString("*2\r\n$1\r\n0\r\n*0\r\n")
	default:
		dst.WriteString("-ERR stub: unknown command " + string(args[0]) + "\r\n")
	}
}

func (c *stubConn) Close() error                     { return nil }
func (c *stubConn) LocalAddr() net.Addr              { return stubAddr{} }
func (c *stubConn) RemoteAddr() net.Addr             { return stubAddr{} }
func (c *stubConn) SetDeadline(time.Time) error      { return nil }
func (c *stubConn) SetReadDeadline(time.Time) error  { return nil }
func (c *stubConn) SetWriteDeadline(time.Time) error { return nil }

type stubAddr struct{}

func (stubAddr) Network() string { return "stub" }
func (stubAddr) String() string  { return "stub" }
