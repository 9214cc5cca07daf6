package rapyer_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
)

// laterConn is a redis.Conn that keeps what Send is given and encodes it
// only when the commands go out (Flush, Do, Receive), as a connection that
// queues may: rapyer reuses the room of a script call's arguments once Send
// returns (writeUnit), so what it gives such a connection must be a copy.
type laterConn struct {
	redis.Conn
	queue []laterCmd
}

type laterCmd struct {
	name string
	args []any
}

func (c *laterConn) Send(name string, args ...any) error {
	c.queue = append(c.queue, laterCmd{name, args})
	return nil
}

func (c *laterConn) out() error {
	for _, q := range c.queue {
		if err := c.Conn.Send(q.name, q.args...); err != nil {
			return err
		}
	}
	c.queue = c.queue[:0]
	return nil
}

func (c *laterConn) Flush() error {
	if err := c.out(); err != nil {
		return err
	}
	return c.Conn.Flush()
}

func (c *laterConn) Receive() (any, error) {
	if err := c.Flush(); err != nil {
		return nil, err
	}
	return c.Conn.Receive()
}

func (c *laterConn) Do(cmd string, args ...any) (any, error) {
	if err := c.out(); err != nil {
		return nil, err
	}
	return c.Conn.Do(cmd, args...)
}

// TestSendersMayKeepArgs: over a pool of connections that keep Send's
// arguments until they flush, SaveMany of 150 objects (several script
// calls in one request) and a Batch of Incrs store every object's own
// values: no call's arguments were overwritten by the next call's.
func TestSendersMayKeepArgs(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		ctx := testkit.Ctx(t)
		var st *rapyer.Store
		var err error
		if seeds := b.Seeds(); seeds != nil {
			rc := &redisc.Cluster{StartupNodes: seeds, CreatePool: func(addr string, o ...redis.DialOption) (*redis.Pool, error) {
				return &redis.Pool{Dial: func() (redis.Conn, error) {
					c, err := redis.Dial("tcp", addr, o...)
					return &laterConn{Conn: c}, err
				}}, nil
			}}
			st, err = rapyer.NewClusterStore(rc, rapyer.WithPrefix(b.Prefix()))
			t.Cleanup(func() { _ = rc.Close() })
		} else {
			pool := &redis.Pool{Dial: func() (redis.Conn, error) {
				c, err := redis.DialURL(b.URL())
				if err != nil {
					return nil, err
				}
				return &laterConn{Conn: c}, nil
			}}
			st, err = rapyer.NewStore(pool, rapyer.WithPrefix(b.Prefix()))
			t.Cleanup(func() { _ = pool.Close() })
		}
		must(t, err)
		t.Cleanup(func() { _ = st.Close() })

		objs := make([]*muxObj, 150)
		for i := range objs {
			objs[i] = muxObjs.New(st)
			objs[i].Name.Set("k" + strconv.Itoa(i))
			objs[i].N.Set(int64(i))
		}
		must(t, muxObjs.SaveMany(ctx, objs))
		must(t, st.Batch(ctx, func(q context.Context) error {
			for i, o := range objs[:20] {
				_, _ = o.N.Incr(q, int64(1000*i))
			}
			return nil
		}))
		ids := make([]string, len(objs))
		for i, o := range objs {
			ids[i] = o.ID()
		}
		got, err := muxObjs.GetMany(ctx, st, ids)
		must(t, err)
		for i, g := range got {
			want := int64(i)
			if i < 20 {
				want += int64(1000 * i)
			}
			if g.Name.Get() != "k"+strconv.Itoa(i) || g.N.Get() != want {
				t.Fatalf("object %d stored name %q n %d, want %q %d", i, g.Name.Get(), g.N.Get(), "k"+strconv.Itoa(i), want)
			}
		}
	})
}

func (c *laterConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	if err := c.out(); err != nil {
		return nil, err
	}
	return redis.DoContext(c.Conn, ctx, cmd, args...)
}

func (c *laterConn) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	if err := c.out(); err != nil {
		return nil, err
	}
	return redis.DoWithTimeout(c.Conn, d, cmd, args...)
}

func (c *laterConn) ReceiveContext(ctx context.Context) (any, error) {
	if err := c.Flush(); err != nil {
		return nil, err
	}
	return redis.ReceiveContext(c.Conn, ctx)
}

func (c *laterConn) ReceiveWithTimeout(d time.Duration) (any, error) {
	if err := c.Flush(); err != nil {
		return nil, err
	}
	return redis.ReceiveWithTimeout(c.Conn, d)
}
