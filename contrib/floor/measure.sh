#!/usr/bin/env bash
# measure.sh: CPU per unit of work of floor (floor.c), wsproxy, nginx and
# HAProxy, interleaved rounds on one machine (BENCHMARKS.md, "The floor").
#
#   contrib/floor/measure.sh handshake [ROUNDS]   # CPU per WebSocket handshake, a ramp of N=5000
#   contrib/floor/measure.sh echo [ROUNDS]        # CPU per relayed message, RTT p50 / p99 (1,000 x 5/s)
#   contrib/floor/measure.sh wake [ROUNDS]        # an idle loop's wake-up: C epoll, wsproxy's poller, Go blocking in epoll
#
# Needs gcc, perf, nginx and haproxy (apt-get install -y gcc linux-perf nginx
# haproxy), and a wsproxy binary: WSPROXY=path (default: built from this tree).
# Environment: N (handshakes per ramp), CONNS and RATE (echo), PROXIES (the
# list to run, default "floor wsproxy nginx haproxy"), EXTRA_EVENTS (more perf
# events counted in echo's 10 s, printed to stderr: e.g.
# context-switches,syscalls:sys_enter_epoll_pwait).
set -euo pipefail
mode=${1:?usage: measure.sh handshake|echo|wake [ROUNDS]}
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
gcc -O2 -o "$dir/floor" "$here/floor.c"
ws=${WSPROXY:-}
if [ -z "$ws" ]; then
	ws=$dir/wsproxy
	(cd "$here/../.." && go build -o "$ws" ./cmd/wsproxy)
fi
cpus=$(nproc)
N=${N:-5000}
CONNS=${CONNS:-1000}
RATE=${RATE:-5}

# waitfor runs its arguments until they succeed, for up to 10 s.
waitfor() {
	local i
	for i in $(seq 200); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "measure.sh: gave up waiting for: $*" >&2
	exit 1
}

# children_up: nginx's workers have started.
children_up() { [ "$(pgrep -c -P "$top")" -ge "$cpus" ]; }

# port returns a free loopback port (the kernel's pick, released at once).
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_proxy() { # name backend -> sets addr, pids, top
	local name=$1 backend=$2 p
	case $name in
	floor)
		rm -f "$dir/floor.out"
		"$dir/floor" 127.0.0.1:0 "$cpus" "$backend" >"$dir/floor.out" &
		top=$!
		waitfor test -s "$dir/floor.out"
		addr=$(awk '{print $2}' "$dir/floor.out")
		pids=$(pgrep -P "$top" | paste -sd,) ;;
	wsproxy)
		rm -f "$dir/addrs"
		"$ws" run -listen 127.0.0.1:0 -upstream "$backend" -addr-file "$dir/addrs" -log-level error &
		top=$!
		waitfor test -s "$dir/addrs"
		addr=$(awk '/^listen/{print $2; exit}' "$dir/addrs")
		pids=$top ;;
	nginx)
		p=$(port)
		cat >"$dir/nginx.conf" <<EOC
worker_processes $cpus; daemon off; error_log $dir/nginx.err error; pid $dir/nginx.pid;
events { worker_connections 20000; }
http { access_log off; map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
 upstream b { server $backend; }
 server { listen 127.0.0.1:$p; location / { proxy_pass http://b; proxy_http_version 1.1;
  proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection \$connection_upgrade; proxy_read_timeout 1h; } } }
EOC
		nginx -c "$dir/nginx.conf" &
		top=$!
		addr=127.0.0.1:$p
		waitfor children_up
		pids=$(pgrep -P "$top" | paste -sd,) ;;
	haproxy)
		p=$(port)
		cat >"$dir/haproxy.cfg" <<EOC
global
  maxconn 9000
  nbthread $cpus
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
frontend f
  bind 127.0.0.1:$p
  default_backend b
backend b
  server s1 $backend
EOC
		haproxy -f "$dir/haproxy.cfg" -db >/dev/null 2>&1 &
		top=$!
		addr=127.0.0.1:$p
		pids=$top ;;
	esac
	# Ready once a WebSocket goes through (also warms every proxy up alike).
	waitfor "$ws" loadtest -url "ws://$addr/" -conns 50 -workload hold -duration 200ms
}

stop_proxy() {
	kill "$top" ${pids//,/ } 2>/dev/null || true
	wait "$top" 2>/dev/null || true
}

one() { # name -> one line of results
	local name=$1 bp
	bp=$(port)
	"$ws" echo -listen "127.0.0.1:$bp" -loops 1 >/dev/null 2>&1 &
	local echo=$!
	waitfor "$ws" loadtest -url "ws://127.0.0.1:$bp/" -conns 1 -workload hold -duration 10ms
	start_proxy "$name" "127.0.0.1:$bp"
	case $mode in
	handshake)
		# The proxy's CPU from before the ramp until it is over (the
		# connections are held 6 s, beyond perf's 3 s): per handshake.
		perf stat -x, -e task-clock -p "$pids" -o "$dir/perf" -- sleep 3 &
		local perfpid=$!
		sleep 0.2
		"$ws" loadtest -url "ws://$addr/" -conns "$N" -workload hold -duration 6s -json >"$dir/lt.json" 2>/dev/null || true
		wait $perfpid
		units=$N ;;
	echo)
		"$ws" loadtest -url "ws://$addr/" -conns "$CONNS" -workload echo -msg-rate "$RATE" -duration 20s -json >"$dir/lt.json" 2>/dev/null &
		local lt=$!
		sleep 8
		perf stat -x, -e task-clock${EXTRA_EVENTS:+,$EXTRA_EVENTS} -p "$pids" -o "$dir/perf" -- sleep 10; [ -z "${EXTRA_EVENTS:-}" ] || cat "$dir/perf" >&2
		wait $lt || true
		units=$((CONNS * RATE * 10 * 2)) ;; # messages relayed in 10 s, both ways
	esac
	stop_proxy
	kill $echo 2>/dev/null || true
	wait $echo 2>/dev/null || true
	python3 - "$name" "$mode" "$units" "$dir/perf" "$dir/lt.json" <<'PY'
import json, sys
name, mode, units, perf, lt = sys.argv[1:]
ms = [float(l.split(',')[0]) for l in open(perf) if 'task-clock' in l][0]
d = json.load(open(lt))
line = f"{name:8s} up {d['up']:5d} failed {d.get('failed', 0)}  CPU per {'handshake' if mode == 'handshake' else 'message'} {ms * 1000 / int(units):6.2f} µs"
if mode == 'echo':
    r = d['rtt']
    line += f"  RTT p50 {r['p50_ms'] * 1000:4.0f} µs p99 {r['p99_ms'] * 1000:4.0f} µs"
print(line, flush=True)
PY
}

# wake: one connection, one byte at a time with 1 ms between round trips,
# so that the echo's loop is idle when each byte comes; the echo and the
# client on one CPU (the round trip is then the wake-ups and the system
# calls, not an idle CPU's wake-up), then unpinned. perf counts the echo's
# CPU and system calls per round trip.
wake() {
	gcc -O2 -o "$dir/pingpong" "$here/pingpong.c"
	(cd "$here/../.." && go build -o "$dir/gopingpong" ./contrib/floor/pingpong)
	local n=3000 name cpu pin
	for r in $(seq "$rounds"); do
		echo "# round $r"
		for cpu in 0 any; do
			pin=()
			[ "$cpu" = any ] || pin=(taskset -c "$cpu")
			for name in C wsproxy-poller go-raw-wait; do
				rm -f "$dir/pp.out"
				case $name in
				C) "${pin[@]}" "$dir/pingpong" serve 127.0.0.1:0 >"$dir/pp.out" & ;;
				wsproxy-poller) "${pin[@]}" "$dir/gopingpong" 127.0.0.1:0 >"$dir/pp.out" & ;;
				go-raw-wait) "${pin[@]}" "$dir/gopingpong" -raw 127.0.0.1:0 >"$dir/pp.out" & ;;
				esac
				top=$!
				waitfor test -s "$dir/pp.out"
				perf stat -x, -e task-clock,context-switches,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait \
					-p "$top" -o "$dir/perf" &
				local perfpid=$!
				sleep 0.2
				local out
				out=$("${pin[@]}" "$dir/pingpong" client "$(awk '{print $2}' "$dir/pp.out")" $n 1000)
				wait "$top" || true
				kill -INT $perfpid 2>/dev/null || true
				wait $perfpid || true
				printf '%-15s cpu %-3s %s  %s\n' "$name" "$cpu" "$out" "$(awk -F, -v n=$n '$3 ~ /task-clock/ {printf "CPU per round trip %.2f µs", $1 * 1000 / n}
					$3 ~ /context-switches/ {printf "  switches %.2f", $1 / n}
					$3 ~ /epoll/ && $1 > 0 {sub("syscalls:sys_enter_", "", $3); printf "  %s %.2f", $3, $1 / n}' "$dir/perf")"
			done
		done
	done
}
if [ "$mode" = wake ]; then
	wake
	exit 0
fi

for r in $(seq "$rounds"); do
	echo "# round $r"
	for name in ${PROXIES:-floor wsproxy nginx haproxy}; do
		one "$name"
	done
done
