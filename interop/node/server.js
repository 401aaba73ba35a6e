// The Node ws server of the interop tests (see ../doc.go for the script).
//
//   node server.js
//
// It listens on 127.0.0.1, port 0, with permessage-deflate on, and prints
//
//   READY {"port":40123}
//
// then one line per finished connection:
//
//   {"path":"/node/x/a","extensions":"permessage-deflate","code":4000,"reason":"client done"}
//
// It echoes every message with its type, except two text commands:
// "fragments" is answered with the text P of the script in three frames
// of 16384 bytes, and "close N" closes with code N and reason
// "server done". SIGTERM stops it.
"use strict";

const { WebSocketServer } = require("ws");
const { pattern } = require("./pattern.js");

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true });

wss.on("listening", () => {
  process.stdout.write(`READY ${JSON.stringify({ port: wss.address().port })}\n`);
});

wss.on("connection", (ws, req) => {
  const report = { path: req.url, extensions: ws.extensions };
  ws.on("message", (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (text === "fragments") {
        // fin: false keeps the message open; ws compresses it as one
        // message, so only the first frame carries RSV1.
        const p = pattern();
        [0, 1, 2].forEach((i) => ws.send(p.subarray(i * 16384, (i + 1) * 16384), { binary: false, fin: i === 2 }));
        return;
      }
      if (text.startsWith("close ")) {
        ws.close(Number(text.slice(6)), "server done");
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on("error", (err) => {
    report.error = String(err && err.message);
  });
  ws.on("close", (code, reason) => {
    report.code = code;
    report.reason = reason.toString();
    process.stdout.write(JSON.stringify(report) + "\n");
  });
});

wss.on("error", (err) => {
  process.stderr.write(`server: ${err.stack || err}\n`);
  process.exit(1);
});

process.on("SIGTERM", () => process.exit(0));
