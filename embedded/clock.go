package embedded

import (
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// ClockTick is how often the embedded server's clock follows the wall clock
// (at least: a tick that takes long, with very many keys, spaces the next
// ones so that moving the clock takes at most about 5% of the time).
const ClockTick = 50 * time.Millisecond

// clock moves a miniredis server's TTLs with the wall clock. miniredis's own
// ClockTTL does it on every command, sorting every key each time, which is
// O(n log n) per command; a tick costs the same once per ClockTick.
type clock struct {
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startClock(mr *miniredis.Miniredis) *clock {
	c := &clock{done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		last := time.Now()
		t := time.NewTimer(ClockTick)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
			}
			now := time.Now()
			if d := now.Sub(last); d > 0 {
				mr.FastForward(d)
				last = now
			}
			t.Reset(max(ClockTick, 20*time.Since(now)))
		}
	}()
	return c
}

// stop ends the goroutine and waits for it; later calls do nothing.
func (c *clock) stop() {
	c.once.Do(func() { close(c.done) })
	c.wg.Wait()
}
