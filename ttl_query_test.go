package rapyer_test

// queryOps are the TTL-matrix entries of the query operations.
var queryOps = []op{}

// queryExempt lists query operations that are not object operations.
var queryExempt = map[string]string{}
