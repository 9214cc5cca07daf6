// Package embedded runs rapyer on an in-process Redis server (miniredis), for
// the quick start, for examples and for testing your own code without a Redis
// installation. Programs that never import this package do not link it.
//
//	s, err := embedded.Open(ctx)   // a Store on a fresh in-process server
//	defer s.Close()                // also stops the server
//
// The server's clock is the wall clock, as Redis's: a key with a TTL expires
// on its own when its time runs out. For tests that need to move time faster,
// start the server yourself and jump ahead:
//
//	srv := embedded.StartT(t)      // stopped when the test ends
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
	mr    *miniredis.Miniredis
	clock *clock
}

// Start starts a new, empty in-process server on a free loopback port. Its
// TTLs run with the wall clock, as on Redis: a key expires on its own once
// its time has passed (a goroutine moves the server's clock every
// ClockTick, so a key may outlive its TTL by that much and PTTL may read up
// to that much high), and FastForward moves the clock further ahead at once.
// Close stops the goroutine.
func Start() (*Server, error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, err
	}
	return &Server{mr: mr, clock: startClock(mr)}, nil
}

// TB is the part of testing.TB that StartT uses (*testing.T, *testing.B and
// *testing.F have it); it keeps package testing out of programs that use
// the embedded server without tests.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartT starts a server as Start does and registers its Close with
// tb.Cleanup, so it stops when the test (and its subtests) end; a failure to
// start fails the test (tb.Fatalf).
func StartT(tb TB) *Server {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatalf("embedded.StartT: %v", err)
		return nil
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
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

// FastForward moves the server's clock forward by d at once, on top of the
// wall clock's own progress, expiring keys whose TTL runs out, without
// waiting.
func (s *Server) FastForward(d time.Duration) { s.mr.FastForward(d) }

// StopClock stops the server's clock from following the wall clock: from
// then on TTLs move only with FastForward, for a test that wants time
// entirely under its control (or no background goroutine at all). Close
// still stops the server; a second call does nothing.
func (s *Server) StopClock() { s.clock.stop() }

// Miniredis returns the underlying miniredis server, for its other test
// helpers.
func (s *Server) Miniredis() *miniredis.Miniredis { return s.mr }

// Close stops the server and its clock. It always returns nil; a second
// call does nothing.
func (s *Server) Close() error {
	s.clock.stop()
	s.mr.Close()
	return nil
}
