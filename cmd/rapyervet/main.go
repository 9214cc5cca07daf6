// Command rapyervet checks code that uses rapyer for two mistakes the
// compiler cannot see and the library cannot report at run time:
//
//   - schema: a model field of a handle type (types.Int, types.List[T], ...)
//     that its Define schema function never lists: Save ignores it and Get
//     leaves it absent, silently;
//   - queue: an operation inside a Store.Tx or Store.Batch closure called
//     with a context other than the closure's queue context: it runs at
//     once, outside the transaction, and is not undone when the closure
//     returns an error.
//
// Run it alone or through go vet:
//
//	go install github.com/rapyer-go/rapyer/cmd/rapyervet@latest
//	rapyervet ./...
//	go vet -vettool=$(which rapyervet) ./...
package main

import (
	"github.com/rapyer-go/rapyer/cmd/rapyervet/check"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() { singlechecker.Main(check.Analyzer) }
