package rapyer

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/rapyer-go/rapyer/serialize"
)

// Option configures a Store. Options are applied in order; a later option
// overrides an earlier one.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	prefix       string
	logger       *slog.Logger
	maxIdle      int
	maxActive    int
	idleTimeout  time.Duration
	dialTimeout  time.Duration
	readTimeout  time.Duration
	writeTimeout time.Duration
	ttl          time.Duration
	refresh      bool
	fallback     serialize.Fallback
	tls          *tls.Config
	auth         *credentials
	closers      []io.Closer
	dialer       func(ctx context.Context, network, addr string) (net.Conn, error)
	// defaultShards is WithDefaultShards's; 0: 1, or 12 on a cluster.
	defaultShards int
	hooks         []Hook        // WithHook (hook.go)
	slow          time.Duration // WithSlowThreshold (hook.go)
	logged        bool          // WithLogger was given a logger
	muxConns      int           // multiplexed connections: 0 one per CPU, -1 none
	wait          waitSpec      // WithWait (wait.go)
	claimLease    time.Duration // WithClaimLease (claim.go); 0: the default
}

func defaultConfig() config {
	return config{
		logger:       slog.New(slog.DiscardHandler),
		maxIdle:      16,
		maxActive:    64,
		idleTimeout:  5 * time.Minute,
		dialTimeout:  5 * time.Second,
		readTimeout:  3 * time.Second,
		writeTimeout: 3 * time.Second,
		refresh:      true,
		fallback:     serialize.Msgpack,
	}
}

// WithPrefix puts prefix in front of every key the Store writes, so that
// several applications (or tests) share one server without meeting. The prefix
// may not contain '{' or '}' (they would move the hash tag). Default: none.
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithLogger sends the Store's diagnostics to l: failed operations (op,
// model, id, field, error) and script reloads at Debug, slow operations
// at Warn (WithSlowThreshold). Levels l does not enable cost nothing
// (Enabled is checked before anything is built). Default: silent.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger, c.logged = l, true
		}
	})
}

// WithPoolSize bounds the connections the Store opens: at most maxActive in
// use at once (callers then wait, honouring their context) and at most maxIdle
// kept open while unused. Default: 64 active, 16 idle. Ignored by NewStore,
// whose pool is the caller's.
func WithPoolSize(maxActive, maxIdle int) Option {
	return optionFunc(func(c *config) { c.maxActive, c.maxIdle = maxActive, maxIdle })
}

// WithIdleTimeout closes connections left idle longer than d. Default: 5 minutes.
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.idleTimeout = d })
}

// WithDialTimeout bounds the time to open a connection, and separately its
// TLS handshake (rediss://); the context bounds both too. Default: 5 seconds.
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.dialTimeout = d })
}

// WithReadTimeout bounds the wait for each reply when the context has no
// earlier deadline; 0 waits as long as the context allows. Default: 3 seconds.
// On a multiplexed connection (the default) the wait is cut after between
// one and one and a half timeouts (its deadline is not moved on every call)
// and the connection breaks, failing the calls in flight on it.
func WithReadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.readTimeout = d })
}

// WithWriteTimeout bounds the time to send each request. Default: 3 seconds.
// On a multiplexed connection, as WithReadTimeout's: between one and one and
// a half timeouts.
func WithWriteTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.writeTimeout = d })
}

// WithDefaultTTL gives objects of every model that does not set its own TTL
// (see WithTTL) an expiry of d. Default: 0, objects do not expire.
func WithDefaultTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.ttl = d })
}

// WithTTLRefresh says whether operations re-arm the TTL of the objects they
// read or write, for models that do not say (see WithRefresh). Default: true.
func WithTTLRefresh(on bool) Option {
	return optionFunc(func(c *config) { c.refresh = on })
}

// WithFallbackCodec encodes the values that have no native encoding (Value[T]
// of a struct, say) with f. Default: serialize.Msgpack.
func WithFallbackCodec(f serialize.Fallback) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.fallback = f
		}
	})
}

// WithTLSConfig uses cfg for the TLS connections of a rediss:// URL (its
// RootCAs to check the server, its Certificates for mutual TLS, ServerName
// when the URL's host is not the certificate's name). Open and Dial refuse
// it with a redis:// URL (ErrInvalid), which would connect without TLS.
// Default: the system roots and the URL's host name.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tls = cfg })
}

// WithDialer makes Open and Dial reach the server with d instead of a
// net.Dialer (a proxy, a tunnel, instrumented connections). The dial
// timeout then is d's to honour; the context given to Open bounds it
// either way. Default: a net.Dialer with WithDialTimeout.
func WithDialer(d func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return optionFunc(func(c *config) { c.dialer = d })
}

// WithAuth authenticates with AUTH user password on every connection,
// instead of the credentials in the URL: user "" (or "default") is
// Redis's default user, the requirepass form. Use it for a password that
// comes from elsewhere, to spare escaping it into the URL. The password is
// never shown in errors, logs or a printed Store. A wrong or missing
// password is ErrAuth. Default: the URL's userinfo, else no AUTH.
func WithAuth(user, password string) Option {
	return optionFunc(func(c *config) { c.auth = &credentials{user: user, pass: password} })
}

// WithCloser makes Store.Close also close cl, after the pool. Package embedded
// uses it to stop its in-process server with the Store. Default: none.
func WithCloser(cl io.Closer) Option {
	return optionFunc(func(c *config) { c.closers = append(c.closers, cl) })
}

// WithMultiplexConns sets how many connections the Store's concurrent
// requests share (see WithoutMultiplexing), per master on a cluster; n <= 0
// is the default: one per CPU (GOMAXPROCS), at least 2.
func WithMultiplexConns(n int) Option {
	return optionFunc(func(c *config) { c.muxConns = max(n, 0) })
}

// WithoutMultiplexing makes every request take a connection of the pool
// for its round trip, as a plain redigo pool does, instead of sharing a few
// multiplexed connections with the requests made at the same time.
// Default: multiplexing on (see WithMultiplexConns).
//
// Multiplexing writes the requests that come together in one write and
// reads their replies in order: many concurrent callers get far more
// operations per second from the server, and one caller alone pays about
// what it did. Turn it off when requests carry large values (hundreds of
// kilobytes and up: a reply behind a large one waits for it, head-of-line
// blocking) or when every request should count against WithPoolSize's
// limit (multiplexed connections are outside the pool). Requests that need
// a connection of their own use the pool either way: Modify and a Tx of
// checked models (WATCH), bulk calls, requests of more than 64
// commands or 512 KB of arguments. A Store made by NewStore multiplexes when its pool's Dial
// gives rapyer's connections (rapyer.Dial, NewConn); over other
// connections it uses the pool per operation.
func WithoutMultiplexing() Option {
	return optionFunc(func(c *config) { c.muxConns = -1 })
}

// ModelOption configures one model at Define.
type ModelOption interface{ applyModel(*schema) }

type modelOptionFunc func(*schema)

func (f modelOptionFunc) applyModel(s *schema) { f(s) }

// WithTTL gives the model's objects an expiry of d, set by Save and Insert and
// re-armed by every operation while refresh is on. d <= 0 means no expiry.
// Default: the Store's WithDefaultTTL.
func WithTTL(d time.Duration) ModelOption {
	return modelOptionFunc(func(s *schema) { s.ttl, s.ttlSet = d, true })
}

// WithRefresh says whether every operation on an object (reads and writes)
// re-arms the TTL of all of its keys, inside the operation's own round trip.
// Off, a first Save or Insert still sets the TTL and later operations keep
// it. Default: the Store's WithTTLRefresh (itself true by default).
func WithRefresh(on bool) ModelOption {
	return modelOptionFunc(func(s *schema) { s.refresh = &on })
}

// WithShards spreads the model's objects over n hash tags so that a Redis
// Cluster can place them on different nodes, while each object and its
// shard's index keys stay in one slot ({model:i}, or {model:i.k} spread
// tags for 2..1024 shards: see README, "Storage layout"). Define panics
// when n < 1 or n > 16384. Default: the Store's (WithDefaultShards): 1 on
// one server, 12 on a cluster. The count is part of the key layout: objects
// saved under one count are not found under another.
func WithShards(n int) ModelOption {
	return modelOptionFunc(func(s *schema) { s.shards, s.shardsSet = n, true })
}

// WithDefaultShards sets the shard count of the models that do not set
// one (WithShards) on this Store. Default: 1 on one server (queries are one
// script call), 12 on a cluster (a model spreads evenly over 2, 3, 4, 6 or
// 12 masters), Unique fields included (their values are claimed across
// shards: WithClaimLease). It is part of the key layout: change it only
// with the data.
// n outside 1..16384 is ignored.
func WithDefaultShards(n int) Option {
	return optionFunc(func(c *config) {
		if n >= 1 && n <= 16384 {
			c.defaultShards = n
		}
	})
}

// WithVersionCheck makes Save and Update (and the Save and Update of single
// fields) optimistic: they write only when the object's stored version is
// still the one this object last saw (Version: set by Get, Reload, Save,
// Insert, Update, Modify and a field's Load), and otherwise return
// ErrConflict and write nothing. A new object (never loaded or saved) may
// only be saved when no object has its id. Field operations (Incr, Append,
// List.Append, ...) are atomic on their own and never checked. Each one that
// writes moves Version with the stored version when it was the only write
// since this object last saw the server, so a checked Save after it goes
// through; when another client wrote in between, Version stays and the
// checked Save returns ErrConflict (Reload, then save again). Such Saves run
// as one script (lua/save.lua) instead of a MULTI/EXEC, and the field
// scripts of such a model reply the new version (lua.Script.Versioned).
// Default: off.
func WithVersionCheck() ModelOption {
	return modelOptionFunc(func(s *schema) { s.versionCheck = true })
}
