package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// pair returns two connected Conns closed at the end of the test.
func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestSendRecv(t *testing.T) {
	cases := []struct {
		name string
		typ  string
		size int
	}{
		{"empty", "ping", 0},
		{"small", "apply", 100},
		{"one packet exactly", "apply", maxPacket - 1 - headerLen - len("apply")},
		{"one byte over a packet", "apply", maxPacket - headerLen - len("apply")},
		{"config of 600 KiB", "apply", 600 << 10},
		{"long type", strings.Repeat("t", maxType), 10},
	}
	a, b := pair(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := body(tc.size)
			errc := make(chan error, 1)
			go func() { errc <- a.Send(tc.typ, want) }()
			m, err := b.Recv()
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Send: %v", err)
			}
			if m.Type != tc.typ || !bytes.Equal(m.Body, want) || len(m.FDs) != 0 {
				t.Errorf("got type %q, %d bytes (equal %v), %d fds; want %q, %d bytes, 0 fds",
					m.Type, len(m.Body), bytes.Equal(m.Body, want), len(m.FDs), tc.typ, len(want))
			}
		})
	}
}

func TestSendRefuses(t *testing.T) {
	a, _ := pair(t)
	cases := []struct {
		name string
		typ  string
		size int
		fds  int
		want error
	}{
		{"type too long", strings.Repeat("t", maxType+1), 0, 0, errTypeLen},
		{"body too large", "x", MaxBody + 1, 0, errTooLarge},
		{"too many descriptors", "x", 0, MaxFDs + 1, errTooManyFD},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fds := make([]int, tc.fds)
			if err := a.Send(tc.typ, make([]byte, tc.size), fds...); !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
		})
	}
}

// TestDescriptors passes pipe ends and checks that what is written to the
// sender's copy comes out of the receiver's, with a large body as well.
func TestDescriptors(t *testing.T) {
	for _, n := range []int{1, 3, MaxFDs} {
		t.Run(fmt.Sprintf("%d fds", n), func(t *testing.T) {
			a, b := pair(t)
			var rs, ws []*os.File
			var fds []int
			for range n {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				rs, ws = append(rs, r), append(ws, w)
				fds = append(fds, int(w.Fd()))
			}
			t.Cleanup(func() {
				for i := range rs {
					rs[i].Close()
					ws[i].Close()
				}
			})
			want := body(300 << 10)
			errc := make(chan error, 1)
			go func() { errc <- a.Send("handover", want, fds...) }()
			m, err := b.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if len(m.FDs) != n || !bytes.Equal(m.Body, want) {
				t.Fatalf("got %d fds, body equal %v; want %d fds", len(m.FDs), bytes.Equal(m.Body, want), n)
			}
			for i, fd := range m.FDs {
				if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
					t.Errorf("fd %d: flags %#x, err %v; want close-on-exec", fd, flags, err)
				}
				msg := fmt.Sprintf("pipe %d", i)
				if _, err := unix.Write(fd, []byte(msg)); err != nil {
					t.Fatal(err)
				}
				unix.Close(fd)
				buf := make([]byte, 32)
				k, err := rs[i].Read(buf)
				if err != nil || string(buf[:k]) != msg {
					t.Errorf("pipe %d: got %q, %v; want %q", i, buf[:k], err, msg)
				}
			}
		})
	}
}

// TestRecvBadPackets sends raw packets that break the format and checks
// that Recv refuses them and closes descriptors that came with them.
func TestRecvBadPackets(t *testing.T) {
	good := packets(header{kind: kindNotify, typ: "x", bodyLen: 3}, []byte("abc"))[0]
	cases := []struct {
		name    string
		packets [][]byte
		fds     bool // descriptors on the last packet
		want    error
	}{
		{"continuation first", [][]byte{{0, 'a'}}, false, errFlags},
		{"unknown kind", [][]byte{append([]byte{flagFirst | flagLast, 9}, make([]byte, 13)...)}, false, errBadKind},
		{"short header", [][]byte{{flagFirst | flagLast, kindNotify, 0}}, false, errShort},
		{"body longer than announced", [][]byte{append(append([]byte(nil), good...), 'x')}, false, errLength},
		{"body shorter than announced", [][]byte{good[:len(good)-1]}, false, errLength},
		{"two first packets", [][]byte{{flagFirst, kindNotify, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}, good}, false, errFlags},
		{"descriptors on a continuation", [][]byte{{flagFirst, kindNotify, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'a'}, {flagLast, 'b'}}, true, errFDsLater},
		{"body over the limit", [][]byte{{flagFirst, kindNotify, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}}, false, errTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			for i, p := range tc.packets {
				var oob []byte
				if tc.fds && i == len(tc.packets)-1 {
					oob = unix.UnixRights(int(w.Fd()))
				}
				if _, _, err := a.uc.WriteMsgUnix(p, oob, nil); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.Recv(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
			if tc.fds {
				// The receiver's copy is closed: closing ours ends the pipe.
				w.Close()
				if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Errorf("got %d, %v from the pipe; want EOF (the received copy closed)", n, err)
				}
			}
			if _, err := b.Recv(); !errors.Is(err, tc.want) {
				t.Errorf("second Recv got %v; want the same error", err)
			}
		})
	}
}

func TestRecvEOF(t *testing.T) {
	a, b := pair(t)
	a.Close()
	if _, err := b.Recv(); err != io.EOF {
		t.Errorf("got %v; want io.EOF", err)
	}
}
