package check_test

import (
	"testing"

	"github.com/rapyer-go/rapyer/cmd/rapyervet/check"
	"golang.org/x/tools/go/analysis/analysistest"
)

// TestSchema: testdata/src/schema holds models whose schema functions list
// every handle (no report) and leave some out (a report each, at the
// schema function).
func TestSchema(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), check.Analyzer, "schema")
}

// TestQueue: testdata/src/queue holds Tx and Batch closures that use the
// queue context (no report) and that use another (a report each).
func TestQueue(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), check.Analyzer, "queue")
}
