"""The Python websockets client of the interop tests (see ../doc.go).

    /usr/bin/python3 client.py URL [CAFILE SERVERNAME]

It runs the script against URL + "/a" and URL + "/b" with the library's
defaults (which offer permessage-deflate; wss: trusting CAFILE, verifying
SERVERNAME) and prints one line:

    {"extensions": "permessage-deflate; ...", "code": 4001, "reason": "server done"}

or {"error": "..."} naming the step that failed. It exits 0 either way.
"""

import asyncio
import json
import os
import ssl
import sys

import websockets

from pattern import pattern


def connect(url, ca, server_name):
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
        return websockets.connect(url, ssl=ctx, server_hostname=server_name)
    return websockets.connect(url)


def response_extensions(ws):
    # websockets 10 keeps the 101's headers on the connection; 11+ on its response.
    headers = getattr(ws, "response_headers", None)
    if headers is None:
        headers = ws.response.headers
    return headers.get("Sec-WebSocket-Extensions", "")


async def expect_echo(ws, step, want):
    got = await ws.recv()
    if type(got) is not type(want) or got != want:
        raise AssertionError(f"echo differs ({type(got).__name__}, {len(got)}; want {type(want).__name__}, {len(want)})")


async def run(url, ca, server_name):
    out = {}
    step = "connect a"
    try:
        ws = await connect(url + "/a", ca, server_name)
        out["extensions"] = response_extensions(ws)
        step = "text"
        await ws.send("hello, interop")
        await expect_echo(ws, step, "hello, interop")
        step = "binary"
        await ws.send(bytes(range(256)))
        await expect_echo(ws, step, bytes(range(256)))
        step = "binary 1 MiB"
        # 1 MiB less 1 KiB of hex digits: see ../doc.go.
        big = os.urandom(((1 << 20) - 1024) // 2).hex().encode()
        await ws.send(big)
        await expect_echo(ws, step, big)
        step = "fragmented text from the client"
        p = pattern()
        await ws.send(iter([p[i : i + 16384] for i in range(0, len(p), 16384)]))
        await expect_echo(ws, step, p)
        step = "fragmented text from the server"
        await ws.send("fragments")
        await expect_echo(ws, step, p)
        step = "close 4000"
        await ws.close(4000, "client done")
        step = "connect b"
        ws = await connect(url + "/b", ca, server_name)
        step = "close 4001 from the server"
        await ws.send("close 4001")
        try:
            msg = await ws.recv()
            raise AssertionError(f"got a message ({len(msg)}); want a Close")
        except websockets.ConnectionClosed:
            pass
        out["code"] = ws.close_code
        out["reason"] = ws.close_reason
    except Exception as e:
        out["error"] = f"{step}: {e!r}"
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:] + [None, None]
    asyncio.run(run(args[0], args[1], args[2]))
