package rapyer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
)

// DefaultLockTTL is the expiry of a lock when WithLockTTL does not give one.
const DefaultLockTTL = 30 * time.Second

// The wait of a blocking Lock between attempts: starts at lockWaitMin,
// doubles up to lockWaitMax, each sleep drawn uniformly from its upper half
// (jitter), and never longer than the holder's lock has left.
const (
	lockWaitMin = 5 * time.Millisecond
	lockWaitMax = 250 * time.Millisecond
)

// LockOption configures Model.Lock, Model.TryLock and Model.WithLock.
type LockOption interface{ applyLock(*lockConfig) }

type lockConfig struct {
	ttl    time.Duration
	save   bool
	noWait bool // NoWait (lock_try.go)
}

type lockOptionFunc func(*lockConfig)

func (f lockOptionFunc) applyLock(c *lockConfig) { f(c) }

// WithLockTTL sets how long the lock lasts unless extended or released:
// d from the acquisition (PX, in whole milliseconds). d must be at least 1ms;
// shorter fails with ErrInvalid before anything is sent. Default:
// DefaultLockTTL (30s).
func WithLockTTL(d time.Duration) LockOption {
	return lockOptionFunc(func(c *lockConfig) { c.ttl = d })
}

// WithSave makes Model.WithLock save the object (Model.Save) after the
// function returns nil, while still holding the lock. Lock and TryLock ignore
// it. Default: WithLock does not save.
func WithSave() LockOption {
	return lockOptionFunc(func(c *lockConfig) { c.save = true })
}

// Lock is a held named lock on one object, returned by Model.Lock and
// Model.TryLock (Model.WithLock wraps both ends). Its methods are safe for
// concurrent use (one goroutine may Extend while another works).
//
// A lock is named per object: Lock(ctx, "edit") on user "u1" and on user "u2"
// are two locks, and "edit" and "bill" on one user are independent of each
// other. A lock is one string key next to the object (same hash tag, so the
// same slot: <prefix>{<model>:<shard>}:l:<name>:<id>) holding a random owner
// token (130 bits), set with SET NX PX: it expires on its own, so a holder
// that crashes blocks the others only until then. Only the owner can extend
// or release it: the scripts compare the token first, so a holder whose lock
// expired and was taken by another cannot release or extend the other's.
//
// Each acquisition also increments a fencing counter: one per lock name in
// each shard of the model, kept in the shard's HASH
// <prefix>{<model>:<shard>}:x:fence (same hash tag as the object, so one
// slot), which is never deleted. Token therefore grows strictly with every
// acquisition of that lock, across expiries, and across the object's
// deletion, expiry and re-creation: for the lifetime of the model's data
// (changing the model's shard count moves objects to other counters, as it
// moves their keys). Locks never change the object's data, version or TTL.
//
// The limits of a lock on one Redis server. A holder that pauses (GC, swap,
// a stopped VM, a slow network) longer than the expiry loses the lock without
// knowing it, and another process may take it while the first still believes
// it holds it. Extend and Unlock then report ErrLockLost, but by then the two
// may both have acted. Where that matters, pass Token along with each write
// to the protected resource and have the resource reject a token lower than
// the highest it has seen (a fencing token). A lock also lives on one server:
// a failover to a replica that had not received the lock key loses it.
// Waiting is not fair: whoever tries first after a release wins.
type Lock struct {
	st    *Store
	model string
	id    string
	name  string
	keys  []string // the object's hash, the lock key
	owner string
	token int64

	mu       sync.Mutex
	until    time.Time // held at least until then, barring pauses
	released bool
}

// Token returns the fencing token of this acquisition: at least 1, and
// strictly greater than the token of every earlier acquisition of this lock
// (same name, same object), expiries included, and also after the object
// was deleted or expired and created again. Locks of the same name on other
// objects of the same shard draw from the same counter, so tokens may skip
// numbers; locks of different names are independent.
func (l *Lock) Token() int64 { return l.token }

// Name returns the lock's name.
func (l *Lock) Name() string { return l.name }

// ValidUntil returns the time before which the lock is certainly still held,
// as measured on this machine from the moment the acquisition (or the last
// Extend) was sent: a pause or a server clock jump can still lose it earlier.
// After Unlock it returns the zero time.
func (l *Lock) ValidUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// Lock acquires the lock called name on the object, waiting while another
// owner holds it, and returns it. Each attempt is one script (lua/lock.lua:
// SET NX PX of the lock key and HINCRBY of the shard's fencing counter), one round
// trip; an uncontended Lock is one round trip. Between attempts it sleeps with
// bounded exponential backoff (5ms doubling to 250ms, jittered, and never past
// the moment the holder's lock expires), so waiters do not hammer the server.
// It honours ctx: cancellation or the deadline ends the wait promptly with an
// error wrapping both ErrLocked and ctx's error, also when it ends during a
// retry (only ctx's when the first attempt is cut short). A deadline that
// passes while a reply is being read may leave an attempt that took the lock
// on the server without anyone knowing; that lock then lasts until its expiry.
//
// Lock names are a letter, then letters, digits or '_' (at most 64 bytes).
// Locks do not touch the object's TTL; the lock's own expiry is WithLockTTL
// (default 30s). Errors: ErrNotFound when the object does not exist (nothing
// is written: a lock protects an object), ErrInvalid (name, TTL; nothing
// sent), ErrDecode (the stored fencing counter is not an integer), ErrUnbound.
// Under WithWait, a lock taken but acknowledged by too few replicas is
// returned together with an error wrapping ErrNotReplicated: it is held
// (Unlock it, or go on knowing that a failover may drop it); WithLock then
// releases it and does not run its function.
func (m *Model) Lock(ctx context.Context, name string, opts ...LockOption) (_ *Lock, oerr error) {
	const op = "Lock"
	p, err := m.lockPrep(op, name, opts)
	if err != nil {
		return nil, err
	}
	ctx, o := m.st.begin(ctx, op, m.sc.name, m.id)
	defer func() { o.end(oerr) }()
	if p.cfg.noWait {
		l, _, err := m.acquire(ctx, op, p)
		return l, err
	}
	var timer *time.Timer
	for wait := lockWaitMin; ; wait = min(2*wait, lockWaitMax) {
		l, left, err := m.acquire(ctx, op, p)
		if !errors.Is(err, ErrLocked) {
			if wait > lockWaitMin && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, m.waitEnded(ctx, op, name) // the last answer was "held"
			}
			return l, err
		}
		d := wait/2 + mrand.N(wait/2+1)
		if left > 0 && left < d {
			d = max(left, time.Millisecond)
		}
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return nil, m.waitEnded(ctx, op, name)
		case <-timer.C:
		}
	}
}

// waitEnded is Lock's error when ctx ends while the lock is held by another.
func (m *Model) waitEnded(ctx context.Context, op, name string) error {
	return m.fail(op, fmt.Errorf("%w: lock %q held by another owner: %w", ErrLocked, name, ctx.Err()))
}

// TryLock makes one attempt at the lock called name on the object: one script
// (lua/lock.lua), one round trip. It returns the lock, or an error wrapping
// ErrLocked at once when another owner holds it. Names, options and the other
// errors are those of Lock.
func (m *Model) TryLock(ctx context.Context, name string, opts ...LockOption) (_ *Lock, oerr error) {
	p, err := m.lockPrep("TryLock", name, opts)
	if err != nil {
		return nil, err
	}
	ctx, o := m.st.begin(ctx, "TryLock", m.sc.name, m.id)
	defer func() { o.end(oerr) }()
	l, _, err := m.acquire(ctx, "TryLock", p)
	return l, err
}

// lockParams is a validated acquisition request.
type lockParams struct {
	name string
	cfg  lockConfig
	keys []string
	ms   string
}

func (m *Model) lockPrep(op, name string, opts []LockOption) (lockParams, error) {
	p := lockParams{name: name, cfg: lockConfig{ttl: DefaultLockTTL}}
	if err := m.bound(op); err != nil {
		return p, err
	}
	for _, o := range opts {
		o.applyLock(&p.cfg)
	}
	if !validFieldPart(name) {
		return p, m.fail(op, fmt.Errorf("%w: lock name %q: want a letter, then letters, digits or '_' (at most 64 bytes)", ErrInvalid, name))
	}
	if p.cfg.ttl < time.Millisecond {
		return p, m.fail(op, fmt.Errorf("%w: lock %q: TTL %v is shorter than 1ms", ErrInvalid, name, p.cfg.ttl))
	}
	n, sp := m.sc.layout(m.st)
	shard := shardOf(m.id, n)
	p.keys = []string{m.key[0], lockKey(m.st.cfg.prefix, m.sc.name, shard, sp, name, m.id), fenceKey(m.st.cfg.prefix, m.sc.name, shard, sp)}
	p.ms = ttlMillis(p.cfg.ttl)
	return p, nil
}

// acquire makes one attempt. Held by another: an error wrapping ErrLocked and
// the time the holder's lock has left (0 when unknown).
func (m *Model) acquire(ctx context.Context, op string, p lockParams) (*Lock, time.Duration, error) {
	owner := rand.Text() // 26 base32 characters, 130 random bits
	start := time.Now()
	reply, err := m.st.eval(ctx, lua.Lock, p.keys, "0", "1", "acquire", owner, p.ms, p.name)
	err, short := shortOf(err)
	r, err := redis.Int64s(reply, err)
	if err != nil {
		return nil, 0, m.fail(op, scriptError(err))
	}
	if len(r) != 2 {
		return nil, 0, m.fail(op, fmt.Errorf("%w: lock script replied %v", ErrDecode, r))
	}
	if r[0] != 1 {
		return nil, time.Duration(r[1]) * time.Millisecond, m.fail(op, fmt.Errorf("%w: lock %q held by another owner", ErrLocked, p.name))
	}
	l := &Lock{
		st: m.st, model: m.sc.name, id: m.id, name: p.name, keys: p.keys[:2],
		owner: owner, token: r[1], until: start.Add(p.cfg.ttl),
	}
	if short != nil { // held, but a failover may drop it: the caller decides
		return l, 0, m.fail(op, fmt.Errorf("lock %q taken: %w", p.name, short))
	}
	return l, 0, nil
}

// Extend re-arms the lock to expire d from now (PEXPIRE of the lock key, in
// whole milliseconds), if this owner still holds it: one script
// (lua/lock.lua), one round trip. The fencing token does not change. Errors:
// ErrLockLost when the lock expired or another owner holds it now (nothing is
// changed; the lock cannot be won back by Extend; take it again with Lock),
// or when this Lock was released or found lost before (no I/O); ErrInvalid
// when d < 1ms (nothing sent).
func (l *Lock) Extend(ctx context.Context, d time.Duration) (oerr error) {
	ctx, o := l.st.begin(ctx, "Extend", l.model, l.id)
	defer func() { o.end(oerr) }()
	if d < time.Millisecond {
		return l.fail("Extend", fmt.Errorf("%w: lock %q: TTL %v is shorter than 1ms", ErrInvalid, l.name, d))
	}
	if l.gone() {
		return l.fail("Extend", fmt.Errorf("%w: lock %q was released or lost already", ErrLockLost, l.name))
	}
	start := time.Now()
	if err := l.run(ctx, "Extend", "extend", ttlMillis(d)); err != nil {
		return err
	}
	l.mu.Lock()
	if !l.released {
		l.until = start.Add(d)
	}
	l.mu.Unlock()
	return nil
}

// Unlock releases the lock if this owner still holds it (GET, compare, DEL
// in one script, lua/lock.lua): one round trip. A holder whose lock expired
// and was taken by another owner cannot release the other's lock: Unlock
// then returns an error wrapping ErrLockLost and leaves it in place, as it
// does when the lock has simply expired or was released already (what was
// done under the lock may have overlapped with another holder's work; see
// the fencing token). After Unlock, or once Unlock or Extend found the lock
// lost, further calls return ErrLockLost without I/O. Errors: ErrLockLost.
func (l *Lock) Unlock(ctx context.Context) (oerr error) {
	ctx, o := l.st.begin(ctx, "Unlock", l.model, l.id)
	defer func() { o.end(oerr) }()
	if l.gone() {
		return l.fail("Unlock", fmt.Errorf("%w: lock %q was released or lost already", ErrLockLost, l.name))
	}
	return l.run(ctx, "Unlock", "release", nil)
}

// gone reports whether this Lock was released, or found lost, already.
func (l *Lock) gone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}

// run sends an owner-checked op of lua/lock.lua (extend, release).
func (l *Lock) run(ctx context.Context, op, scriptOp string, ms any) error {
	args := []any{"0", "1", scriptOp, l.owner}
	if ms != nil {
		args = append(args, ms)
	}
	reply, err := l.st.eval(ctx, lua.Lock, l.keys, args...)
	err, short := shortOf(err)
	n, err := redis.Int64(reply, err)
	if err != nil {
		return l.fail(op, scriptError(err))
	}
	if short != nil && n == 1 { // done, not known to be on enough replicas
		short = l.fail(op, short)
	} else {
		short = nil
	}
	if n == 1 && scriptOp == "extend" {
		return short
	}
	l.mu.Lock()
	l.released, l.until = true, time.Time{}
	l.mu.Unlock()
	switch {
	case n == 0:
		return l.fail(op, fmt.Errorf("%w: lock %q expired", ErrLockLost, l.name))
	case n < 0:
		return l.fail(op, fmt.Errorf("%w: lock %q expired and another owner holds it now", ErrLockLost, l.name))
	}
	return short
}

func (l *Lock) fail(op string, err error) error { return detail(op, l.model, l.id, "", err) }

// lockReleaseTimeout bounds the Unlock that WithLock sends when its context
// has ended already.
const lockReleaseTimeout = 5 * time.Second

// WithLock runs fn while holding the lock called name on the object:
//
//  1. Lock (waiting as Lock does; options as for Lock),
//  2. Reload, so fn sees the object as stored now, not as loaded before,
//  3. fn(ctx), with a context that also ends when the lock's expiry comes
//     (ValidUntil), so that rapyer operations inside fn fail rather than act
//     on a lost lock,
//  4. with WithSave and fn returning nil: Save, in one script with a check
//     that this owner still holds the lock (lua/lockcheck.lua then
//     lua/save.lua): when the lock expired or another owner holds it,
//     nothing is saved and the error wraps ErrLockLost,
//  5. Unlock, always: after an error from fn or from Save, and when fn
//     panics (the panic then goes on). The release is sent even when ctx has
//     ended (with its own 5s bound).
//
// Round trips: Lock (1 uncontended), Reload (1), Save (1, with WithSave),
// Unlock (1, not sent when the Save found the lock lost), plus whatever fn
// sends. fn's error
// is returned as is (joined with an Unlock error, if any). Other errors: those
// of Lock, Reload and Save, and ErrLockLost when the lock was lost before the
// release (the work may then have overlapped with another holder's).
func (m *Model) WithLock(ctx context.Context, name string, fn func(ctx context.Context) error, opts ...LockOption) (err error) {
	if fn == nil {
		if err := m.bound("WithLock"); err != nil {
			return err
		}
		return m.fail("WithLock", fmt.Errorf("%w: nil function", ErrInvalid))
	}
	if err := m.bound("WithLock"); err != nil {
		return err
	}
	ctx, o := m.st.begin(ctx, "WithLock", m.sc.name, m.id)
	defer func() { o.end(err) }()
	l, err := m.Lock(ctx, name, opts...)
	if err != nil {
		if l != nil { // taken, not replicated (WithWait): fn does not run
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockReleaseTimeout)
			defer cancel()
			err = errors.Join(err, l.Unlock(rctx))
		}
		return err
	}
	defer func() {
		if l.gone() { // Extend found it lost: that error says so already
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockReleaseTimeout)
		defer cancel()
		if uerr := l.Unlock(rctx); uerr != nil {
			err = errors.Join(err, uerr)
		}
	}()
	if err := m.reload(ctx, "WithLock", nil, false); err != nil {
		return err
	}
	fctx, cancel := context.WithDeadline(ctx, l.ValidUntil())
	defer cancel()
	if err := fn(fctx); err != nil {
		return err
	}
	var cfg lockConfig
	for _, o := range opts {
		o.applyLock(&cfg)
	}
	if !cfg.save {
		return nil
	}
	return m.lockedSave(ctx, l)
}

// lockedSave is Save under l: the owner check and the save are one script
// (LockedSave), whatever the model's Save would send. A lost lock marks l
// released (no Unlock is sent for it) and saves nothing.
func (m *Model) lockedSave(ctx context.Context, l *Lock) error {
	const op = "Save"
	u, err := m.saveUnitAs(op, &lockGuard{key: l.keys[1], owner: l.owner})
	if err != nil {
		return err
	}
	cs, err := m.claimsOf(op, m.sc.idx)
	if err != nil {
		return err
	}
	var rs []any
	var short error // WAIT short of its count: saved, not known replicated
	err = m.withClaims(ctx, op, cs, &short, func(ctx context.Context) error {
		var err error
		rs, err = m.st.run1(ctx, u)
		err, short = shortOf(err)
		return err
	})
	if _, claimed := err.(*Error); err != nil && !claimed {
		err = scriptError(err)
		if errors.Is(err, ErrLockLost) {
			l.mu.Lock()
			l.released, l.until = true, time.Time{}
			l.mu.Unlock()
			return m.fail(op, fmt.Errorf("%w (lock %q)", err, l.name))
		}
	}
	if err != nil {
		return m.fail(op, err)
	}
	m.version = u.Version(rs)
	if short != nil {
		return m.fail(op, short) // saved, not known to be on enough replicas
	}
	return nil
}
