// Package interop tests wsproxy with WebSocket clients and servers nobody
// here wrote, each with its default options except that permessage-deflate
// (RFC 7692) is switched on where it is not the default: headless Chromium,
// Python websockets (Debian python3-websockets), Node ws (node/), gorilla
// and coder/websocket. Every client talks through wsproxy, over ws:// and
// over wss:// (wsproxy terminating TLS), to a server of another library,
// so that compressed frames (RSV1 set) cross the proxy in both directions.
//
// # The script
//
// Every client runs the same script against a base URL
// (ws[s]://proxy/SERVER/CASE) and every server answers it:
//
//   - Connection a (URL/a): a text message "hello, interop", a binary
//     message of the bytes 0..255, a binary message of 1 MiB less 1 KiB of
//     random hex digits ("binary 1 MiB"), and the text P sent as one
//     message in three fragments of 16384 bytes (Chromium cannot fragment
//     and skips it): each is echoed. Then the text "fragments", answered with P in
//     fragments; then the client closes with 4000 "client done", and the
//     server reports the code and reason it received.
//   - Connection b (URL/b): the text "close 4001"; the server closes with
//     4001 "server done", and the client reports the code and reason.
//
// The big message is more than one read of the proxy even compressed. It
// stays under 1 MiB, the default max_size of Python websockets, which
// counts wire bytes of a frame too: random bytes grow when compressed, and
// a message of exactly 1 MiB from coder/websocket (which ends a compressed
// message with a short frame of its own) gets Close 1009 from Python
// websockets 10.4 without any proxy between them. Hex digits compress to
// about half.
//
// P is 49152 letters: with x₀ = 1 and xᵢ₊₁ = (75·xᵢ + 74) mod 65537, letter i
// is 'a' + xᵢ₊₁ mod 26. It is not periodic within deflate's 32 KiB window,
// so it compresses to about 60 % and a library that streams it through
// its compressor (gorilla, coder/websocket) still sends several frames.
//
// A client prints one JSON line {"extensions", "code", "reason"} or
// {"error"} naming the failed step; a server prints READY {"port"} once it
// listens, then one JSON line {"path", "extensions", "code", "reason"} per
// finished connection. The Go peers run in-process and report the same
// way through channels.
//
// # What a test needs
//
// The tests skip, saying what to install, when a program is missing:
// /usr/bin/python3 with websockets (Debian python3-websockets; the python3
// on PATH may be another one), Node.js with node/node_modules
// ((cd interop/node && npm ci)), chromium (Debian chromium). The Chromium
// page also runs through nginx (Debian nginx) when it is installed, beside
// wsproxy, for comparison. .ci/run installs all of them.
package interop
