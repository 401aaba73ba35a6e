package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"wsproxy/config"
)

// TestTLSConfigs: with a certificate, every generated configuration
// terminates TLS 1.2/1.3 with it, wsproxy's parses and loads, the peers
// that are installed accept theirs, and the files make a usable pair.
func TestTLSConfigs(t *testing.T) {
	s := testSetup(t)
	var err error
	if s.TLS, err = writeTLSFiles(s.Dir, KeyECDSA); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(s.TLS.Cert, s.TLS.Key); err != nil {
		t.Fatalf("cert and key: %v", err)
	}
	if _, err := tls.LoadX509KeyPair(s.TLS.Both, s.TLS.Both); err != nil {
		t.Fatalf("combined file: %v", err)
	}
	for name, want := range map[string][]string{
		Wsproxy: {`tls: {cert: "` + s.TLS.Cert + `", key: "` + s.TLS.Key + `"}`},
		Nginx:   {"listen 127.0.0.1:18080 ssl;", "ssl_certificate " + s.TLS.Cert + ";", "ssl_certificate_key " + s.TLS.Key + ";", "ssl_protocols TLSv1.2 TLSv1.3;"},
		HAProxy: {"bind fd@3 ssl crt " + s.TLS.Both + " ssl-min-ver TLSv1.2"},
	} {
		got := proxies[name].config(s)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s config lacks %q:\n%s", name, w, got)
			}
		}
	}
	c, err := config.Parse("bench.yaml", []byte(wsproxyConfig(s)))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Listen[0]; l.TLS == nil || l.TLS.Cert != s.TLS.Cert {
		t.Errorf("wsproxy listener %+v; want TLS with %s", l, s.TLS.Cert)
	}
	for _, name := range []string{Nginx, HAProxy} {
		bin, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if err := peerAccepts(t, bin, name, s); err != nil {
			t.Error(err)
		}
	}
	s.Curves = sameCurves
	for name, want := range map[string]string{
		Wsproxy: `tls: {cert: "` + s.TLS.Cert + `", key: "` + s.TLS.Key + `", curves: [X25519, P256]}`,
		Nginx:   "ssl_ecdh_curve X25519:prime256v1;",
		HAProxy: "ssl-min-ver TLSv1.2 curves X25519:prime256v1",
	} {
		if got := proxies[name].config(s); !strings.Contains(got, want) {
			t.Errorf("%s config with the same curves lacks %q:\n%s", name, want, got)
		}
	}
	if c, err := config.Parse("bench.yaml", []byte(wsproxyConfig(s))); err != nil {
		t.Fatal(err)
	} else if got := c.Listen[0].TLS.CurveIDs(); !slices.Equal(got, []tls.CurveID{tls.X25519, tls.CurveP256}) {
		t.Errorf("wsproxy's curves: %v; want X25519, P-256", got)
	}
	for _, name := range []string{Nginx, HAProxy} {
		if bin, err := exec.LookPath(name); err == nil {
			if err := peerAccepts(t, bin, name, s); err != nil {
				t.Errorf("with curves: %v", err)
			}
		}
	}
	if plain := testSetup(t); strings.Contains(nginxConfig(plain), "ssl") || strings.Contains(haproxyConfig(plain), "ssl") ||
		strings.Contains(wsproxyConfig(plain), "tls") {
		t.Error("a setup without a certificate generates TLS settings")
	}
}

// TestRunTLS runs idle with 200 wss:// connections end to end through
// wsproxy (and the installed peers) terminating TLS; by default
// (CurvesSame) every proxy negotiates X25519 with the Go clients.
func TestRunTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses and opens hundreds of connections")
	}
	cfg := Config{
		Binary:    buildWsproxy(t),
		Scenarios: []string{Idle},
		Conns:     200,
		Backends:  1,
		Warmup:    10,
		Hold:      300 * time.Millisecond,
		Timeout:   time.Minute,
		TLS:       true,
	}
	for _, p := range []string{Nginx, HAProxy} {
		if _, err := exec.LookPath(p); err == nil {
			cfg.Peers = append(cfg.Peers, p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.TLS || len(rep.Trials) != 1+len(cfg.Peers) {
		t.Fatalf("report TLS=%v with %d trials; want TLS and %d", rep.TLS, len(rep.Trials), 1+len(cfg.Peers))
	}
	for _, tr := range rep.Trials {
		if tr.Up != 200 || tr.Failed != 0 || tr.BytesPerConn <= 0 {
			t.Errorf("%s: %d up, %d failed, %.0f B/conn; want all 200 up over wss", tr.Proxy, tr.Up, tr.Failed, tr.BytesPerConn)
		}
		if want := "TLS 1.3, X25519, ECDSA"; tr.TLSNegotiated != want {
			t.Errorf("%s negotiated %q; want %q", tr.Proxy, tr.TLSNegotiated, want)
		}
	}
}

func TestTLSWithFloodRefused(t *testing.T) {
	c := Config{Binary: "x", Scenarios: []string{Flood}, TLS: true}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "flood") {
		t.Errorf("Validate with TLS and flood: %v; want an error naming flood", err)
	}
}

// TestTLSKeyTypes: each key type makes a usable certificate with that key,
// and the installed peers load it.
func TestTLSKeyTypes(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want func(pub any) bool
	}{
		{KeyECDSA, func(pub any) bool { k, ok := pub.(*ecdsa.PublicKey); return ok && k.Curve == elliptic.P256() }},
		{KeyRSA, func(pub any) bool { k, ok := pub.(*rsa.PublicKey); return ok && k.N.BitLen() == 2048 }},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			s := testSetup(t)
			var err error
			if s.TLS, err = writeTLSFiles(s.Dir, tc.kind); err != nil {
				t.Fatal(err)
			}
			pair, err := tls.LoadX509KeyPair(s.TLS.Both, s.TLS.Both)
			if err != nil {
				t.Fatalf("combined file: %v", err)
			}
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(leaf.PublicKey) {
				t.Errorf("got a %T key; want %s", leaf.PublicKey, tc.kind)
			}
			for _, name := range []string{Nginx, HAProxy} {
				if bin, err := exec.LookPath(name); err == nil {
					if err := peerAccepts(t, bin, name, s); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	if _, err := writeTLSFiles(t.TempDir(), "dsa"); err == nil || !strings.Contains(err.Error(), `"dsa"`) {
		t.Errorf("key type dsa: got %v; want an error naming it", err)
	}
}

// TestRunResume runs the resume scenario with 8 clients reconnecting 3
// times each through wsproxy (one process: one set of ticket keys, so
// every reconnection resumes) and the installed peers.
func TestRunResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	const clients, again = 8, 3
	cfg := Config{
		Binary:        buildWsproxy(t),
		Scenarios:     []string{Resume},
		ResumeClients: clients,
		Reconnects:    again,
		Backends:      1,
		Warmup:        5,
		Timeout:       time.Minute,
		TLS:           true,
	}
	for _, p := range []string{Nginx, HAProxy} {
		if _, err := exec.LookPath(p); err == nil {
			cfg.Peers = append(cfg.Peers, p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Trials) != 1+len(cfg.Peers) {
		t.Fatalf("%d trials; want %d", len(rep.Trials), 1+len(cfg.Peers))
	}
	for _, tr := range rep.Trials {
		t.Run(tr.Proxy, func(t *testing.T) {
			rs := tr.Resume
			if rs == nil || tr.Up != clients || rs.Asked != clients*again || rs.Reconnected != clients*again {
				t.Fatalf("got %d clients up, resume %+v; want %d up and %d reconnections", tr.Up, rs, clients, clients*again)
			}
			if tr.Proxy == Wsproxy && rs.Resumed != clients*again {
				t.Errorf("got %d of %d reconnections resumed; want all: one process, one ticket key", rs.Resumed, rs.Reconnected)
			}
			if tr.Handshake.Count != clients || rs.Reconnect.Count != clients*again {
				t.Errorf("got %d full and %d reconnection handshakes timed; want %d and %d",
					tr.Handshake.Count, rs.Reconnect.Count, clients, clients*again)
			}
			t.Logf("%s: %d of %d resumed", tr.Proxy, rs.Resumed, rs.Reconnected)
		})
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	want := []string{Wsproxy, fmt.Sprintf("%d/%d", clients, clients), fmt.Sprintf("%d/%d", clients*again, clients*again),
		fmt.Sprintf("%d (100%%)", clients*again)}
	if got := rowCells(md.String(), "resume:", Wsproxy); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("resume row of wsproxy: got %q; want it to start with %q", got, want)
	}
	t.Logf("\n%s", md.String())
}

// TestProbeTLS: the probe names the version, key exchange and certificate
// key a Go client gets from a server, as the report prints them.
func TestProbeTLS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   string
		curves []tls.CurveID
		max    uint16
		want   string
	}{
		{"go server, ecdsa", KeyECDSA, nil, 0, "TLS 1.3, X25519MLKEM768, ECDSA"},
		{"x25519 only (OpenSSL 3.0)", KeyECDSA, []tls.CurveID{tls.X25519}, 0, "TLS 1.3, X25519, ECDSA"},
		{"rsa, TLS 1.2", KeyRSA, []tls.CurveID{tls.CurveP256}, tls.VersionTLS12, "TLS 1.2, CurveP256, RSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := writeTLSFiles(t.TempDir(), tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, CurvePreferences: tc.curves, MaxVersion: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.(*tls.Conn).Handshake()
					c.Close()
				}
			}()
			got, err := probeTLS(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestReportNegotiated: the TLS line lists each proxy's negotiation once.
func TestReportNegotiated(t *testing.T) {
	r := &Report{TLS: true, TLSKey: KeyRSA, Trials: []Trial{
		{Scenario: Ramp, Proxy: Wsproxy, TLSNegotiated: "TLS 1.3, X25519MLKEM768, RSA"},
		{Scenario: Ramp, Proxy: Nginx, TLSNegotiated: "TLS 1.3, X25519, RSA"},
		{Scenario: Echo, Proxy: Wsproxy, TLSNegotiated: "TLS 1.3, X25519MLKEM768, RSA"},
		{Scenario: Echo, Proxy: HAProxy, Err: "refused"},
	}}
	var b bytes.Buffer
	r.Markdown(&b)
	for _, want := range []string{
		"one self-signed RSA-2048 certificate per trial",
		"TLS negotiated with a Go client: wsproxy TLS 1.3, X25519MLKEM768, RSA; nginx TLS 1.3, X25519, RSA\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("got\n%s\nwant %q", b.String(), want)
		}
	}
}

// rowCells returns the trimmed cells of the first table row for proxy
// after the line starting with "### "+title in a Markdown report.
func rowCells(md, title, proxy string) []string {
	_, after, ok := strings.Cut(md, "### "+title)
	if !ok {
		return nil
	}
	for _, line := range strings.Split(after, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(line, "|") && cells[0] == proxy {
			return cells
		}
	}
	return nil
}
