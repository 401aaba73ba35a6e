package tickets_test

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"wsproxy/internal/testcert"
	"wsproxy/internal/tickets"
)

// TestKeyVector pins the derivation: workers of a new binary, started by a
// reload, must compute the keys the old ones did, or every session would
// be lost on upgrade. The expected value is HMAC-SHA256(key = 32 bytes of
// 0x01, "wsproxy ticket" || uint64be(30m in ns) || uint64be(12345)).
func TestKeyVector(t *testing.T) {
	secret := bytes.Repeat([]byte{1}, 32)
	got := tickets.Key(secret, 30*time.Minute, 12345)
	const want = "73446bcacd92efb8013554af69de52b68b9d689e8f19bb95ded2e30eacf04abb"
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("Key = %x; want %s", got, want)
	}
}

func TestKeyInputs(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	base := tickets.Key(a, time.Hour, 7)
	for _, tc := range []struct {
		name string
		key  [32]byte
		same bool
	}{
		{"same inputs", tickets.Key(a, time.Hour, 7), true},
		{"other secret", tickets.Key(b, time.Hour, 7), false},
		{"other period length", tickets.Key(a, 2*time.Hour, 7), false},
		{"next period", tickets.Key(a, time.Hour, 8), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.key == base; got != tc.same {
				t.Errorf("equal to Key(a, 1h, 7): got %v; want %v", got, tc.same)
			}
		})
	}
	keys := tickets.Keys(a, time.Hour, 7)
	want := [][32]byte{base, tickets.Key(a, time.Hour, 6), tickets.Key(a, time.Hour, 8)}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("Keys(a, 1h, 7)[%d] is not Key(a, 1h, %d)", i, []int{7, 6, 8}[i])
		}
	}
}

func TestIndex(t *testing.T) {
	const p = 30 * time.Minute
	for _, tc := range []struct {
		name string
		t    time.Time
		want int64
	}{
		{"epoch", time.Unix(0, 0), 0},
		{"just before the first boundary", time.Unix(1799, 999999999), 0},
		{"first boundary", time.Unix(1800, 0), 1},
		{"2026", time.Date(2026, 12, 5, 18, 10, 0, 0, time.UTC), 998_052},
		{"just before the epoch", time.Unix(-1, 0), -1},
		{"a period before the epoch", time.Unix(-1800, 0), -1},
		{"beyond", time.Unix(-1801, 0), -2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tickets.Index(tc.t, p)
			if got != tc.want {
				t.Fatalf("Index(%v) = %d; want %d", tc.t, got, tc.want)
			}
			if s := tickets.Start(got, p); s.After(tc.t) || !tickets.Start(got+1, p).After(tc.t) {
				t.Errorf("%v is not in [Start(%d), Start(%d)) = [%v, %v)", tc.t, got, got+1, s, tickets.Start(got+1, p))
			}
		})
	}
	if got := tickets.Period(time.Hour); got != 30*time.Minute {
		t.Errorf("Period(1h) = %v; want 30m", got)
	}
}

// serverConfig is a TLS server configuration with a certificate for
// t.example and no ticket keys yet.
func serverConfig(t *testing.T) *tls.Config {
	t.Helper()
	certPEM, keyPEM := testcert.Make(t, testcert.Spec{Names: []string{"t.example"}})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// clientConfig trusts the test CA, caches sessions and speaks TLS version
// v at most.
func clientConfig(v uint16) *tls.Config {
	return &tls.Config{RootCAs: testcert.Roots(), ServerName: "t.example", MaxVersion: v,
		ClientSessionCache: tls.NewLRUClientSessionCache(4)}
}

// handshake runs one connection between client and server over a pipe
// and reports whether it resumed a session. The server writes a byte after
// the handshake, so that the client reads the TLS 1.3 ticket that comes
// before it.
func handshake(t *testing.T, client, server *tls.Config) bool {
	t.Helper()
	cc, sc := net.Pipe()
	deadline := time.Now().Add(10 * time.Second) // a hang guard only
	cc.SetDeadline(deadline)
	sc.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, server)
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte{'x'})
		}
		sc.Close() // not s.Close: its close_notify would wait for a reader on the pipe
		done <- err
	}()
	c := tls.Client(cc, client)
	defer c.Close()
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	return c.ConnectionState().DidResume
}
