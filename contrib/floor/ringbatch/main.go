//go:build linux

// Command ringbatch measures what a send and a receive of a small message
// on a loopback TCP connection cost one system call each, and as part of
// a batch of N sends (then N receives) through one io_uring_enter
// (internal/sock.Ring), in CPU time per message (BENCHMARKS.md, "Reads
// ahead and sends in one system call").
//
//	go run ./contrib/floor/ringbatch -n 1,2,3,4,8,16
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

func main() {
	ns := flag.String("n", "1,2,4,8", "batch sizes (connections written, then read, per round)")
	msgs := flag.Int("msgs", 100000, "messages per measurement")
	size := flag.Int("size", 64, "message bytes")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ring, err := sock.NewRing(64)
	if err != nil {
		log.Fatalf("io_uring: %v", err)
	}
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > ring.Cap() {
			log.Fatalf("batch size %q: 1 to %d", f, ring.Cap())
		}
		a, b := pairs(ln, n)
		for _, mode := range []string{"syscalls", "io_uring", "syscalls", "io_uring"} {
			cpu := measure(ring, mode, a, b, *msgs, *size)
			fmt.Printf("n=%-2d %-8s %6.0f ns CPU per message (a send and a receive)\n", n, mode, float64(cpu)/float64(*msgs))
		}
	}
}

// pairs connects n loopback TCP connections and returns the descriptors
// of their two ends.
func pairs(ln net.Listener, n int) (a, b []int) {
	for range n {
		c1, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			log.Fatal(err)
		}
		c2, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		a, b = append(a, fd(c1)), append(b, fd(c2))
	}
	return a, b
}

func fd(c net.Conn) int {
	f, err := c.(*net.TCPConn).File() // a blocking duplicate, kept open
	if err != nil {
		log.Fatal(err)
	}
	return int(f.Fd())
}

// measure sends msgs messages of size bytes over the connections, len(a)
// at a time, and returns the process's CPU time for it.
func measure(ring *sock.Ring, mode string, a, b []int, msgs, size int) time.Duration {
	msg := make([]byte, size)
	bufs := make([][]byte, len(b))
	for i := range bufs {
		bufs[i] = make([]byte, 4096)
	}
	check := func(_ uint64, res int32) {
		if int(res) != size {
			log.Fatalf("%s: %d bytes, want %d", mode, res, size)
		}
	}
	start := cpuTime()
	for range msgs / len(a) {
		if mode == "syscalls" {
			for _, fd := range a {
				sock.Send(fd, msg)
			}
			for i, fd := range b {
				sock.Recv(fd, bufs[i])
			}
			continue
		}
		for i, fd := range a {
			ring.Send(fd, msg, uint64(i))
		}
		if err := ring.Submit(check); err != nil {
			log.Fatal(err)
		}
		for i, fd := range b {
			ring.Recv(fd, bufs[i], uint64(i))
		}
		if err := ring.Submit(check); err != nil {
			log.Fatal(err)
		}
	}
	return cpuTime() - start
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
