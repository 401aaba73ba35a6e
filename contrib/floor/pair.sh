#!/usr/bin/env bash
# pair.sh: two wsproxy processes relaying the same echo load at the same
# time, so that the shared machine's drift (±15 % between rounds) falls on
# both alike; the ratio of their CPU per message is the A/B (BENCHMARKS.md,
# "Reads ahead and sends in one system call").
#
#   contrib/floor/pair.sh ROUNDS BIN_A ENV_A BIN_B ENV_B
#   contrib/floor/pair.sh 3 ./wsproxy WSPROXY_IO_URING=off ./wsproxy X=1
#
# ENV_A and ENV_B are one NAME=VALUE each for that proxy (X=1 for none).
# One `BIN_A echo` backend; each proxy is `run -upstream` it with its
# defaults and gets its own `loadtest -workload echo` of CONNS (600)
# connections x RATE (5) messages/s; `perf stat -p` counts each proxy for
# 10 s in the middle. Needs perf.
set -euo pipefail
rounds=$1 A=$2 EA=$3 B=$4 EB=$5
CONNS=${CONNS:-600}
RATE=${RATE:-5}
d=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$d"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
events=task-clock,raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom
for r in $(seq "$rounds"); do
	bp=$(port)
	"$A" echo -listen "127.0.0.1:$bp" -loops 1 >/dev/null 2>&1 &
	echo_pid=$!
	rm -f "$d/a" "$d/b"
	env "$EA" "$A" run -listen 127.0.0.1:0 -upstream "127.0.0.1:$bp" -addr-file "$d/a" -log-level error &
	pa=$!
	env "$EB" "$B" run -listen 127.0.0.1:0 -upstream "127.0.0.1:$bp" -addr-file "$d/b" -log-level error &
	pb=$!
	for i in $(seq 200); do [ -s "$d/a" ] && [ -s "$d/b" ] && break; sleep 0.05; done
	aa=$(awk '/^listen/{print $2; exit}' "$d/a")
	ab=$(awk '/^listen/{print $2; exit}' "$d/b")
	"$A" loadtest -url "ws://$aa/" -conns "$CONNS" -workload echo -msg-rate "$RATE" -duration 20s -json >"$d/lta.json" 2>/dev/null &
	la=$!
	"$A" loadtest -url "ws://$ab/" -conns "$CONNS" -workload echo -msg-rate "$RATE" -duration 20s -json >"$d/ltb.json" 2>/dev/null &
	lb=$!
	sleep 8
	perf stat -x, -e "$events" -p "$pa" -o "$d/perfa" -- sleep 10 &
	perf stat -x, -e "$events" -p "$pb" -o "$d/perfb" -- sleep 10
	wait "$la" "$lb" || true
	kill "$pa" "$pb" "$echo_pid" 2>/dev/null || true
	wait "$pa" "$pb" "$echo_pid" 2>/dev/null || true
	python3 - "$d" "$CONNS" "$RATE" "$EA" "$EB" <<'PY'
import json, sys
d, conns, rate, ea, eb = sys.argv[1:]
units = int(conns) * int(rate) * 10 * 2  # messages relayed in 10 s, both ways
out = []
for k, env in (('a', ea), ('b', eb)):
    rows = [l.split(',') for l in open(f'{d}/perf{k}') if ',' in l and not l.startswith('#')]
    per = {r[2].replace('syscalls:sys_enter_', '').replace('raw_syscalls:sys_enter', 'syscalls'): float(r[0]) / units for r in rows}
    lt = json.load(open(f'{d}/lt{k}.json'))
    out.append((env, per['task-clock'] * 1e3, lt['rtt']['p50_ms'] * 1e3))
    print(f"{k} {env}: " + ' '.join(f"{n} {v:.3f}" for n, v in per.items() if n != 'task-clock'), "per message")
print('  '.join(f"{e}: {c:.2f} µs/msg, RTT p50 {p:.0f} µs" for e, c, p in out), f"  B ÷ A {out[1][1] / out[0][1]:.3f}", flush=True)
PY
done
