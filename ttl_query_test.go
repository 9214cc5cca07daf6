package rapyer_test

// queryOps are the TTL-matrix entries of the query operations. There are
// none: the matrix's model (user) has no index, so it cannot be queried;
// the queries' TTL behaviour is tested on an indexed model instead
// (TestQueryTTLRefresh), and their refusal of a queue context in
// TestQueryErrors.
var queryOps = []op{}

// queryExempt lists the query operations, which are not object operations
// of the matrix's model.
var queryExempt = map[string]string{
	"Schema.Find":        "a query (needs an indexed model): loads refresh TTLs as Get does, tested by TestQueryTTLRefresh",
	"Schema.FindOne":     "a query (needs an indexed model): loads refresh TTLs as Get does, tested by TestQueryTTLRefresh",
	"Schema.Iter":        "a query (needs an indexed model): loads refresh TTLs as Get does, tested by TestQueryTTLRefresh",
	"Schema.Page":        "a query (needs an indexed model): loads refresh TTLs as Get does, tested by TestQueryTTLRefresh",
	"Schema.FindIDs":     "a query (needs an indexed model): reads no object, refreshes nothing, tested by TestQueryTTLRefresh",
	"Schema.Count":       "a query (needs an indexed model): reads no object, refreshes nothing, tested by TestQueryTTLRefresh",
	"Schema.DeleteWhere": "removes the objects (as Delete); tested by TestQueryManyMatches",
}
