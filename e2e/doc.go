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
// Two facts about socket.io-client on Node.js, checked against
// engine.io-client 6.6, that the client script relies on: a source address is
// chosen with an http.Agent bound to it (the agent option reaches both the
// polling requests and the WebSocket; the localAddress option reaches only
// the WebSocket), and withCredentials: true gives each Engine.IO connection
// a cookie jar that stores Set-Cookie from polling responses and sends it on
// later polls and on the WebSocket upgrade, so the cookie policy needs no
// cookie jar of our own. The jar does not outlive a reconnection.
//
// They need Node.js 18.3 or later on PATH and node/node_modules installed:
//
//	(cd e2e/node && npm ci --no-audit --no-fund)
//
// .ci/run does that; without either, the tests skip and say so. They run on
// Linux only, where all of 127.0.0.0/8 is local without configuration.
package e2e
