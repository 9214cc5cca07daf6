#!/usr/bin/env bash
# callgrind.sh: the server's instructions per call of rapyer's scripts and
# their probes (cmd/scriptprobe's variants), counted by valgrind's callgrind
# on a throwaway redis-server: a count that the machine's load does not
# move, where µs per call swing twice over on a shared machine. Each
# variant runs N calls (redis-benchmark, pipelined) on a fresh server; the
# same server with 0 calls is subtracted, so what is left is the calls'
# own cost (parsing them, the script, its commands, the replies).
#
#   bash callgrind.sh                      the default variants, N=200
#   N=500 bash callgrind.sh intadd save.lua_6_fields
#   bash callgrind.sh savemany_64_shape raw_savemany_64   per 64 objects: the
#                                          script, and the raw pipeline of MULTI
#                                          {HSET, HINCRBY} EXEC it stands for
#
# Needs valgrind, redis-server and redis-benchmark (Debian: valgrind,
# redis-server, redis-tools). Slow: a server under callgrind runs about
# 50 times slower.
set -euo pipefail
cd "$(dirname "$0")"
N=${N:-200}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go run ./cmd/scriptprobe -dump "$dir"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	names=(return1 int intadd exists_hincrby_x2 save_6_fields savemany_64_full savemany_64_compact savemany_64_shape hincrby_hset_x64 raw_savemany_64)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# run NAME CALLS: the server's total instructions
run() {
	local out="$dir/cg.out" vp
	valgrind --tool=callgrind --callgrind-out-file="$out" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
	vp=$!
	for _ in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	redis-cli -p "$port" hset scriptprobe:obj _v 1 age 36 name x >/dev/null
	if [ -f "$dir/$1.resp" ]; then # a raw pipeline, sent N times
		for _ in $(seq "$2"); do cat "$dir/$1.resp"; done | redis-cli -p "$port" --pipe >/dev/null
		redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
		wait "$vp" || true
		sed -n 's/^\(summary\|totals\): \([0-9]*\).*/\2/p' "$out" | head -n 1
		return
	fi
	local sha
	sha=$(redis-cli -p "$port" -x script load <"$dir/$1.lua")
	if [ "$2" -gt 0 ]; then
		xargs -0 -a "$dir/$1.args" redis-benchmark -p "$port" -n "$2" -c 1 -P 4 -q evalsha "$sha" >/dev/null
		local failed
		failed=$(redis-cli -p "$port" info commandstats | sed -n 's/^cmdstat_evalsha:.*failed_calls=\([0-9]*\).*/\1/p')
		if [ "${failed:-0}" != 0 ]; then echo "callgrind.sh: $1: $failed calls failed" >&2; fi
	fi
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	wait "$vp" || true
	sed -n 's/^\(summary\|totals\): \([0-9]*\).*/\2/p' "$out" | head -n 1
}

echo "date: $(date -u +%FT%TZ)  $(redis-server --version | cut -d' ' -f1-3)  N=$N calls per variant"
for name in "${names[@]}"; do
	if [ ! -f "$dir/$name.lua" ] && [ ! -f "$dir/$name.resp" ]; then
		echo "callgrind.sh: no variant $name (see cmd/scriptprobe): $(cd "$dir" && ls ./*.lua | sed 's|^./||; s|\.lua$||' | tr '\n' ' ')" >&2
		exit 2
	fi
	zero=$(run "$name" 0)
	full=$(run "$name" "$N")
	printf '%-28s %10d instructions per call\n' "$name" $(((full - zero) / N))
done
