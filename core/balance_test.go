package core_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/testutil"
)

// clientFrom returns an HTTP client whose connections come from src
// (a 127.0.0.x address), without keep-alive so every request is new.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		DisableKeepAlives: true,
	}}
}

func getID(t *testing.T, c *http.Client, url string, hdr map[string]string) (string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("X-Echo-Id"), resp
}

func threeEchoes(t *testing.T) string {
	var lines []string
	for i := 1; i <= 3; i++ {
		e := startEcho(t, fmt.Sprintf("e%d", i))
		lines = append(lines, fmt.Sprintf("      - addr: %q", e.Addr().String()))
	}
	return strings.Join(lines, "\n")
}

func TestBalanceIPHashSticky(t *testing.T) {
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  webpush:
    balance: ip_hash
    servers:
%s
routes: [{path: /, upstream: webpush}]
`, threeEchoes(t)))
	// The hash of a backend covers its (random) port, so which client
	// address goes where changes from run to run: take 20 addresses, and
	// more until every backend has had one (200 fail to reach one of three
	// uniformly spread backends with a probability of about 1e-35).
	used := map[string]bool{}
	const atLeast, atMost = 20, 200
	n := 0
	for ; n < atMost && (n < atLeast || len(used) < 3); n++ {
		src := fmt.Sprintf("127.0.0.%d", 2+n)
		c := clientFrom(src)
		first, _ := getID(t, c, "http://"+addr+"/", nil)
		for j := 0; j < 3; j++ {
			if got, _ := getID(t, c, "http://"+addr+"/", nil); got != first {
				t.Fatalf("client %s: request %d went to %s; want %s", src, j, got, first)
			}
		}
		used[first] = true
	}
	if len(used) != 3 {
		t.Errorf("%d client addresses used backends %v; want all 3", n, used)
	}
}

func TestBalanceCookieInsertAndHonour(t *testing.T) {
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  webpush:
    balance: cookie
    cookie: {secret: "0123456789abcdef0123"}
    servers:
%s
routes: [{path: /, upstream: webpush}]
`, threeEchoes(t)))
	c := clientFrom("127.0.0.1")
	for i := 0; i < 6; i++ {
		id, resp := getID(t, c, "http://"+addr+"/", nil)
		var cookie string
		for _, ck := range resp.Cookies() {
			if ck.Name == "wsproxy_srv" {
				cookie = ck.Value
			}
		}
		if cookie == "" {
			t.Fatalf("response %d has no wsproxy_srv cookie; headers %v", i, resp.Header)
		}
		for j := 0; j < 3; j++ {
			got, r2 := getID(t, c, "http://"+addr+"/", map[string]string{"Cookie": "wsproxy_srv=" + cookie})
			if got != id {
				t.Fatalf("with cookie of %s: went to %s", id, got)
			}
			if sc := r2.Header.Get("Set-Cookie"); sc != "" {
				t.Errorf("valid cookie answered with Set-Cookie %q; want none", sc)
			}
		}
	}
}

// engineIOBackend answers like an Engine.IO v4 server: a request without a
// sid gets a handshake with a new sid; a request with a sid it did not issue
// gets 400 "Session ID unknown".
func engineIOBackend(t *testing.T, id string, split bool) string {
	issued := map[string]bool{}
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Id", id)
		sid := r.URL.Query().Get("sid")
		if sid == "" {
			n++
			sid = fmt.Sprintf("%s-%d", id, n)
			issued[sid] = true
			body := fmt.Sprintf(`0{"sid":%q,"upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, sid)
			if split { // the proxy must see the body in two reads
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				io.WriteString(w, body[:12])
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond) // produces the split; not synchronisation
				body = body[12:]
			}
			io.WriteString(w, body)
			return
		}
		if !issued[sid] {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"code":1,"message":"Session ID unknown"}`)
			return
		}
		fmt.Fprint(w, "6")
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

func TestBalanceSidLearnt(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) { testSidLearnt(t, split) })
	}
}

func testSidLearnt(t *testing.T, split bool) {
	var lines []string
	for i := 1; i <= 3; i++ {
		lines = append(lines, fmt.Sprintf("      - addr: %q", engineIOBackend(t, fmt.Sprintf("b%d", i), split)))
	}
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  eio:
    balance: sid
    fallback: round_robin
    servers:
%s
routes: [{path: /engine.io/, upstream: eio}]
`, strings.Join(lines, "\n")))
	c := clientFrom("127.0.0.1")
	used := map[string]bool{}
	for i := 0; i < 9; i++ {
		resp, err := c.Get("http://" + addr + "/engine.io/?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("X-Echo-Id")
		used[id] = true
		sid := strings.SplitN(strings.TrimPrefix(string(body), `0{"sid":"`), `"`, 2)[0]
		for j := 0; j < 3; j++ {
			r, err := c.Get("http://" + addr + "/engine.io/?EIO=4&transport=polling&sid=" + sid)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != 200 || r.Header.Get("X-Echo-Id") != id {
				t.Fatalf("poll %d for sid %s: %d from %s (%s); want 200 from %s", j, sid, r.StatusCode, r.Header.Get("X-Echo-Id"), b, id)
			}
		}
	}
	if len(used) != 3 {
		t.Errorf("handshakes went to %v; want all 3 backends (round_robin fallback)", used)
	}
}

func TestBalanceRetriesRefusedServer(t *testing.T) {
	dead := testutil.RefusedAddr(t)
	e := startEcho(t, "alive")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  u:
    servers: [{addr: %q}, {addr: %q}]
routes: [{path: /, upstream: u}]
`, dead, e.Addr().String()))
	c := clientFrom("127.0.0.1")
	for i := 0; i < 6; i++ {
		id, resp := getID(t, c, "http://"+addr+"/", nil)
		if resp.StatusCode != 200 || id != "alive" {
			t.Fatalf("request %d: %d from %q; want 200 from alive", i, resp.StatusCode, id)
		}
	}
}

// TestBalanceCookieAfterRetry: when the picked server refuses and the
// request is retried on another, the cookie inserted names the server that
// answered, so the client sticks to a live one.
func TestBalanceCookieAfterRetry(t *testing.T) {
	dead := testutil.RefusedAddr(t)
	e := startEcho(t, "alive")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  u:
    balance: cookie
    cookie: {secret: "0123456789abcdef0123"}
    max_fails: -1
    servers: [{addr: %q}, {addr: %q}]
routes: [{path: /, upstream: u}]
`, dead, e.Addr().String()))
	c := clientFrom("127.0.0.1")
	var cookie string
	for i := 0; i < 4; i++ { // round-robin fallback: half of these pick the dead server first
		id, resp := getID(t, c, "http://"+addr+"/", nil)
		if resp.StatusCode != 200 || id != "alive" {
			t.Fatalf("request %d: %d from %q; want 200 from alive", i, resp.StatusCode, id)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "wsproxy_srv" {
				if cookie != "" && ck.Value != cookie {
					t.Fatalf("request %d: cookie %q; want the live server's %q every time", i, ck.Value, cookie)
				}
				cookie = ck.Value
			}
		}
	}
	if cookie == "" {
		t.Fatal("no cookie inserted")
	}
	for i := 0; i < 3; i++ {
		if id, _ := getID(t, c, "http://"+addr+"/", map[string]string{"Cookie": "wsproxy_srv=" + cookie}); id != "alive" {
			t.Fatalf("with the inserted cookie: %q; want alive", id)
		}
	}
	// A client holding a valid cookie for the dead server is served by the
	// live one and handed the live one's cookie.
	m := hmac.New(sha256.New, []byte("0123456789abcdef0123"))
	m.Write([]byte("wsproxy balance cookie v1\x00" + dead))
	deadCookie := base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
	id, resp := getID(t, c, "http://"+addr+"/", map[string]string{"Cookie": "wsproxy_srv=" + deadCookie})
	if id != "alive" {
		t.Fatalf("with the dead server's cookie: %q; want alive", id)
	}
	got := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == "wsproxy_srv" {
			got = ck.Value
		}
	}
	if got != cookie {
		t.Errorf("with the dead server's cookie: Set-Cookie %q; want the live server's %q", got, cookie)
	}
}
