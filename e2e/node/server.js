// A Socket.IO 4 server for the wsproxy end-to-end tests.
//
//   node server.js PORT ID
//
// It listens on 127.0.0.1:PORT (0 picks a free port) and prints one line
//
//   READY {"id":"s1","port":40123}
//
// on stdout once it accepts connections; everything else it logs goes to
// stderr, one line per event. Each Socket.IO client is greeted with a
// "hello" event carrying the server id, and an "echo" event is answered,
// through the client's acknowledgement callback, with the same payload, the
// server id and the client addresses this server saw for the session:
//
//   {"payload": ..., "server": "s1", "addrs": ["127.0.0.7"]}
//
// An address is X-Real-IP when a proxy set it, else the peer address; addrs
// covers the handshake and every later polling or WebSocket request of the
// session, so a client can check that all its requests left from the
// address it chose. Every Engine.IO response carries "X-Server-Id: ID".
// GET /healthz answers 200 "ok ID" for active health checks. SIGTERM or
// SIGINT stop it at once.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const [portArg, id] = process.argv.slice(2);
const port = Number(portArg);
if (!id || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write("usage: node server.js PORT ID\n");
  process.exit(2);
}

function log(...args) {
  process.stderr.write(`[${id}] ${args.join(" ")}\n`);
}

const httpServer = http.createServer((req, res) => {
  // Socket.IO answers its own path before this handler runs.
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`ok ${id}\n`);
    return;
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found\n");
});

const io = new Server(httpServer, {
  transports: ["polling", "websocket"],
  // Short pings so that a client whose server died notices within
  // seconds even if nothing closed its connection.
  pingInterval: 2000,
  pingTimeout: 2000,
});

// Engine.IO rejects requests for sessions it does not know with 400
// "Session ID unknown"; log them, since they are what a proxy without
// stickiness produces.
io.engine.on("connection_error", (err) => {
  const req = err.req || {};
  const headers = req.headers || {};
  log("connection_error", JSON.stringify(err.message), "code", err.code,
    "url", req.url, "client", headers["x-real-ip"] || "-");
});

// clientAddr is the address of the client that sent req.
function clientAddr(req) {
  return req.headers["x-real-ip"] || req.socket.remoteAddress;
}

// seen maps an Engine.IO session id to the client addresses of its requests
// after the handshake (polls, posts, the WebSocket upgrade).
const seen = new Map();
io.engine.on("headers", (headers, req) => {
  headers["X-Server-Id"] = id;
  const sid = new URL(req.url, "http://x").searchParams.get("sid");
  if (sid) {
    if (!seen.has(sid)) seen.set(sid, new Set());
    seen.get(sid).add(clientAddr(req));
  }
});

io.on("connection", (socket) => {
  const hs = socket.handshake;
  const client = hs.headers["x-real-ip"] || hs.address;
  const sid = socket.conn.id;
  log("connect", socket.id, "client", client, "transport", socket.conn.transport.name);
  socket.conn.once("upgrade", (t) => log("upgrade", socket.id, "to", t.name));
  socket.emit("hello", { server: id });
  socket.on("echo", (payload, ack) => {
    if (typeof ack === "function") {
      const addrs = new Set([client, ...(seen.get(sid) || [])]);
      ack({ payload, server: id, addrs: [...addrs] });
    }
  });
  socket.on("disconnect", (reason) => {
    seen.delete(sid);
    log("disconnect", socket.id, "reason", reason);
  });
});

httpServer.on("error", (err) => {
  log("listen error:", err.message);
  process.exit(1);
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`READY ${JSON.stringify({ id, port: httpServer.address().port })}\n`);
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => process.exit(0));
}
