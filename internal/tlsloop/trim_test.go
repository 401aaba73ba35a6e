package tlsloop

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"testing"

	"wsproxy/internal/testcert"
	"wsproxy/internal/tlstrim"
)

// tlsInputCaps describes what c's input buffers hold on to; "0 0 0" when
// it holds none.
func tlsInputCaps(t testing.TB, c *tls.Conn) string {
	t.Helper()
	raw, in, hand, ok := tlstrim.Caps(c)
	if !ok {
		t.Fatalf("tls.Conn layout: %v", tlstrim.Err())
	}
	return fmt.Sprintf("%d %d %d", raw, in, hand)
}

// memTLS returns a server and a client tls.Conn of version v over a
// memPipe, handshaken, with both ends non-blocking.
func memTLS(t testing.TB, v uint16) (srv, cli *tls.Conn, sc, cc *memConn) {
	srv, cli, sc, cc = memHandshake(t, v)
	sc.setNonBlocking()
	cc.setNonBlocking()
	return srv, cli, sc, cc
}

// memHandshake returns a server and a client tls.Conn of version v over a
// memPipe, handshaken, with both ends still blocking.
func memHandshake(t testing.TB, v uint16) (srv, cli *tls.Conn, sc, cc *memConn) {
	cert, err := tls.X509KeyPair(testcert.Make(t, testcert.Spec{Names: []string{"localhost"}}))
	if err != nil {
		t.Fatal(err)
	}
	sc, cc = memPipe()
	srv = tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: v, MaxVersion: v})
	cli = tls.Client(cc, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
	errc := make(chan error, 1)
	go func() { errc <- cli.Handshake() }()
	if err := srv.Handshake(); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	return srv, cli, sc, cc
}

// readTrimmed reads want from r as the loop does: Read until errWouldBlock,
// trim, let piece more bytes arrive, again. It checks that trimming keeps
// a partial record and drops everything once all is read.
func readTrimmed(t *testing.T, r *tls.Conn, mc *memConn, want []byte, piece int) {
	t.Helper()
	buf := make([]byte, 64<<10)
	var got []byte
	for len(got) < len(want) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		switch {
		case err == errWouldBlock:
			partial, _, _, _ := tlstrim.Lens(r)
			tlstrim.Input(r)
			if after, _, _, _ := tlstrim.Lens(r); after != partial {
				t.Fatalf("trim changed a partial record of %d bytes to %d", partial, after)
			}
			mc.mu.Lock()
			left := mc.wire.Len()
			mc.mu.Unlock()
			if left == 0 && len(got) < len(want) {
				t.Fatalf("got %d of %d bytes and no more on the wire", len(got), len(want))
			}
			mc.deliver(piece)
		case err != nil:
			t.Fatalf("Read after %d of %d bytes: %v", len(got), len(want), err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, not the %d written", len(got), len(want))
	}
	if n, err := r.Read(buf); n != 0 || err != errWouldBlock {
		t.Fatalf("Read after the last byte = %d, %v; want 0, errWouldBlock", n, err)
	}
	tlstrim.Input(r)
	if got := tlsInputCaps(t, r); got != "0 0 0" {
		t.Fatalf("after reading everything: rawInput cap, input size, hand cap = %s; want 0 0 0", got)
	}
}

// TestTLSTrimBetweenReads trims after every would-block Read, with records
// cut at odd places, in both directions (the client direction reads the
// TLS 1.3 session tickets through hand): every byte arrives, in order.
func TestTLSTrimBetweenReads(t *testing.T) {
	if !(tlstrim.Err() == nil) {
		t.Skip("trimming is off")
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			srv, cli, sc, cc := memTLS(t, v)
			tlstrim.Input(srv)
			if got := tlsInputCaps(t, srv); got != "0 0 0" {
				t.Fatalf("after the handshake: %s; want 0 0 0", got)
			}
			for _, tc := range []struct{ size, piece int }{
				{100, 7}, {40000, 1000}, {1 << 20, 16 << 10}, {1, 1}, {70000, 5 + 16<<10 + 17}, {300, -1},
			} {
				msg := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
				if _, err := cli.Write(msg); err != nil {
					t.Fatal(err)
				}
				readTrimmed(t, srv, sc, msg, tc.piece)
				if _, err := srv.Write(msg); err != nil {
					t.Fatal(err)
				}
				readTrimmed(t, cli, cc, msg, tc.piece)
			}
		})
	}
}

// BenchmarkTLSTrim measures what trimming costs a busy connection: each
// burst read allocates rawInput again. One op = one message written by
// the client and read by the server until errWouldBlock.
func BenchmarkTLSTrim(b *testing.B) {
	for _, on := range []bool{true, false} {
		for _, size := range []int{64, 4096, 16 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("trim=%v/%d", on, size), func(b *testing.B) {
				if on && !(tlstrim.Err() == nil) {
					b.Skip("trimming is off")
				}
				srv, cli, sc, _ := memTLS(b, tls.VersionTLS13)
				msg, buf := make([]byte, size), make([]byte, 64<<10)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := cli.Write(msg); err != nil {
						b.Fatal(err)
					}
					sc.deliver(-1)
					for n := 0; ; {
						m, err := srv.Read(buf)
						if n += m; err == errWouldBlock && n == size {
							break
						} else if err != nil && err != errWouldBlock {
							b.Fatal(err)
						}
					}
					if on {
						tlstrim.Input(srv)
					}
				}
			})
		}
	}
}
