"""The Python websockets server of the interop tests (see ../doc.go).

    /usr/bin/python3 server.py

It listens on 127.0.0.1, port 0, with the library's defaults (which
negotiate permessage-deflate), and prints

    READY {"port": 40123}

then one line per finished connection:

    {"path": "/python/x/a", "extensions": "permessage-deflate", "code": 4000, "reason": "client done"}

It echoes every message with its type, except two text commands:
"fragments" is answered with the text P of the script in three frames of
16384 bytes, and "close N" closes with code N and reason
"server done". SIGTERM stops it.
"""

import asyncio
import json
import signal
import sys

import websockets

from pattern import pattern


def request_path(ws):
    # websockets 10 keeps the path on the connection; 11+ on its request.
    path = getattr(ws, "path", None)
    if path is None:
        path = ws.request.path
    return path


async def handler(ws, *args):
    report = {
        "path": request_path(ws),
        "extensions": ",".join(e.name for e in ws.extensions),
    }
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg == "fragments":
                # An iterable is sent as one message, one frame per item.
                p = pattern()
                await ws.send(iter([p[i : i + 16384] for i in range(0, len(p), 16384)]))
            elif isinstance(msg, str) and msg.startswith("close "):
                await ws.close(int(msg[6:]), "server done")
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    except Exception as e:  # reported, not raised: the line must be printed
        report["error"] = repr(e)
    report["code"] = ws.close_code
    report["reason"] = ws.close_reason
    print(json.dumps(report), flush=True)


async def main():
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print("READY " + json.dumps({"port": port}), flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
