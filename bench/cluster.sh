#!/usr/bin/env bash
# cluster.sh: the cluster benchmarks of issue 11 (cluster_bench_test.go) on
# throwaway servers: a 1-master cluster, a 3-master cluster and one
# redis-server, all on loopback, stopped by their pids at the end (the
# project's .ci/with-cluster and .ci/with-redis). COUNT rounds (default 5):
# the paired benchmarks with -count COUNT, the concurrent one with
# CLUSTER_ROUNDS=COUNT (the targets in turn, round after round). The output
# goes to results/cluster-<date>.txt too.
#
#   bash cluster.sh            (make -C bench cluster)
#   COUNT=2 bash cluster.sh
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-5}
GO=${GO:-go}

case "${1:-}" in
inner1) # inside the 1-master cluster
	export REDIS_CLUSTER1_ADDRS=$REDIS_CLUSTER_ADDRS
	CLUSTER_MASTERS=3 exec bash ../.ci/with-cluster bash ../.ci/with-redis bash "$0" inner2
	;;
inner2) # inside the 3-master cluster and the redis-server
	echo "date: $(date -u +%FT%TZ)  machine: $(uname -srm), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	"$GO" test -run '^$' -bench '^BenchmarkCluster(Single|Many)$' -count "$COUNT" .
	CLUSTER_ROUNDS=$COUNT "$GO" test -run '^$' -bench '^BenchmarkClusterConcurrent$' -count 1 .
	;;
*)
	mkdir -p results
	CLUSTER_MASTERS=1 bash ../.ci/with-cluster bash "$0" inner1 2>&1 | tee "results/cluster-$(date +%F).txt"
	;;
esac
