package balance_test

import (
	"errors"
	"strings"
	"testing"

	"wsproxy/balance"
)

var (
	secret      = []byte("0123456789abcdef-test-secret")
	otherSecret = []byte("fedcba9876543210-other-secret")
)

// cookieServers are two primaries and a backup.
func cookieServers() []balance.ServerConfig {
	return []balance.ServerConfig{{Addr: "a:80"}, {Addr: "b:80", MaxConns: 1}, {Addr: "c:80", Backup: true}}
}

func cookiePool(t testing.TB, key []byte) *balance.Pool {
	return mustPool(t, cookieServers(), balance.Config{Policy: balance.PolicyCookie, CookieName: "srv", CookieSecret: key})
}

func withCookie(value string) *fakeReq {
	r := fromAddr("192.0.2.1")
	if value != "" {
		r.cookie = map[string][]byte{"srv": []byte(value)}
	}
	return r
}

func TestCookie(t *testing.T) {
	other := cookiePool(t, otherSecret)
	tests := []struct {
		name      string
		value     func(p *balance.Pool) string // the cookie sent
		setup     func(t *testing.T, p *balance.Pool)
		want      string // server letter
		wantNeeds bool   // NeedsCookie
	}{
		{name: "none: fallback round robin", value: func(*balance.Pool) string { return "" }, want: "a", wantNeeds: true},
		{name: "honoured", value: valueOf("b:80"), want: "b"},
		{name: "honoured for backup when primaries down", value: valueOf("c:80"), setup: down("a:80", "b:80"), want: "c"},
		{name: "backup not honoured while a primary is up", value: valueOf("c:80"), want: "a", wantNeeds: true},
		{name: "tampered", value: func(p *balance.Pool) string { return flipLast(p.CookieValue(server(t, p, "b:80"))) }, want: "a", wantNeeds: true},
		{name: "truncated", value: func(p *balance.Pool) string { return p.CookieValue(server(t, p, "b:80"))[:21] }, want: "a", wantNeeds: true},
		{name: "plain address", value: func(*balance.Pool) string { return "b:80" }, want: "a", wantNeeds: true},
		{name: "other secret", value: func(*balance.Pool) string { return other.CookieValue(server(t, other, "b:80")) }, want: "a", wantNeeds: true},
		{name: "named server down", value: valueOf("b:80"), setup: down("b:80"), want: "a", wantNeeds: true},
		{name: "named server full", value: valueOf("b:80"), setup: hold("b:80"), want: "a", wantNeeds: true},
		{name: "named server down, all primaries down", value: valueOf("b:80"), setup: down("a:80", "b:80"), want: "c", wantNeeds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cookiePool(t, secret)
			if tt.setup != nil {
				tt.setup(t, p)
			}
			r := withCookie(tt.value(p))
			s, err := p.Pick(r, t0)
			if err != nil {
				t.Fatalf("Pick: %v", err)
			}
			s.Release() // b has MaxConns 1
			if got := s.Addr[:1]; got != tt.want {
				t.Errorf("picked %s; want %s", got, tt.want)
			}
			if got := p.NeedsCookie(r, s); got != tt.wantNeeds {
				t.Errorf("NeedsCookie = %v; want %v", got, tt.wantNeeds)
			}
			// The inserted cookie pins the client from then on.
			again := withCookie(p.CookieValue(s))
			for range 5 {
				if got := pickAt(t, p, again, t0); got != s.Addr[:1] {
					t.Fatalf("with the inserted cookie picked %s; want %s", got, s.Addr[:1])
				}
			}
		})
	}
}

func valueOf(addr string) func(p *balance.Pool) string {
	return func(p *balance.Pool) string {
		for _, s := range p.Servers() {
			if s.Addr == addr {
				return p.CookieValue(s)
			}
		}
		return ""
	}
}

func down(addrs ...string) func(t *testing.T, p *balance.Pool) {
	return func(t *testing.T, p *balance.Pool) {
		for _, a := range addrs {
			server(t, p, a).MarkDown()
		}
	}
}

func hold(addr string) func(t *testing.T, p *balance.Pool) {
	return func(t *testing.T, p *balance.Pool) {
		if s := server(t, p, addr); !s.Acquire() {
			t.Fatalf("Acquire %s failed", addr)
		}
	}
}

func flipLast(v string) string {
	b := []byte(v)
	b[len(b)-1] ^= 1
	return string(b)
}

func TestCookieValues(t *testing.T) {
	p := cookiePool(t, secret)
	seen := map[string]bool{}
	for _, s := range p.Servers() {
		v := p.CookieValue(s)
		if len(v) != 22 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("%s: value %q; want 22 base64url characters", s.Addr, v)
		}
		if strings.Contains(v, s.Addr) || seen[v] {
			t.Errorf("%s: value %q reveals the address or repeats", s.Addr, v)
		}
		seen[v] = true
		if got, want := p.SetCookie(s), "srv="+v+"; Path=/; HttpOnly; SameSite=Lax"; got != want {
			t.Errorf("SetCookie = %q; want %q", got, want)
		}
	}

	// Stateless: another instance with the same secret, servers listed in
	// another order, issues and honours the same values.
	rev := mustPool(t, []balance.ServerConfig{{Addr: "c:80", Backup: true}, {Addr: "b:80"}, {Addr: "a:80"}},
		balance.Config{Policy: balance.PolicyCookie, CookieName: "srv", CookieSecret: secret})
	for _, s := range p.Servers() {
		if got, want := rev.CookieValue(server(t, rev, s.Addr)), p.CookieValue(s); got != want {
			t.Errorf("%s: value %q on another instance; want %q", s.Addr, got, want)
		}
	}

	sec := mustPool(t, letters(1), balance.Config{Policy: balance.PolicyCookie, CookieSecret: secret, CookieSecure: true})
	if got, want := sec.SetCookie(sec.Servers()[0]), "; SameSite=Lax; Secure"; !strings.HasSuffix(got, want) || !strings.HasPrefix(got, balance.DefaultCookieName+"=") {
		t.Errorf("SetCookie = %q; want default name and suffix %q", got, want)
	}

	rr := mustPool(t, letters(1), balance.Config{})
	if s := rr.Servers()[0]; rr.CookieValue(s) != "" || rr.SetCookie(s) != "" || rr.NeedsCookie(withCookie(""), s) {
		t.Errorf("round_robin pool: cookie helpers not empty")
	}
}

func TestCookieSecretRequired(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("short")} {
		_, err := balance.NewPool("x", letters(1), balance.Config{Policy: balance.PolicyCookie, CookieSecret: key})
		var ce *balance.ConfigError
		if !errors.As(err, &ce) || ce.Field != "CookieSecret" {
			t.Errorf("secret %q: err = %v; want ConfigError on CookieSecret", key, err)
		}
	}
}
