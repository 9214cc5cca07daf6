package rapyer_test

// queryOps are the TTL-matrix entries of the query operations.
var queryOps = []op{}

// queryExempt lists query operations that are not object operations.
var queryExempt = map[string]string{
	"Schema.Sweep":   "maintenance over every shard's index keys: reads no object, leaves every TTL alone (TestSweepExpired)",
	"Schema.Reindex": "maintenance over every object of the model: leaves every TTL alone (TestReindexLeavesTTL)",
}
