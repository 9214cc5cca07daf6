// Package embedded runs rapyer on an in-process Redis server (miniredis), for
// the quick start, for examples and for testing your own code without a Redis
// installation. Programs that never import this package do not link it.
//
//	s, err := embedded.Open(ctx)   // a Store on a fresh in-process server
//	defer s.Close()                // also stops the server
//
// For tests that need to move time (TTLs), start the server yourself:
//
//	srv, _ := embedded.Start()
//	s, _ := srv.Open(ctx)
//	srv.FastForward(time.Hour)     // expire keys without waiting
//
// The server keeps data in memory only, speaks the Redis protocol on a
// loopback port, and runs rapyer's Lua scripts. It is meant for development
// and tests, not production.
package embedded

import (
	"context"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/rapyer-go/rapyer"
)

// Server is an in-process Redis server.
type Server struct {
	mr *miniredis.Miniredis
}

// Start starts a new, empty in-process server on a free loopback port.
func Start() (*Server, error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, err
	}
	return &Server{mr: mr}, nil
}

// Open starts a new in-process server and returns a Store on it; closing the
// Store stops the server.
func Open(ctx context.Context, opts ...rapyer.Option) (*rapyer.Store, error) {
	srv, err := Start()
	if err != nil {
		return nil, err
	}
	s, err := srv.Open(ctx, append(opts, rapyer.WithCloser(srv))...)
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	return s, nil
}

// Open returns a Store on this server (closing the Store leaves the server
// running).
func (s *Server) Open(ctx context.Context, opts ...rapyer.Option) (*rapyer.Store, error) {
	return rapyer.Open(ctx, s.URL(), opts...)
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.mr.Addr() }

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.mr.Addr() }

// FastForward moves the server's clock forward by d, expiring keys whose TTL
// runs out, without waiting.
func (s *Server) FastForward(d time.Duration) { s.mr.FastForward(d) }

// Miniredis returns the underlying miniredis server, for its other test
// helpers.
func (s *Server) Miniredis() *miniredis.Miniredis { return s.mr }

// Close stops the server. It always returns nil.
func (s *Server) Close() error {
	s.mr.Close()
	return nil
}
