#!/usr/bin/env python3
"""Stalled uploads: N WebSocket clients push into a backend that never reads,
through a proxy, until every client is blocked; then the kernel memory held by
the proxy's sockets is summed from `ss -tnmp` (skmem: receive queues r, send
queues w). The clients' send buffers and the backend's receive buffers are
fixed at 16 KiB so that what the test's own sockets hold stays small, unless
READ_FIRST is set: the backend then reads that many bytes of each connection
at full speed before it stops, so that autotuning grows the buffers first.

usage: stall.py backend PORT_FILE          # serve; writes the port it got
                                           # (READ_FIRST=BYTES: read that much
                                           # of each connection, then stop)
       stall.py clients ADDR N PID[,PID]   # push through the proxy at ADDR

run.sh drives it against wsproxy, nginx and HAProxy (BENCHMARKS.md, "Stalled
uploads")."""
import base64, hashlib, os, re, socket, subprocess, sys, threading, time

def backend(port_file, read_first):
    ls = socket.socket()
    if not read_first:  # inherited: the backend's share stays small
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    ls.bind(("127.0.0.1", 0)); ls.listen(4096)
    open(port_file, "w").write(str(ls.getsockname()[1]))
    conns = []
    while True:
        c, _ = ls.accept()
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d: break
            buf += d
        m = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", buf)
        acc = base64.b64encode(hashlib.sha1(m.group(1) + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        conns.append(c)  # never read again, or after read_first bytes
        if read_first:
            threading.Thread(target=drain, args=(c, read_first), daemon=True).start()

def drain(c, n):
    while n > 0:
        d = c.recv(min(n, 1 << 20))
        if not d: return
        n -= len(d)

def clients(addr, n, pids):
    host, port = addr.rsplit(":", 1)
    socks = []
    for i in range(n):
        s = socket.socket()
        if not os.environ.get("READ_FIRST"):  # the client's share stays small
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        s.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        assert buf.startswith(b"HTTP/1.1 101"), buf[:100]
        s.sendall(b"\x82\xff" + (1 << 40).to_bytes(8, "big") + b"\x01\x02\x03\x04")  # masked, endless
        s.setblocking(False)
        socks.append(s)
    chunk = b"x" * 65536
    total, quiet, t0 = 0, 0, time.time()
    while time.time() - t0 < 60 and quiet < 10:
        got = 0
        for s in socks:
            while True:
                try:
                    k = s.send(chunk)
                except BlockingIOError:
                    break
                got += k
        total += got
        quiet = quiet + 1 if got == 0 else 0
        if got == 0:
            time.sleep(0.1)  # all blocked: done after 1 s of that
    r = w = rb = 0
    out = subprocess.run(["ss", "-tnmpH"], capture_output=True, text=True).stdout
    lines = out.split("\n")
    for i, l in enumerate(lines):
        if not any(f"pid={p}," in l for p in pids):
            continue
        m = re.search(r"skmem:\(r(\d+),rb(\d+),t(\d+),tb(\d+),f(\d+),w(\d+)", l + (lines[i+1] if i+1 < len(lines) else ""))
        if m:
            r += int(m.group(1)); rb += int(m.group(2)); w += int(m.group(6))
    print(f"pushed {total/n/1024:.0f} KiB per client ({total/2**20:.0f} MiB in all), proxy sockets hold {(r+w)/2**20:.1f} MiB "
          f"({(r+w)/n/1024:.0f} KiB per tunnel: receive queues {r/2**20:.1f} MiB, send queues {w/2**20:.1f} MiB), {time.time()-t0:.0f} s", flush=True)
    for s in socks: s.close()

if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(sys.argv[2], int(os.environ.get("READ_FIRST", "0")))
    else:
        clients(sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","))
