// Package bench holds rapyer's benchmarks, each beside a raw-redigo baseline
// that sends the same commands over a plain redigo pool in the same run. It
// is its own module, so that peers used only here never enter the library's
// go.mod and `go test ./...` at the repository root does not run it.
//
//	cd bench && go test -run '^$' -bench . ./...
//	cd bench && REDIS_URL=redis://127.0.0.1:6390 go test -run '^$' -bench . -count 5 ./...
//
// The BenchmarkPeers* benchmarks run go-redis v9 and rueidis beside rapyer
// and raw redigo on the same workloads; `make -C bench compare` runs them
// all on a throwaway redis-server and draws peers.svg (cmd/chart).
//
// See README.md for the figures and how they were taken.
package bench
