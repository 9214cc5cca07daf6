package rapyer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/ops"
)

// Store is a handle to one Redis server (or the embedded one, see package
// embedded) with its connection pool and its settings. It is safe for
// concurrent use; create one per server and share it.
type Store struct {
	pool   *redis.Pool
	owned  bool
	cfg    config
	closed atomic.Bool
	loaded atomic.Bool // scripts sent by SCRIPT LOAD once
	known  sync.Map    // *lua.Script -> struct{}: loaded or sent whole on this Store
	// connKind is the kind of connection the pool gives (see Store.do).
	connKind atomic.Int32
	addr     string    // the URL Open was given, password redacted
	cl       *cluster  // set on a Store over Redis Cluster (cluster.go)
	obs      *observer // hooks, logs (hook.go); nil: nothing observes
	mx       *mux      // nil: multiplexing off (see Store.muxer)
	// waitCalls: a call was given its own WithWait (wait.go): the
	// executor then looks for one in each request's context.
	waitCalls atomic.Bool
}

// String describes the Store by its server's URL (password redacted) and
// key prefix; it never shows credentials.
func (s *Store) String() string {
	addr := s.addr
	if addr == "" {
		addr = "(caller's pool)"
	}
	return fmt.Sprintf("rapyer.Store{%s prefix=%q}", addr, s.cfg.prefix)
}

// GoString is String, so that %#v shows no credentials either.
func (s *Store) GoString() string { return s.String() }

// Open returns a Store for the server at rawURL and checks it with Ping:
//
//	redis://[:password@]host:port/db
//	redis://user:password@host:port/db
//	rediss://...   (TLS; see WithTLSConfig)
//
// For the embedded in-process server, use embedded.Open from package
// github.com/rapyer-go/rapyer/embedded: programs that never use it do not link
// it. Open returns an error wrapping ErrInvalid for a URL it cannot use
// (escape '%', '/', '?', '#' and '@' in a password, or give it with
// WithAuth), ErrAuth for credentials the server refuses, ErrNoPermission
// for an ACL that lacks what rapyer needs (see README, "TLS, AUTH and
// ACL"). No error, log line or printed Store shows the password.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	target, err := cfg.target(rawURL)
	if err != nil {
		return nil, &Error{Op: "Open", Err: err}
	}
	dcfg := cfg
	pool := &redis.Pool{
		MaxIdle:     cfg.maxIdle,
		MaxActive:   cfg.maxActive,
		IdleTimeout: cfg.idleTimeout,
		Wait:        true,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return dialTarget(ctx, target, &dcfg)
		},
	}
	s, err := newStore(pool, true, cfg)
	if err != nil {
		return nil, err
	}
	s.connKind.Store(connOurs)
	s.addr = target.shown
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		if !target.tls && plainToTLS(err) {
			err = fmt.Errorf("%w (the server closed the connection at the first command: if that port serves TLS, use rediss://)", err)
		}
		return nil, err
	}
	return s, nil
}

// plainToTLS reports whether err looks like what a TLS-only port answers
// to plain text: the connection closed or reset, with no reply.
func plainToTLS(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// NewStore returns a Store over an existing redigo pool, without I/O. The pool
// stays the caller's: Close does not close it, and the pool options
// (WithPoolSize, timeouts) do not apply to it. It returns an error wrapping
// ErrInvalid for a nil pool or a prefix containing '{' or '}'.
func NewStore(pool *redis.Pool, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if pool == nil {
		return nil, &Error{Op: "NewStore", Err: fmt.Errorf("%w: nil pool", ErrInvalid)}
	}
	return newStore(pool, false, cfg)
}

func newStore(pool *redis.Pool, owned bool, cfg config) (*Store, error) {
	if strings.ContainsAny(cfg.prefix, "{}") {
		return nil, &Error{Op: "Open", Err: fmt.Errorf("%w: key prefix %q contains '{' or '}', which would break the hash tags", ErrInvalid, cfg.prefix)}
	}
	if err := cfg.wait.check(); err != nil {
		return nil, &Error{Op: "Open", Err: err}
	}
	s := &Store{pool: pool, owned: owned, cfg: cfg}
	s.obs = newObserver(s, &s.cfg)
	if cfg.muxConns >= 0 && pool != nil { // a cluster Store (pool nil) uses per-node pools for now
		s.mx = newMux(pool, cfg.muxConns, cfg.idleTimeout)
	}
	return s, nil
}

// Ping sends PING and reports whether the server answered. The first time,
// once PING has answered, it loads rapyer's scripts (SCRIPT LOAD, a second
// round trip), so that their first use is one round trip too; Open calls
// it. PING goes alone first because Redis drops a client that has not
// authenticated and sends more than 16 KB: a missing or wrong password is
// then reported as ErrAuth, not as a reset connection. With the scripts it
// sends an empty MULTI/EXEC: a user whose ACL refuses SCRIPT LOAD, MULTI or
// EXEC gets ErrNoPermission here rather than half-run transactions later. A script the
// server has lost since (SCRIPT FLUSH, restart, failover) is sent again
// whole on first use.
func (s *Store) Ping(ctx context.Context) (oerr error) {
	if s == nil {
		return &Error{Op: "Ping", Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	ctx, o := s.begin(ctx, "Ping", "", "")
	defer func() { o.end(oerr) }()
	if s.cl != nil {
		return s.pingCluster(ctx)
	}
	if _, err := s.pipe(ctx, false, []ops.Cmd{{Name: "PING"}}); err != nil {
		return &Error{Op: "Ping", Err: scriptError(err)}
	}
	if s.loaded.Load() {
		return nil
	}
	c, err := s.conn(ctx)
	if err == nil {
		err = s.loadScripts(ctx, c, "")
	}
	if err != nil {
		return &Error{Op: "Ping", Err: scriptError(err)}
	}
	s.loaded.Store(true)
	return nil
}

// loadScripts sends SCRIPT LOAD of every script on c, which it closes.
func (s *Store) loadScripts(ctx context.Context, c redis.Conn, addr string) error {
	cmds := make([]ops.Cmd, 0, len(lua.All())+2)
	for _, sc := range lua.All() {
		cmds = append(cmds, ops.Cmd{Name: "SCRIPT", Args: []any{"LOAD", sc.Src()}})
	}
	// An empty MULTI/EXEC last: an ACL that refuses MULTI would make the
	// commands of every later MULTI run one by one, outside a transaction,
	// and one that refuses EXEC would leave connections inside a MULTI.
	// Better to refuse the Store now (ErrNoPermission).
	cmds = append(cmds, ops.Cmd{Name: "MULTI"}, ops.Cmd{Name: "EXEC"})
	err := s.pinnedOn(ctx, c, addr, func(p *pinned) error {
		res, err := s.exec(ctx, request{units: []ops.Unit{{Cmds: cmds}}, pin: p})
		if err != nil {
			return err
		}
		rs := res[0].Replies
		if _, refused := rs[len(rs)-1].(redis.Error); refused {
			discard(p.c) // it may still be inside the MULTI
		}
		return res[0].Err
	})
	if err != nil {
		return err
	}
	for _, sc := range lua.All() {
		s.known.Store(sc, struct{}{})
	}
	return nil
}

// Close closes the pool (when Open created it) and whatever WithCloser gave.
// Operations after Close fail with ErrClosed. Close is idempotent. A nil
// Store is ErrInvalid.
func (s *Store) Close() error {
	if s == nil {
		return &Error{Op: "Close", Err: fmt.Errorf("%w: nil Store", ErrInvalid)}
	}
	if s.closed.Swap(true) {
		return nil
	}
	if s.mx != nil {
		s.mx.close()
	}
	var errs []error
	if s.cl != nil {
		errs = append(errs, s.cl.close())
	} else if s.owned {
		errs = append(errs, s.pool.Close())
	}
	for _, c := range s.cfg.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Prefix returns the key prefix set with WithPrefix ("" for a nil Store).
func (s *Store) Prefix() string {
	if s == nil {
		return ""
	}
	return s.cfg.prefix
}

// conn takes a connection from the pool, waiting no longer than ctx allows.
func (s *Store) conn(ctx context.Context) (redis.Conn, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	return getConn(ctx, s.pool)
}

// usable checks that a request may be sent now: the Store open, ctx
// live and not a queue's.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if queueOf(ctx) != nil {
		// Only operations that queue themselves may see a queue context;
		// anything else (locks, bulk operations, Ping) would run at once,
		// outside the Batch or Tx.
		return fmt.Errorf("%w: this operation cannot be queued in a Batch or Tx", ErrInvalid)
	}
	return nil
}

// getConn takes a connection from p, waiting no longer than ctx allows.
func getConn(ctx context.Context, p *redis.Pool) (redis.Conn, error) {
	c, err := p.GetContext(ctx)
	if err != nil {
		if cerr := ctxDone(ctx); cerr != nil && !errors.Is(err, cerr) {
			return nil, fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, err
	}
	return c, nil
}

// netErr prefers the context's error to the network error it caused.
func netErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if cerr := ctxDone(ctx); cerr != nil {
			return fmt.Errorf("%w (%v)", cerr, err)
		}
	}
	return err
}

// ctxDone is ctx's error, or context.DeadlineExceeded when its deadline
// has passed but its timer has not fired yet (a socket deadline set to the
// same instant may fire first).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

var _ io.Closer = (*Store)(nil)
