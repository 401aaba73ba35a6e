// Command pingpong is ../pingpong.c's echo on wsproxy's own loop: one TCP
// connection on a poller.Poller (which parks an idle loop in the Go
// runtime's netpoller), read and written with internal/sock's raw calls,
// as core's loops do. `pingpong.c client` against it and against
// `pingpong.c serve` gives what an idle loop's wake-up costs wsproxy over
// a C epoll loop (BENCHMARKS.md, "The floor").
//
// With -raw the loop is not a poller.Poller but blocks in epoll_pwait
// itself through RawSyscall6 (holding its P, the runtime out of the
// wake-up): what is left above C is then Go's own per-event work.
//
// usage: pingpong [-raw] ADDR:PORT   (port 0 picks one; prints "listen ADDR:PORT")
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/poller"
)

func main() {
	raw := flag.Bool("raw", false, "block in epoll_pwait through RawSyscall6 instead of a poller.Poller")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pingpong [-raw] ADDR:PORT")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *raw); err != nil {
		fmt.Fprintln(os.Stderr, "pingpong:", err)
		os.Exit(1)
	}
}

func run(addr string, raw bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listen %s\n", ln.Addr())
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	f, err := c.(*net.TCPConn).File() // a blocking duplicate, out of the netpoller
	if err != nil {
		return err
	}
	c.Close()
	fd := int(f.Fd())
	if err := unix.SetNonblock(fd, true); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	if raw {
		return rawLoop(fd, buf)
	}
	p, err := poller.New()
	if err != nil {
		return err
	}
	if err := p.Add(fd, poller.Readable); err != nil {
		return err
	}
	var done bool
	for !done && err == nil {
		_, err = p.Wait(-1, func(fd int, ev poller.Event) {
			n, rerr := sock.Read(fd, buf)
			switch {
			case rerr == unix.EAGAIN:
			case n <= 0 || rerr != nil:
				done = true
			default:
				if _, werr := sock.Write(fd, buf[:n]); werr != nil {
					done = true
				}
			}
		})
	}
	return err
}
