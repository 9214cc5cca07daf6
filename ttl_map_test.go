package rapyer_test

// mapOps are the TTL-matrix entries of types.Map and types.Counter.
var mapOps = []op{}
