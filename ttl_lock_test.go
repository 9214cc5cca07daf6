package rapyer_test

// lockExempt lists the lock operations, which do not touch the object's TTL.
var lockExempt = map[string]string{}
