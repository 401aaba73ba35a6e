// Socket.IO 4 clients for the wsproxy end-to-end tests.
//
//   node clients.js --url http://127.0.0.1:8080 --clients 30 [--first 2]
//                   [--cookies] [--reconnect] [--hold] [--timeout 10000]
//                   [--source agent|localAddress|none]
//
// Client i (0-based) connects from 127.0.0.(first+i), long-polls first
// (transports ["polling", "websocket"]), waits for the upgrade to WebSocket,
// sends one "echo" and checks the answer. Each client prints one line when
// it has succeeded or failed:
//
//   {"event":"result","client":0,"src":"127.0.0.2","connected":true,"upgraded":true,
//    "hello":"s1","server":"s1","addrs":["127.0.0.2"],"ok":true,"ms":85,"errors":[]}
//
// and the driver then prints {"event":"ready"} (with --hold) or
// {"event":"done"} and exits. ok means connected, upgraded, echoed, and the
// server that greeted the client is the one that echoed. --timeout (ms)
// bounds each client's connect, upgrade and echo together, each echo
// afterwards, and each Socket.IO connection attempt (the Manager's timeout
// option).
//
// With --hold the clients stay connected after "ready" and the driver
// reports, one line each, "disconnect" (client, reason), "connect_error"
// (client, message) and "reconnect" (client, server that echoed after the
// client connected again and upgraded, ms since its disconnect). It reads
// commands from stdin, one per line: "echo" makes every connected client
// echo once more and report {"event":"echoed",...}; "quit" or the end of
// stdin prints {"event":"final","clients":[...]} with each client's
// history and exits.
//
// Source address (--source): "agent" (the default) gives each client an
// http.Agent bound to its address; engine.io-client passes `agent` to both
// the polling requests (xmlhttprequest-ssl) and the WebSocket (ws).
// "localAddress" sets engine.io-client's localAddress option, which only the
// WebSocket transport honours: polling requests then leave from 127.0.0.1.
// "none" uses the default address.
//
// Cookies (--cookies): withCredentials: true makes engine.io-client on Node
// keep a cookie jar per Engine.IO connection: Set-Cookie of polling
// responses is stored and sent back on later polls and on the WebSocket
// upgrade. The jar is not kept across reconnections.
"use strict";

const http = require("node:http");
const readline = require("node:readline");
const { parseArgs } = require("node:util");
const { io } = require("socket.io-client");

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    clients: { type: "string", default: "10" },
    first: { type: "string", default: "2" },
    cookies: { type: "boolean", default: false },
    reconnect: { type: "boolean", default: false },
    hold: { type: "boolean", default: false },
    timeout: { type: "string", default: "10000" },
    source: { type: "string", default: "agent" },
  },
});
const count = Number(opt.clients);
const first = Number(opt.first);
const timeout = Number(opt.timeout);
if (!opt.url || !(count > 0) || !(first >= 1) || first + count - 1 > 254 ||
    !["agent", "localAddress", "none"].includes(opt.source)) {
  process.stderr.write("usage: node clients.js --url URL [--clients K] [--first N] ...\n");
  process.exit(2);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// A Client is one Socket.IO connection and its history.
class Client {
  constructor(index) {
    this.index = index;
    this.src = `127.0.0.${first + index}`;
    this.errors = []; // connect_error and Engine.IO error messages
    this.disconnects = []; // reasons
    this.servers = []; // server of each successful echo, in order
    this.connects = 0;
    this.hello = null;
    this.upgraded = false;
    this.start = Date.now();
    this.lastDisconnect = 0;

    const source = {};
    if (opt.source === "agent") {
      this.agent = new http.Agent({ localAddress: this.src, keepAlive: true });
      source.agent = this.agent;
    } else if (opt.source === "localAddress") {
      source.localAddress = this.src;
    }
    this.socket = io(opt.url, {
      forceNew: true, // one Manager, so one Engine.IO connection, per client
      transports: ["polling", "websocket"],
      upgrade: true,
      rememberUpgrade: false,
      withCredentials: opt.cookies,
      reconnection: opt.reconnect,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      // How long the Manager waits for each connection attempt to open
      // before a connect_error "timeout": the driver's own budget, so that
      // a slow but working attempt on a loaded machine is not abandoned.
      timeout,
      ...source,
    });
    const manager = this.socket.io;
    manager.on("open", () => this.watchEngine(manager.engine));
    manager.on("error", (err) => this.errors.push(`engine: ${err.message}`));
    this.socket.on("hello", (h) => { this.hello = h.server; });
    this.socket.on("connect_error", (err) => {
      this.errors.push(`connect_error: ${err.message}`);
      if (this.phase === "hold") emit({ event: "connect_error", client: index, message: err.message });
    });
    this.socket.on("disconnect", (reason) => {
      this.disconnects.push(reason);
      this.lastDisconnect = Date.now();
      this.upgraded = false;
      if (this.phase === "hold") emit({ event: "disconnect", client: index, reason });
    });
    this.socket.on("connect", () => {
      this.connects++;
      if (this.phase === "hold" && this.connects > 1) this.reconnected();
    });
  }

  watchEngine(engine) {
    this.upgraded = engine.transport.name === "websocket";
    engine.on("upgrade", () => { this.upgraded = true; this.onUpgrade?.(); });
    engine.on("upgradeError", (err) => this.errors.push(`upgradeError: ${err.message}`));
  }

  // waitUpgrade resolves when the Engine.IO connection runs on WebSocket, or
  // rejects at the deadline.
  waitUpgrade(deadline) {
    return new Promise((resolve, reject) => {
      if (this.upgraded) return resolve();
      const t = setTimeout(() => {
        this.onUpgrade = null;
        reject(new Error(`not upgraded to websocket after ${timeout} ms`));
      }, Math.max(deadline - Date.now(), 0));
      this.onUpgrade = () => { clearTimeout(t); this.onUpgrade = null; resolve(); };
    });
  }

  waitConnect(deadline) {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      const t = setTimeout(() => reject(new Error(`not connected after ${timeout} ms`)),
        Math.max(deadline - Date.now(), 0));
      this.socket.once("connect", () => { clearTimeout(t); resolve(); });
    });
  }

  // echo sends one echo and returns the answer.
  async echo(deadline) {
    const payload = `ping ${this.index} ${Date.now()}`;
    const ms = Math.max(deadline - Date.now(), 1);
    const reply = await this.socket.timeout(ms).emitWithAck("echo", payload);
    if (reply.payload !== payload) throw new Error(`echo answered ${JSON.stringify(reply.payload)}`);
    this.servers.push(reply.server);
    return reply;
  }

  // run connects, waits for the upgrade and echoes once.
  async run() {
    const deadline = this.start + timeout;
    const r = { event: "result", client: this.index, src: this.src, connected: false,
      upgraded: false, hello: null, server: null, addrs: [], ok: false };
    try {
      await this.waitConnect(deadline);
      r.connected = true;
      await this.waitUpgrade(deadline);
      r.upgraded = true;
      const reply = await this.echo(deadline);
      r.server = reply.server;
      r.addrs = reply.addrs;
      r.hello = this.hello;
      r.ok = r.hello === r.server;
      if (!r.ok) this.errors.push(`greeted by ${r.hello}, echoed by ${r.server}`);
    } catch (err) {
      this.errors.push(err.message);
      r.hello = this.hello;
    }
    r.ms = Date.now() - this.start;
    r.errors = this.errors.slice();
    r.disconnects = this.disconnects.slice();
    emit(r);
    return r;
  }

  // reconnected echoes once the new connection is upgraded and reports it.
  async reconnected() {
    const since = this.lastDisconnect;
    const deadline = Date.now() + timeout;
    const ev = { event: "reconnect", client: this.index, server: null, upgraded: false };
    try {
      await this.waitUpgrade(deadline);
      ev.upgraded = true;
      const reply = await this.echo(deadline);
      ev.server = reply.server;
      ev.addrs = reply.addrs;
    } catch (err) {
      ev.error = err.message;
    }
    ev.ms = Date.now() - since;
    emit(ev);
  }

  close() {
    this.socket.close();
    this.agent?.destroy();
  }

  summary() {
    return { client: this.index, src: this.src, connects: this.connects, servers: this.servers,
      disconnects: this.disconnects, errors: this.errors };
  }
}

async function main() {
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(new Client(i));
  await Promise.all(clients.map((c) => c.run()));
  if (!opt.hold) {
    emit({ event: "done" });
    clients.forEach((c) => c.close());
    return;
  }
  clients.forEach((c) => { c.phase = "hold"; });
  emit({ event: "ready" });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd === "quit") break;
    if (cmd === "echo") {
      await Promise.all(clients.filter((c) => c.socket.connected).map(async (c) => {
        const ev = { event: "echoed", client: c.index };
        try {
          ev.server = (await c.echo(Date.now() + timeout)).server;
        } catch (err) {
          ev.error = err.message;
        }
        emit(ev);
      }));
      emit({ event: "echo_done" });
    }
  }
  emit({ event: "final", clients: clients.map((c) => c.summary()) });
  clients.forEach((c) => c.close());
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`clients: ${err.stack}\n`);
  process.exit(1);
});
