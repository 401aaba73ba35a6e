package reactor

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
	"wsproxy/internal/testutil"

	"golang.org/x/sys/unix"

	"wsproxy/internal/timer"
	"wsproxy/poller"
)

func startLoop(t *testing.T) *Loop {
	t.Helper()
	l := &Loop{}
	if err := l.Init(0, 4096); err != nil {
		t.Fatal(err)
	}
	go l.Run()
	t.Cleanup(func() { l.Stop(); l.Wait() })
	return l
}

// onLoop runs f on l and waits for it.
func onLoop(t *testing.T, l *Loop, f func()) {
	t.Helper()
	done := make(chan struct{})
	if !l.Submit(func() { f(); close(done) }) {
		t.Fatal("loop stopped")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("task did not run")
	}
}

type timerFunc func()

func (f timerFunc) OnTimer() { f() }

// echoHandler writes back what it reads through a Socket.
type echoHandler struct {
	l    *Loop
	s    Socket
	shut chan struct{}
}

func (h *echoHandler) OnEvent(ev poller.Event) {
	if ev&poller.Writable != 0 {
		if _, err := h.s.Flush(); err != nil {
			return
		}
	}
	n, err := h.s.Read(h.l.Buf)
	if err == unix.EAGAIN || n == 0 && err == nil {
		return
	}
	_ = h.s.Write(h.l.Buf[:n])
	ev = poller.Readable
	if h.s.Pending() > 0 {
		ev |= poller.Writable
	}
	_ = h.l.Modify(h.s.FD(), ev)
}

func (h *echoHandler) Shutdown() { close(h.shut) }

// TestLoopListenEcho: a listener on the loop accepts, a handler echoes
// through its Socket, a timer fires, and Stop shuts the handler down.
func TestLoopListenEcho(t *testing.T) {
	l := startLoop(t)
	shut := make(chan struct{})
	var ln *Listener
	onLoop(t, l, func() {
		var err error
		ln, err = Listen(l, "127.0.0.1:0", func(fd int, peer netip.AddrPort) {
			h := &echoHandler{l: l, shut: shut}
			h.s.SetFD(fd)
			if err := l.Register(fd, h, poller.Readable); err != nil {
				t.Error(err)
			}
		})
		if err != nil {
			t.Error(err)
		}
	})
	if ln == nil {
		t.FailNow()
	}
	c, err := net.Dial("tcp", ln.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := bytes.Repeat([]byte("reactor"), 100_000) // more than a socket buffer takes at once
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %v", err)
	}
	fired := make(chan struct{})
	var e timer.Entry
	e.Owner = timerFunc(func() { close(fired) })
	onLoop(t, l, func() { l.Schedule(&e, 10*time.Millisecond) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("timer did not fire")
	}
	l.Stop()
	l.Wait()
	select {
	case <-shut:
	default:
		t.Error("Stop did not shut the handler down")
	}
	if l.Submit(func() {}) {
		t.Error("Submit after Stop reported true")
	}
}

// TestSocketQueue: Write queues what the socket does not take, Flush
// sends it in order, and the buffer goes back once empty.
func TestSocketQueue(t *testing.T) {
	fds, err := testutil.StreamPair(true)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	var s Socket
	s.SetFD(fds[0])
	big := bytes.Repeat([]byte{'x'}, 4<<20)
	if err := s.Write(big); err != nil || s.Pending() == 0 || !s.Queued() {
		t.Fatalf("Write of 4 MiB: err %v, pending %d", err, s.Pending())
	}
	s.Queue([]byte("tail"))
	var got []byte
	buf := make([]byte, 1<<20)
	for {
		done, err := s.Flush()
		if err != nil {
			t.Fatal(err)
		}
		for {
			n, _ := unix.Read(fds[1], buf)
			if n <= 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		if done {
			break
		}
	}
	if !bytes.Equal(got, append(big, "tail"...)) || s.Queued() {
		t.Fatalf("got %d bytes, queued %v", len(got), s.Queued())
	}
}

// TestLater: work queued with Later from the loop runs after the task that
// queued it, in order, and a chain of Laters runs to its end without any
// wake-up: the loop has no timer and no event, so were a Later left
// waiting for the poller the chain would stall at its second link.
func TestLater(t *testing.T) {
	l := startLoop(t)
	done := make(chan []int, 1)
	var order []int
	var link func(i int) func()
	link = func(i int) func() {
		return func() {
			order = append(order, i)
			if i == 100 {
				done <- order
				return
			}
			l.Later(link(i + 1))
		}
	}
	onLoop(t, l, func() {
		l.Later(link(1))
		order = append(order, 0) // the task itself comes first
	})
	select {
	case got := <-done:
		for i, v := range got {
			if v != i {
				t.Fatalf("order %v: position %d ran %d", got, i, v)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the chain of Laters stalled")
	}
}
