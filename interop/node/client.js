// The Node ws client of the interop tests (see ../doc.go for the script).
//
//   node client.js URL [CAFILE SERVERNAME]
//
// It runs the script against URL + "/a" and URL + "/b" with
// permessage-deflate on (wss: trusting CAFILE, verifying SERVERNAME) and
// prints one line:
//
//   {"extensions":"permessage-deflate; ...","code":4001,"reason":"server done"}
//
// or {"error":"..."} naming the step that failed. It exits 0 either way.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const WebSocket = require("ws");

const [url, caFile, serverName] = process.argv.slice(2);
const { pattern } = require("./pattern.js");

const tlsOptions = caFile ? { ca: fs.readFileSync(caFile), servername: serverName } : {};

// open connects and returns the socket, the 101's Sec-WebSocket-Extensions
// and next(), which resolves with the next message or rejects on close.
function open(u) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(u, { perMessageDeflate: true, ...tlsOptions });
    const queue = [];
    const waiters = [];
    let closed = null;
    let extensions = "";
    ws.on("upgrade", (res) => {
      extensions = res.headers["sec-websocket-extensions"] || "";
    });
    ws.on("message", (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift().resolve(m);
      else queue.push(m);
    });
    ws.on("close", (code, reason) => {
      closed = { code, reason: reason.toString() };
      for (const w of waiters.splice(0)) w.reject(new Error(`closed ${code} ${closed.reason}`));
    });
    ws.on("error", (err) => {
      reject(err);
      for (const w of waiters.splice(0)) w.reject(err);
    });
    ws.on("open", () => {
      const next = () =>
        new Promise((res, rej) => {
          if (queue.length) res(queue.shift());
          else if (closed) rej(new Error(`closed ${closed.code} ${closed.reason}`));
          else waiters.push({ resolve: res, reject: rej });
        });
      const whenClosed = new Promise((res) => {
        if (closed) res(closed);
        else ws.once("close", (code, reason) => res({ code, reason: reason.toString() }));
      });
      resolve({ ws, extensions, next, whenClosed });
    });
  });
}

async function expectEcho(c, step, data, isBinary) {
  const m = await c.next();
  if (m.isBinary !== isBinary || !Buffer.from(m.data).equals(Buffer.from(data))) {
    throw new Error(`${step}: echo differs (binary ${m.isBinary}, ${m.data.length} bytes; want binary ${isBinary}, ${data.length} bytes)`);
  }
}

async function run() {
  const out = {};
  let step = "connect a";
  try {
    const a = await open(url + "/a");
    out.extensions = a.extensions;
    step = "text";
    a.ws.send("hello, interop");
    await expectEcho(a, step, Buffer.from("hello, interop"), false);
    step = "binary";
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    a.ws.send(bin);
    await expectEcho(a, step, bin, true);
    step = "binary 1 MiB";
    const big = Buffer.from(crypto.randomBytes(((1 << 20) - 1024) / 2).toString("hex"));
    a.ws.send(big);
    await expectEcho(a, step, big, true);
    step = "fragmented text from the client";
    const p = pattern();
    [0, 1, 2].forEach((i) => a.ws.send(p.subarray(i * 16384, (i + 1) * 16384), { binary: false, fin: i === 2 }));
    await expectEcho(a, step, p, false);
    step = "fragmented text from the server";
    a.ws.send("fragments");
    await expectEcho(a, step, p, false);
    step = "close 4000";
    a.ws.close(4000, "client done");
    await a.whenClosed;
    step = "connect b";
    const b = await open(url + "/b");
    step = "close 4001 from the server";
    b.ws.send("close 4001");
    const closed = await b.whenClosed;
    out.code = closed.code;
    out.reason = closed.reason;
  } catch (err) {
    out.error = `${step}: ${err && err.message}`;
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

run().then(() => process.exit(0));
