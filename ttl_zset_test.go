package rapyer_test

// zsetOps are the TTL-matrix entries of types.SortedSet.
var zsetOps = []op{}
