// Package floortest is the test of ../floor.c, the least a TCP proxy can do
// for a proxied WebSocket (accept, connect, one recv and one send per
// message, close). ../measure.sh runs floor beside wsproxy, nginx and
// HAProxy and prints each one's CPU per WebSocket handshake and per relayed
// message; floor's numbers are the kernel's share of that work, which no
// proxy on the same machine goes below (BENCHMARKS.md, "The floor"). The
// test checks that floor.c builds and relays WebSockets, so that what
// measure.sh measures is a proxy that works.
package floortest
