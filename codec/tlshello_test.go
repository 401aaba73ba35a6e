package codec

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// clientHello is the first flight of a crypto/tls client: one record
// holding its ClientHello (about 1.8 KB with the post-quantum key share).
var clientHello = func() []byte {
	var c captureConn
	_ = tls.Client(&c, &tls.Config{ServerName: "ws.example.com", InsecureSkipVerify: true}).Handshake()
	return c.out.Bytes()
}()

// captureConn records what is written to it and has nothing to read.
type captureConn struct {
	out bytes.Buffer
	in  []byte // what Read returns before errBlocked
	net.Conn
}

var errBlocked = errors.New("test: read past the bytes given")

func (c *captureConn) Write(p []byte) (int, error) { c.out.Write(p); return len(p), nil }

func (c *captureConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, errBlocked
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *captureConn) Close() error                     { return nil }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }
func (c *captureConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *captureConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// record frames body as one TLS record of type typ.
func record(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 1, byte(len(body) >> 8), byte(len(body))}, body...)
}

// fragment splits the handshake message of a one-record flight into
// records of at most size bytes.
func fragment(flight []byte, size int) []byte {
	msg := flight[tlsRecordHeader:]
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, record(tlsTypeHandshake, msg[:n])...)
		msg = msg[n:]
	}
	return out
}

// handshakeMsg is a handshake message of type 1 with a body of n bytes.
func handshakeMsg(n int) []byte {
	return append([]byte{1, byte(n >> 16), byte(n >> 8), byte(n)}, make([]byte, n)...)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

var (
	warning      = record(tlsTypeAlert, []byte{1, 90}) // user_canceled
	closeNotify  = record(tlsTypeAlert, []byte{1, 0})
	fatal        = record(tlsTypeAlert, []byte{2, 40})
	oversized    = []byte{tlsTypeHandshake, 3, 1, 0x48, 0x01} // 18433 bytes announced
	bigMsgHeader = record(tlsTypeHandshake, []byte{1, 0x01, 0x00, 0x01})
)

var helloTests = []struct {
	name string
	in   []byte
	n    int // want; 0 with ErrShort
	err  error
}{
	{"empty", nil, 0, ErrShort},
	{"one byte", clientHello[:1], 0, ErrShort},
	{"record header only", clientHello[:5], 0, ErrShort},
	{"issue 10's stall: 10 bytes", clientHello[:10], 0, ErrShort},
	{"all but the last byte", clientHello[:len(clientHello)-1], 0, ErrShort},
	{"whole", clientHello, len(clientHello), nil},
	{"whole, then more", cat(clientHello, []byte{20, 3, 3, 0, 1, 1}), len(clientHello), nil},
	{"in 100-byte records", fragment(clientHello, 100), len(fragment(clientHello, 100)), nil},
	{"in 100-byte records, short", fragment(clientHello, 100)[:300], 0, ErrShort},
	{"message header split", fragment(clientHello, 3), len(fragment(clientHello, 3)), nil},
	{"largest message in 5 records", fragment(record(22, handshakeMsg(tlsMaxHandshake)), tlsMaxPlaintext),
		len(fragment(record(22, handshakeMsg(tlsMaxHandshake)), tlsMaxPlaintext)), nil},
	{"warning alert first", cat(warning, clientHello), len(warning) + len(clientHello), nil},
	{"16 warning alerts", cat(bytes.Repeat(warning, 16), clientHello), 16*len(warning) + len(clientHello), nil},
	{"17 warning alerts", cat(bytes.Repeat(warning, 17), clientHello), 17 * len(warning), ErrNotTLSHello},
	{"close_notify", cat(closeNotify, clientHello), len(closeNotify), ErrNotTLSHello},
	{"fatal alert", fatal, len(fatal), ErrNotTLSHello},
	{"partial alert", fatal[:6], 0, ErrShort},
	{"long alert", record(tlsTypeAlert, []byte{1, 90, 0}), 8, ErrNotTLSHello},
	{"plain HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5, ErrNotTLSHello},
	{"plain HTTP, 4 bytes", []byte("GET "), 0, ErrShort},
	{"SSLv2", []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0, 0x15}, 5, ErrNotTLSHello},
	{"application data first", record(23, []byte("x")), 5, ErrNotTLSHello},
	{"version 16.0", []byte{22, 0x10, 0, 0, 1, 1}, 5, ErrNotTLSHello},
	{"record over the ciphertext limit", oversized, 5, ErrNotTLSHello},
	{"record over the plaintext limit", record(22, make([]byte, tlsMaxPlaintext+1)), tlsMaxPlaintext + 6, ErrNotTLSHello},
	{"empty handshake record", cat(record(22, nil), clientHello), 5, ErrNotTLSHello},
	{"message over 64 KiB", bigMsgHeader, len(bigMsgHeader), ErrNotTLSHello},
}

func TestScanTLSHello(t *testing.T) {
	for _, tt := range helloTests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ScanTLSHello(tt.in)
			if n != tt.n || err != tt.err {
				t.Errorf("got %d, %v; want %d, %v", n, err, tt.n, tt.err)
			}
		})
	}
}

// TestScanTLSHelloPrefixes: every prefix of a flight is short, and the
// answer for the flight does not change with bytes behind it.
func TestScanTLSHelloPrefixes(t *testing.T) {
	for _, size := range []int{1, 2, 7, 512, 1 << 14} {
		flight := fragment(clientHello, size)
		for i := range len(flight) {
			if n, err := ScanTLSHello(flight[:i]); err != ErrShort {
				t.Fatalf("records of %d: %d of %d bytes: got %d, %v; want 0, ErrShort", size, i, len(flight), n, err)
			}
		}
		if n, err := ScanTLSHello(flight); n != len(flight) || err != nil {
			t.Errorf("records of %d: got %d, %v; want %d, nil", size, n, err, len(flight))
		}
	}
}

// TestScanTLSHelloAgreesWithCryptoTLS: crypto/tls, as a server, asks for
// more bytes exactly when ScanTLSHello says ErrShort.
func TestScanTLSHelloAgreesWithCryptoTLS(t *testing.T) {
	for _, tt := range helloTests {
		t.Run(tt.name, func(t *testing.T) {
			if short, want := serverWantsMore(tt.in), tt.err == ErrShort; short != want {
				t.Errorf("crypto/tls reads more: %v; ScanTLSHello says short: %v", short, want)
			}
		})
	}
}

// serverWantsMore reports whether a crypto/tls server given b as its
// first bytes blocks reading for more rather than acting on them (failing
// or answering).
func serverWantsMore(b []byte) bool {
	c := &captureConn{in: b}
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("test: stop after the ClientHello")
	}}
	err := tls.Server(c, cfg).Handshake()
	return errors.Is(err, errBlocked) || err == io.ErrUnexpectedEOF
}

func TestScanTLSHelloNoAlloc(t *testing.T) {
	flight := fragment(clientHello, 100)
	if a := testing.AllocsPerRun(100, func() { ScanTLSHello(flight) }); a != 0 {
		t.Errorf("allocs = %v; want 0", a)
	}
}

func FuzzScanTLSHello(f *testing.F) {
	for _, tt := range helloTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ScanTLSHello(b)
		switch {
		case err == ErrShort:
			if n != 0 {
				t.Fatalf("ErrShort with n = %d", n)
			}
			// Every prefix is short too.
			if m, err2 := ScanTLSHello(b[:len(b)/2]); err2 != ErrShort {
				t.Fatalf("a prefix of a short flight: %d, %v; want ErrShort", m, err2)
			}
		case err == nil || err == ErrNotTLSHello:
			if n < tlsRecordHeader || n > len(b) {
				t.Fatalf("n = %d for %d bytes", n, len(b))
			}
			// A server decides on the first n bytes: what follows them
			// changes nothing.
			if m, err2 := ScanTLSHello(b[:n]); m != n || err2 != err {
				t.Fatalf("the first %d bytes alone: %d, %v; want %d, %v", n, m, err2, n, err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if short := serverWantsMore(b); short != (err == ErrShort) {
			t.Fatalf("crypto/tls reads more: %v; ScanTLSHello: %d, %v", short, n, err)
		}
	})
}
