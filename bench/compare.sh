#!/usr/bin/env bash
# compare.sh: the whole peer comparison (issue 12) in one command, from a
# checkout with redis-server installed:
#
#   bench/compare.sh                 (or: make -C bench compare)
#   COUNT=4 bench/compare.sh         fewer repetitions (default 8)
#
# It starts a throwaway redis-server on a free loopback port (../.ci/with-redis:
# never 6379, never a server it did not start, stopped by its pid), compiles
# the benchmarks once, then runs every BenchmarkPeers* benchmark on it COUNT
# times, a round of all of them at a time, so that each workload's
# repetitions are spread over the whole run rather than taken back to back.
# Within every line the four libraries are interleaved (see
# peers_bench_test.go). The output, headed by the date, machine, Go and
# Redis versions and the commit, goes to results/peers-<date>.txt; then
# cmd/chart writes peers.svg (shown in README.md) and the tables to
# results/peers-<date>.md.
#
# Per round: one-call workloads 2000 operations per library, SaveMany and
# GetMany 100 batches, each concurrency level 20000 operations per library
# (BENCH_SEQ, BENCH_BULK, BENCH_PAR override them). About a minute per round
# on a 2-vCPU machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

COUNT=${COUNT:-8}
BENCH_SEQ=${BENCH_SEQ:-2000x}
BENCH_BULK=${BENCH_BULK:-100x}
BENCH_PAR=${BENCH_PAR:-20000x}
day=$(date -u +%F)
out=${OUT:-results/peers-$day.txt}

# shellcheck source=../.ci/with-redis
source ../.ci/with-redis
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rapyer-peers.XXXXXX")
cleanup() {
	redis_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go test -c -o "$tmp/bench.test" .
redis_start

{
	echo "date: $(date -u '+%F %H:%M UTC')"
	echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- .. 2>/dev/null || echo ' (with local changes)')"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(uname -sm)"
	echo "go: $(go version | cut -d' ' -f3-)"
	echo "redis: redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on loopback"
	echo "runs: $COUNT rounds; one-call $BENCH_SEQ, bulk $BENCH_BULK, concurrent $BENCH_PAR per library per line"
} >"$out"

for round in $(seq 1 "$COUNT"); do
	echo "compare.sh: round $round of $COUNT (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
	run() { "$tmp/bench.test" -test.run '^$' -test.bench "$1" -test.benchtime "$2" -test.count 1 | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$out"; }
	run '^BenchmarkPeers(Save|Get|Incr)$/^redis$' "$BENCH_SEQ"
	run '^BenchmarkPeers(SaveMany|GetMany)$/^redis$' "$BENCH_BULK"
	run '^BenchmarkPeers(Get|Incr)Parallel$/^redis$' "$BENCH_PAR"
done

go run ./cmd/chart -svg peers.svg -md "${out%.txt}.md" "$out"
echo "compare.sh: wrote $out, ${out%.txt}.md and peers.svg" >&2
