// Package e2e holds the end-to-end tests of wsproxy against real Socket.IO
// 4 servers and clients, run by Node.js from the small project in node/.
//
// The tests (package e2e_test) start the proxy in-process with config.Parse,
// core.New and Start, start Socket.IO servers (node/server.js) on free
// loopback ports, and drive Socket.IO clients (node/clients.js) that connect
// from distinct 127.0.0.x source addresses, long-poll, upgrade to WebSocket
// and echo, each printing its outcome as one JSON line. The Go side asserts
// on those lines: which backend served each client, whether every client
// upgraded, which ones disconnected.
//
// They need Node.js on PATH and node/node_modules installed:
//
//	(cd e2e/node && npm ci --no-audit --no-fund)
//
// .ci/run does that; without either, the tests skip and say so.
package e2e
