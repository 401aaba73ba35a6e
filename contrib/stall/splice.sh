#!/usr/bin/env bash
# splice.sh: what splice saves in bulk relaying, the reason it stays on by
# default although it lets a stalled tunnel's receive buffer grow
# (BENCHMARKS.md, "Stalled uploads"). wsproxy (2 loops) in front of one
# `wsproxy echo`, `splice: true` and `false` alternating, ROUNDS rounds of 10
# connections relaying 64 KiB messages; CPU from perf stat over 10 s.
#
#   contrib/stall/splice.sh [ROUNDS]
#
# Needs perf; WSPROXY=path (default: built from this tree).
set -euo pipefail
rounds=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$d"' EXIT
ws=${WSPROXY:-}
if [ -z "$ws" ]; then
	ws=$d/wsproxy
	(cd "$here/../.." && go build -o "$ws" ./cmd/wsproxy)
fi
waitfor() { for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "gave up: $*" >&2; exit 1; }
"$ws" echo -listen 127.0.0.1:0 -addr-file "$d/e.addr" -loops 1 >/dev/null 2>&1 &
waitfor test -s "$d/e.addr"
ea=$(awk '{print $2}' "$d/e.addr")
for _ in $(seq "$rounds"); do
	for sp in true false; do
		cat >"$d/sp.yaml" <<EOC
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes: [{path: /, upstream: "$ea", websocket: {splice: $sp}}]
EOC
		rm -f "$d/sp.addr"
		"$ws" run -config "$d/sp.yaml" -addr-file "$d/sp.addr" -log-level error &
		p=$!
		waitfor test -s "$d/sp.addr"
		pa=$(awk '/^listen/{print $2}' "$d/sp.addr")
		"$ws" loadtest -url "ws://$pa/" -conns 20 -workload hold -duration 100ms >/dev/null 2>&1
		"$ws" loadtest -url "ws://$pa/" -conns 10 -workload bulk -duration 12s -json >"$d/bulk.json" 2>/dev/null &
		l=$!
		sleep 1
		perf stat -x, -e task-clock -p "$p" -o "$d/perf" -- sleep 10
		wait $l || true
		python3 - "$sp" "$d/perf" "$d/bulk.json" <<'PY'
import json, sys
sp, perf, bulk = sys.argv[1:]
ms = [float(l.split(',')[0]) for l in open(perf) if 'task-clock' in l][0]
mb = json.load(open(bulk))['bytes'] / 1e6 * 10 / 12  # the 10 s perf saw, of the 12 s phase
print(f"splice: {sp:5s}  {mb:7.0f} MB relayed in 10 s, proxy CPU {ms:6.0f} ms, {ms / mb * 1000:5.0f} µs per MB", flush=True)
PY
		kill $p
		wait $p 2>/dev/null || true
	done
done
