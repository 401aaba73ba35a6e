#!/usr/bin/env bash
# run.sh: stalled uploads through wsproxy (kernel buffers autotuned, and fixed
# at 64k with rcvbuf/sndbuf), nginx (the same, listen rcvbuf=/sndbuf=) and
# HAProxy, one after the other (BENCHMARKS.md, "Stalled uploads").
#
#   contrib/stall/run.sh [N] [NAMES]   # N pushing clients (default 100)
#
# READ_FIRST=BYTES: the backend reads that much of each connection before it
# stops (autotuning grows the buffers meanwhile).
# NAMES: any of wsproxy wsproxy-64k wsproxy-nosplice nginx nginx-64k haproxy
# (default all but wsproxy-nosplice).
# Needs python3, ss (iproute2), nginx and haproxy, and a wsproxy binary:
# WSPROXY=path (default: built from this tree).
set -euo pipefail
n=${1:-100}
names=${2:-"wsproxy wsproxy-64k nginx nginx-64k haproxy"}
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$d"' EXIT
ws=${WSPROXY:-}
if [ -z "$ws" ]; then
	ws=$d/wsproxy
	(cd "$here/../.." && go build -o "$ws" ./cmd/wsproxy)
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
workers_up() { [ "$(pgrep -c -P "$1")" -ge 2 ]; }
waitfor() { for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "gave up: $*" >&2; exit 1; }

for name in $names; do
	rm -f "$d/bport"
	python3 "$here/stall.py" backend "$d/bport" &
	b=$!
	waitfor test -s "$d/bport"
	bp=$(cat "$d/bport")
	p=$(port)
	case $name in
	wsproxy | wsproxy-64k | wsproxy-nosplice)
		lb="" ub="" ro=""
		if [ "$name" = wsproxy-64k ]; then lb=", rcvbuf: 64k, sndbuf: 64k" ub="rcvbuf: 64k, sndbuf: 64k, "; fi
		if [ "$name" = wsproxy-nosplice ]; then ro=", websocket: {splice: false}"; fi
		cat >"$d/ws.yaml" <<EOC
listen: [{addr: "127.0.0.1:$p"$lb}]
loops: 2
upstreams:
  b: {${ub}servers: [{addr: "127.0.0.1:$bp"}]}
routes: [{path: /, upstream: b$ro}]
timeouts: {idle: 1h}
EOC
		"$ws" run -config "$d/ws.yaml" -log-level error &
		top=$!
		pids=$top ;;
	nginx | nginx-64k)
		lb=""
		if [ "$name" = nginx-64k ]; then lb=" rcvbuf=64k sndbuf=64k"; fi
		cat >"$d/nginx.conf" <<EOC
worker_processes 2; daemon off; error_log $d/nginx.err error; pid $d/nginx.pid;
events { worker_connections 20000; }
http { access_log off;
 upstream b { server 127.0.0.1:$bp; }
 server { listen 127.0.0.1:$p$lb; location / { proxy_pass http://b; proxy_http_version 1.1;
  proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection upgrade; proxy_read_timeout 1h; } } }
EOC
		nginx -c "$d/nginx.conf" &
		top=$!
		waitfor workers_up "$top"
		pids=$(pgrep -P "$top" | paste -sd,) ;;
	haproxy)
		cat >"$d/haproxy.cfg" <<EOC
global
  maxconn 9000
  nbthread 2
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
  server s1 127.0.0.1:$bp
EOC
		haproxy -f "$d/haproxy.cfg" -db >/dev/null 2>&1 &
		top=$!
		pids=$top ;;
	*) echo "unknown proxy $name" >&2; exit 2 ;;
	esac
	waitfor python3 -c "import socket; socket.create_connection(('127.0.0.1', $p)).close()"
	echo -n "$name: "
	python3 "$here/stall.py" clients "127.0.0.1:$p" "$n" "$pids"
	kill "$top" ${pids//,/ } "$b" 2>/dev/null || true
	wait "$top" "$b" 2>/dev/null || true
done
