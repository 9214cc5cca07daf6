package rapyer_test

// setOps are the TTL-matrix entries of types.Set.
var setOps = []op{}
