package rapyer

// NoWait makes Model.WithLock and Model.Lock make one attempt at the lock,
// as TryLock does: when another owner holds it they return at once with an
// error wrapping ErrLocked, and WithLock does not call its function (nor
// reload or save). One round trip for the attempt. For workers that skip a
// busy object rather than queue behind it:
//
//	err := job.WithLock(ctx, "run", work, rapyer.NoWait())
//	if errors.Is(err, rapyer.ErrLocked) { /* another worker has it */ }
//
// Default: Lock and WithLock wait while the lock is held.
func NoWait() LockOption {
	return lockOptionFunc(func(c *lockConfig) { c.noWait = true })
}
