package balance_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"wsproxy/balance"
)

// fakeReq is a Request over maps of []byte, so that lookups do not allocate.
type fakeReq struct {
	addr   netip.Addr
	header map[string][]byte
	cookie map[string][]byte
	query  map[string][]byte
}

func (r *fakeReq) ClientAddr() netip.Addr    { return r.addr }
func (r *fakeReq) Header(name string) []byte { return r.header[name] }
func (r *fakeReq) Cookie(name string) []byte { return r.cookie[name] }
func (r *fakeReq) Query(name string) []byte  { return r.query[name] }

// fromAddr is a request from addr with nothing else.
func fromAddr(addr string) *fakeReq {
	return &fakeReq{addr: netip.MustParseAddr(addr)}
}

// t0 is the tests' clock origin.
var t0 = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// letters names servers a, b, c, ... with Addr "a:80" and so on.
func letters(weights ...int) []balance.ServerConfig {
	s := make([]balance.ServerConfig, len(weights))
	for i, w := range weights {
		s[i] = balance.ServerConfig{Addr: fmt.Sprintf("%c:80", 'a'+i), Weight: w}
	}
	return s
}

func mustPool(t testing.TB, servers []balance.ServerConfig, cfg balance.Config) *balance.Pool {
	t.Helper()
	p, err := balance.NewPool("test", servers, cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

// server returns the pool's server with addr.
func server(t testing.TB, p *balance.Pool, addr string) *balance.Server {
	t.Helper()
	for _, s := range p.Servers() {
		if s.Addr == addr {
			return s
		}
	}
	t.Fatalf("no server %q", addr)
	return nil
}

// pickAt picks for r at now, releases at once and returns the server's
// letter, or "-" for ErrNoServer.
func pickAt(t testing.TB, p *balance.Pool, r balance.Request, now time.Time) string {
	s, err := p.Pick(r, now)
	if errors.Is(err, balance.ErrNoServer) {
		return "-"
	}
	if err != nil {
		t.Helper() // only here: it is costly, and pickAt runs millions of times
		t.Fatalf("Pick: %v", err)
	}
	s.Release()
	return s.Addr[:1]
}

// sequence picks n times for r and concatenates the letters.
func sequence(t testing.TB, p *balance.Pool, r balance.Request, n int) string {
	t.Helper()
	b := make([]byte, 0, n)
	for range n {
		b = append(b, pickAt(t, p, r, t0)...)
	}
	return string(b)
}

// shares picks once for each request and returns the fraction of picks per
// letter.
func shares(t testing.TB, p *balance.Pool, reqs []*fakeReq) map[string]float64 {
	m := make(map[string]float64)
	for _, r := range reqs {
		m[pickAt(t, p, r, t0)] += 1 / float64(len(reqs))
	}
	return m
}

// headerKeys returns n requests that differ only in header X-Key.
func headerKeys(n int) []*fakeReq {
	reqs := make([]*fakeReq, n)
	addr := netip.MustParseAddr("192.0.2.1")
	for i := range reqs {
		reqs[i] = &fakeReq{addr: addr, header: map[string][]byte{"X-Key": fmt.Appendf(nil, "key-%d", i)}}
	}
	return reqs
}

// assertShares checks each letter's share against want within margin.
func assertShares(t *testing.T, got, want map[string]float64, margin float64) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; g < w-margin || g > w+margin {
			t.Errorf("share of %s = %.4f; want %.4f ± %.3f (all: %v)", k, g, w, margin, got)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected server %s got %.4f", k, got[k])
		}
	}
}
