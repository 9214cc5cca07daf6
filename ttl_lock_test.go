package rapyer_test

// lockExempt lists the lock operations, which do not touch the object's TTL.
var lockExempt = map[string]string{
	"Model.Lock":     "lock keys have their own expiry; locking is not a use of the object (TestLockLeavesObjectTTL)",
	"Model.TryLock":  "lock keys have their own expiry; locking is not a use of the object (TestLockLeavesObjectTTL)",
	"Model.WithLock": "its TTL effect is that of Reload and Save, which the matrix covers",
	"Lock.Extend":    "re-arms the lock key's expiry, not the object's (TestLockLeavesObjectTTL)",
	"Lock.Unlock":    "removes the lock key only (TestLockLeavesObjectTTL)",
}
