package sock_test

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// TestEstablishedAndReadWrite: a loopback connect is established when
// Connect returns, Write and Read move bytes, Read on an empty socket says
// EAGAIN, and a refused connect is never reported established.
func TestEstablishedAndReadWrite(t *testing.T) {
	lfd, bound, err := sock.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	lclosed := false
	t.Cleanup(func() {
		if !lclosed {
			unix.Close(lfd)
		}
	})
	fd, err := sock.Connect(bound, netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, fd)
	if !sock.Established(fd) {
		t.Fatal("Established = false right after a loopback connect")
	}
	afd, _, err := sock.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, afd)
	if n, err := sock.Write(fd, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v; want 5, nil", n, err)
	}
	wait(t, afd, unix.POLLIN)
	buf := make([]byte, 16)
	if n, err := sock.Read(afd, buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %d %q, %v; want 5 \"hello\"", n, buf[:max(n, 0)], err)
	}
	if n, err := sock.Read(afd, buf); n != -1 || !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("Read on an empty socket = %d, %v; want -1, EAGAIN", n, err)
	}
	if n, err := sock.Write(fd, nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v; want 0, nil", n, err)
	}
	unix.Close(lfd)
	lclosed = true
	rfd, err := sock.Connect(bound, netip.AddrPort{})
	if err != nil {
		return // refused synchronously
	}
	closeAtCleanup(t, rfd)
	if sock.Established(rfd) {
		t.Error("Established = true for a connect to a closed port")
	}
}

// TestRecvSend: Send and Recv move bytes both ways, Recv on an empty socket
// says EAGAIN and 0 at end of stream, and Send to a connection the peer
// reset fails with EPIPE without raising SIGPIPE (Write raises it).
func TestRecvSend(t *testing.T) {
	lfd, bound, err := sock.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, lfd)
	fd, err := sock.Connect(bound, netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, fd)
	afd, _, err := sock.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	for _, dir := range [][2]int{{fd, afd}, {afd, fd}} {
		if n, err := sock.Send(dir[0], []byte("hello")); n != 5 || err != nil {
			t.Fatalf("Send = %d, %v; want 5, nil", n, err)
		}
		wait(t, dir[1], unix.POLLIN)
		if n, err := sock.Recv(dir[1], buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("Recv = %d %q, %v; want 5 \"hello\"", n, buf[:max(n, 0)], err)
		}
		if n, err := sock.Recv(dir[1], buf); n != -1 || !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("Recv on an empty socket = %d, %v; want -1, EAGAIN", n, err)
		}
	}
	if n, err := sock.Send(fd, nil); n != 0 || err != nil {
		t.Fatalf("Send(nil) = %d, %v; want 0, nil", n, err)
	}

	// The peer closes with SO_LINGER 0: a reset. The next Send fails.
	if err := unix.SetsockoptLinger(afd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatal(err)
	}
	unix.Close(afd)
	wait(t, fd, unix.POLLIN)
	if n, err := sock.Recv(fd, buf); n != -1 || !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("Recv after a reset = %d, %v; want -1, ECONNRESET", n, err)
	}
	// SIGPIPE is blocked on this thread while it sends: a raised one stays
	// pending, where rt_sigpending sees it. Write, which raises it, shows
	// that the check sees what it looks for.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var pipe, old unix.Sigset_t
	pipe.Val[0] = 1 << (unix.SIGPIPE - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &pipe, &old); err != nil {
		t.Fatal(err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	if n, err := sock.Send(fd, []byte("x")); n != -1 || !errors.Is(err, unix.EPIPE) {
		t.Fatalf("Send after a reset = %d, %v; want -1, EPIPE", n, err)
	}
	if sigpipePending(t) {
		t.Error("Send raised SIGPIPE")
	}
	if n, err := sock.Write(fd, []byte("x")); n != -1 || !errors.Is(err, unix.EPIPE) {
		t.Fatalf("Write after a reset = %d, %v; want -1, EPIPE", n, err)
	}
	if !sigpipePending(t) {
		t.Error("Write raised no SIGPIPE: the check cannot tell")
	}
	// Take the pending signal so that unblocking delivers nothing.
	var zero unix.Timespec
	unix.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&pipe)), 0, uintptr(unsafe.Pointer(&zero)), 8, 0, 0)
	if sigpipePending(t) {
		t.Error("SIGPIPE still pending after rt_sigtimedwait")
	}
}

// sigpipePending reports whether SIGPIPE is pending for this thread or
// the process.
func sigpipePending(t *testing.T) bool {
	var set unix.Sigset_t
	if _, _, e := unix.RawSyscall(unix.SYS_RT_SIGPENDING, uintptr(unsafe.Pointer(&set)), 8, 0); e != 0 {
		t.Fatal("rt_sigpending:", e)
	}
	return set.Val[0]&(1<<(unix.SIGPIPE-1)) != 0
}

// TestRecvEOF: Recv reports end of stream as 0, nil.
func TestRecvEOF(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, fds[0])
	unix.Close(fds[1])
	if n, err := sock.Recv(fds[0], make([]byte, 4)); n != 0 || err != nil {
		t.Fatalf("Recv at end of stream = %d, %v; want 0, nil", n, err)
	}
}
