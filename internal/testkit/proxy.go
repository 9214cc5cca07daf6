package testkit

import (
	"context"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy in front of a backend's server, for fault tests: it
// can stall either direction (the bytes wait, nothing is lost) or cut every
// connection through it.
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	cond     *sync.Cond
	stallUp  bool // client -> server held
	stallDn  bool // server -> client held
	conns    []net.Conn
	accepted int
	closed   bool
	// targets, when Dialer is used, maps a client connection's local
	// address to the server it asked for.
	targets map[string]string
}

// NewProxy starts a proxy to the backend's server on a free loopback port;
// the test's cleanup stops it.
func (b *Backend) NewProxy(t testing.TB) *Proxy {
	t.Helper()
	target := ""
	if b.rc == nil {
		u, err := url.Parse(b.url)
		if err != nil {
			t.Fatal(err)
		}
		target = u.Host
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// URL returns the backend's URL with the proxy's address.
func (p *Proxy) URL(b *Backend) string {
	u, _ := url.Parse(b.url)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// Dialer returns a dial function (for rapyer.WithDialer) whose connections
// go through the proxy to whatever address they ask for: a cluster's
// nodes, each of them stalled or cut with the others.
func (p *Proxy) Dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	p.mu.Lock()
	if p.targets == nil {
		p.targets = map[string]string{}
	}
	p.mu.Unlock()
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, p.ln.Addr().String())
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		p.targets[c.LocalAddr().String()] = addr
		p.cond.Broadcast()
		p.mu.Unlock()
		return c, nil
	}
}

// Accepted returns how many connections the proxy has accepted.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// StallReplies holds the server's replies (the server still runs what it
// gets); StallRequests holds what the client writes (the server no longer
// reads). Resume lets both flow again.
func (p *Proxy) StallReplies()  { p.set(func() { p.stallDn = true }) }
func (p *Proxy) StallRequests() { p.set(func() { p.stallUp = true }) }
func (p *Proxy) Resume()        { p.set(func() { p.stallUp, p.stallDn = false, false }) }

func (p *Proxy) set(f func()) {
	p.mu.Lock()
	f()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Cut closes every connection through the proxy (new ones are accepted).
func (p *Proxy) Cut() {
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

// Close stops the proxy and cuts its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.stallUp, p.stallDn = false, false
	p.cond.Broadcast()
	p.mu.Unlock()
	_ = p.ln.Close()
	p.Cut()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		for p.targets != nil && !p.closed {
			if a, ok := p.targets[c.RemoteAddr().String()]; ok {
				target = a
				break
			}
			p.cond.Wait() // the dialer records it just after connecting
		}
		p.mu.Unlock()
		s, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.accepted++
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(s, c, func() bool { return p.stallUp })
		go p.pipe(c, s, func() bool { return p.stallDn })
	}
}

// pipe copies src to dst, waiting while stalled() holds; while it waits it
// does not read src, so the sender's buffers fill up.
func (p *Proxy) pipe(dst, src net.Conn, stalled func() bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		p.mu.Lock()
		for stalled() && !p.closed {
			p.cond.Wait()
		}
		p.mu.Unlock()
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for stalled() && !p.closed {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
