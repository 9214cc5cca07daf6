package rapyer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/ops"
)

// NoExpiry is what TTL returns for an object without an expiry.
const NoExpiry time.Duration = -1

// ttl is the model's effective TTL.
func (m *Model) ttl() time.Duration { return m.sc.ttlOn(m.st) }

func (m *Model) refresh() bool { return m.sc.refreshOn(m.st) }

// ttlArg is the model's TTL as the scripts take it: milliseconds, "0"
// for none.
func (m *Model) ttlArg() string {
	if d := m.ttl(); d > 0 {
		return ttlMillis(d)
	}
	return "0"
}

// leanSave reports whether a Save of the model writes its hash alone: one
// key (no container), no version check, no index. SaveMany sends such
// objects in lua/savemany.lua's shape form (see saveCall).
func (sc *schema) leanSave() bool {
	return sc.conts == 0 && !sc.versionCheck && len(sc.idx) == 0
}

// ttlOn is the model's TTL on st (its own, or the Store's default).
func (sc *schema) ttlOn(st *Store) time.Duration {
	if sc.ttlSet {
		return sc.ttl
	}
	return st.cfg.ttl
}

// refreshOn says whether reads and writes re-arm the TTL on st.
func (sc *schema) refreshOn(st *Store) bool {
	if sc.refresh != nil {
		return *sc.refresh
	}
	return st.cfg.refresh
}

// loadRefreshes says whether a load (Get, Reload, GetMany) re-arms the TTL.
func (sc *schema) loadRefreshes(st *Store) bool { return sc.ttlOn(st) > 0 && sc.refreshOn(st) }

func ttlMillis(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10)
}

// touchTTL is the TTL mode of the scripts (lua/prelude.lua): the TTL to
// re-arm; "keep" when refresh is off (keys a script creates inherit the
// hash's TTL); "0" when the model has no TTL.
func (m *Model) touchTTL() string {
	switch d := m.ttl(); {
	case d <= 0:
		return "0"
	case m.refresh():
		return ttlMillis(d)
	default:
		return "keep"
	}
}

// refreshCmds re-arm the TTL of every key of the object, for a read when
// the model refreshes on reads; nil otherwise. (Writes are scripts, which
// re-arm the TTL themselves.)
func (m *Model) refreshCmds() []ops.Cmd {
	if !m.sc.loadRefreshes(m.st) {
		return nil
	}
	ms := ttlMillis(m.ttl())
	out := make([]ops.Cmd, 0, len(m.keys()))
	for _, k := range m.keys() {
		out = append(out, ops.Cmd{Name: "PEXPIRE", Args: []any{k, ms}})
	}
	return out
}

// SetTTL sets the expiry of all of the object's keys to d (PEXPIRE; one
// round trip). It does not change the model's TTL: with refresh on, the next
// operation re-arms the model's TTL. Errors: ErrNotFound, ErrInvalid (d < 1ms).
func (m *Model) SetTTL(ctx context.Context, d time.Duration) error {
	if err := m.bound("SetTTL"); err != nil {
		return err
	}
	if d < time.Millisecond {
		return m.fail("SetTTL", fmt.Errorf("%w: TTL %v is shorter than 1ms", ErrInvalid, d))
	}
	return m.allKeys(ctx, "SetTTL", "PEXPIRE", d.Milliseconds())
}

// Persist removes the expiry of all of the object's keys (PERSIST; one round
// trip). With refresh on, the next operation sets the model's TTL again.
// Errors: ErrNotFound.
func (m *Model) Persist(ctx context.Context) error {
	if err := m.bound("Persist"); err != nil {
		return err
	}
	return m.allKeys(ctx, "Persist", "PERSIST")
}

// allKeys runs command on every key of the object in one MULTI/EXEC, after an
// EXISTS that reports ErrNotFound.
func (m *Model) allKeys(ctx context.Context, op, command string, extra ...any) error {
	cmds := []ops.Cmd{{Name: "EXISTS", Args: []any{m.key[0]}}}
	for _, k := range m.keys() {
		cmds = append(cmds, ops.Cmd{Name: command, Args: append([]any{k}, extra...)})
	}
	return m.run(ctx, op, ops.Unit{Multi: true, Cmds: cmds}, func(rs []any) error {
		if n, _ := redis.Int64(rs[0], nil); n == 0 {
			return m.fail(op, ErrNotFound)
		}
		return nil
	})
}

// TTL returns the time left before the object expires (PTTL of its hash; one
// round trip), or NoExpiry. It does not refresh the TTL. Errors: ErrNotFound.
func (m *Model) TTL(ctx context.Context) (time.Duration, error) {
	if err := m.bound("TTL"); err != nil {
		return 0, err
	}
	return execUnit(ctx, m, "TTL", ops.Unit{Cmds: []ops.Cmd{{Name: "PTTL", Args: []any{m.key[0]}}}}, func(rs []any, err error) (time.Duration, error) {
		if err != nil {
			return 0, m.fail("TTL", err)
		}
		ms, _ := redis.Int64(rs[0], nil)
		switch {
		case ms == -2:
			return 0, m.fail("TTL", ErrNotFound)
		case ms < 0:
			return NoExpiry, nil
		}
		return time.Duration(ms) * time.Millisecond, nil
	})
}
