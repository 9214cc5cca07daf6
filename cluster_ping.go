package rapyer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// pingCluster is Ping on a cluster: the slot map read again, then on every
// master, concurrently, each on its own connection: PING, and the first
// time every script loaded (SCRIPT LOAD), as Ping does on one server.
func (s *Store) pingCluster(ctx context.Context) error {
	if err := s.usable(ctx); err != nil {
		return &Error{Op: "Ping", Err: err}
	}
	if err := s.cl.refresh(true); err != nil {
		if strings.Contains(err.Error(), "cluster support disabled") {
			err = fmt.Errorf("%w: not a cluster (%v)", ErrInvalid, err)
		}
		return &Error{Op: "Ping", Err: err}
	}
	ms, err := s.cl.masters()
	if err != nil {
		return &Error{Op: "Ping", Err: err}
	}
	load := !s.loaded.Load()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, addr := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.pingNode(ctx, addr, load)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return &Error{Op: "Ping", Err: fmt.Errorf("node %s: %w", ms[i], scriptError(err))}
		}
	}
	s.loaded.Store(true)
	return nil
}

// pingNode sends PING to the master at addr, then, when load is set,
// loads every script there.
func (s *Store) pingNode(ctx context.Context, addr string, load bool) error {
	c, err := s.connAt(ctx, addr)
	if err != nil {
		return err
	}
	if _, err := s.doTrip(ctx, link{c: c, addr: addr}, "PING"); err != nil || !load {
		c.Close()
		return err
	}
	return s.loadScripts(ctx, c, addr)
}

// backoff waits between attempts: 10 ms, doubling to 200 ms, for as long
// as the context allows (clusterWait when it has no deadline).
type backoff struct {
	next  time.Duration
	until time.Time
}

func (b *backoff) sleep(ctx context.Context) error {
	now := time.Now()
	if b.next == 0 {
		b.next = 10 * time.Millisecond
		b.until = now.Add(clusterWait)
		if dl, ok := ctx.Deadline(); ok {
			b.until = dl
		}
	}
	d := b.next
	if now.Add(d).After(b.until) {
		return ErrUnavailable
	}
	b.next = min(2*b.next, 200*time.Millisecond)
	return pause(ctx, d)
}

// pause waits d, or until ctx ends (its error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
