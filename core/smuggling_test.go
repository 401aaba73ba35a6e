package core_test

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// The differential suite of issue 10: raw bytes in, what a recording
// backend parsed (net/http, not the proxy's parser) and what the client
// read out. Each row names the issue item it reproduces (defect); those
// rows fail on the code before the fix. nginx_test.go runs the same rows
// through nginx 1.22 and compares.

// errorfer is what a row's check reports to: a *testing.T, or a
// collector when nginx's answers are checked for the comparison table.
type errorfer interface {
	Errorf(format string, args ...any)
}

// diffCase is one row.
type diffCase struct {
	name   string
	in     string                       // raw client bytes; endRequest follows
	answer func(i int, r recReq) string // the backend's answers; nil: answerEcho

	client  string // want clientSummary: "200 end", "400"
	backend string // want recorder summary: "POST /[5] GET /__end"
	// orNothing: the backend may also see nothing. The proxy streams a
	// request body, so a body that turns out malformed is answered 400
	// with the head on its way to the backend; when the upstream connect
	// has not completed by then (a loaded machine), the head still queued
	// for it is dropped with the connection. Either way no request of the
	// client's reaches the backend whole.
	orNothing bool
	check     func(t errorfer, reqs []recReq, resps []clientResp)
	method    string // of the first request, when the client must know it to read the answer (HEAD)

	config    string // YAML added to the proxy's config; nginxConf the same for nginx ("" with config: no equivalent)
	nginxConf string

	defect int    // issue 10 item this row reproduces; 0: none
	nginx  string // why nginx 1.22 answers differently and we do not follow it; "": it answers the same
}

// routesYAML are the routes of every differential row: a host route, a
// rewriting /admin route, /public and a catch-all, all to one backend,
// so the forwarded target shows which route took the request. backendNginx
// in nginx_test.go is the same in nginx.conf.
const routesYAML = `
routes:
  - {host: a.test, path: /, upstream: %[1]q, rewrite: {regex: "^/(.*)", to: "/host-a/$1"}}
  - {path: /admin, upstream: %[1]q, rewrite: {regex: "^/admin(.*)", to: "/ADMIN$1"}}
  - {path: /public, upstream: %[1]q}
  - {path: /, upstream: %[1]q}
`

// Why nginx answers some rows differently, and why the proxy does not
// follow it.
const (
	keepsAfter502   = "nginx keeps the client connection after its 502 and answers the next request; the proxy closes after every error answer"
	fragment        = "nginx sends the target as received, fragment included; a fragment is not part of a request-target (RFC 9112 §3.2) and a backend taking '#' as data could resolve what follows it"
	nginx122Framing = "nginx 1.22 frames by the last Content-Length, by chunked, or until close, and passes the rest on; 1.23 and later answer 502 as the proxy does (RFC 9112 §6.3)"
)

// post is a POST of body with a Content-Length and the extra field lines.
func post(target, extra, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %d\r\n\r\n%s", target, extra, len(body), body)
}

// get is a GET with the extra field lines.
func get(target, extra string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n"
}

// answerOnce answers request 0 with resp and the rest with answerEcho.
func answerOnce(resp string) func(int, recReq) string {
	return func(i int, r recReq) string {
		if i == 0 {
			return resp
		}
		return answerEcho(i, r)
	}
}

// hangUpOn answers like answerEcho but closes without answering request n.
func hangUpOn(n int) func(int, recReq) string {
	return func(i int, r recReq) string {
		if i == n {
			return ""
		}
		return answerEcho(i, r)
	}
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\nX-Real-IP: 6.6.6.6\r\n\r\n"

func wantHost(host string) func(errorfer, []recReq, []clientResp) {
	return func(t errorfer, reqs []recReq, _ []clientResp) {
		if len(reqs) == 0 || reqs[0].Host != host {
			t.Errorf("Host at the backend: got %v; want %q", reqs, host)
		}
	}
}

func wantNoHeader(name string) func(errorfer, []recReq, []clientResp) {
	return func(t errorfer, reqs []recReq, _ []clientResp) {
		if len(reqs) > 0 && reqs[0].Header[name] != nil {
			t.Errorf("%s at the backend: got %q; want it dropped", name, reqs[0].Header[name])
		}
	}
}

// wantClientFraming checks the first response's framing at the client.
func wantClientFraming(cl int64, body string) func(errorfer, []recReq, []clientResp) {
	return func(t errorfer, _ []recReq, resps []clientResp) {
		if len(resps) == 0 {
			t.Errorf("no response")
			return
		}
		r := resps[0]
		if got := r.Header.Values("Content-Length"); cl >= 0 && (len(got) != 1 || got[0] != fmt.Sprint(cl)) {
			t.Errorf("Content-Length at the client: got %q; want one %d", got, cl)
		}
		if string(r.Body) != body {
			t.Errorf("body at the client: got %q; want %q", r.Body, body)
		}
	}
}

var requestCases = []diffCase{
	// Item 1: framing and Host are the proxy's, never removable by Connection.
	{name: "Connection names Content-Length", defect: 1,
		in: post("/", "Connection: Content-Length\r\n", smuggled), client: "200 end", backend: fmt.Sprintf("POST /[%d] GET /__end", len(smuggled))},
	{name: "Connection names Transfer-Encoding",
		in:     "POST / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		client: "200 end", backend: "POST /[5] GET /__end"},
	{name: "Connection names Host", defect: 1,
		in: get("/", "Connection: Host\r\n"), client: "200 end", backend: "GET / GET /__end", check: wantHost("t")},
	{name: "Connection names Content-Length, bodiless", defect: 1,
		in: post("/", "Connection: close, Content-Length\r\n", ""), client: "200", backend: "POST /",
		check: func(t errorfer, reqs []recReq, _ []clientResp) {
			if len(reqs) == 0 || reqs[0].Header.Get("Content-Length") != "0" {
				t.Errorf("POST at the backend without Content-Length: 0: %v", reqs)
			}
		}},

	// Item 2: absolute-form targets.
	{name: "absolute-form: Host from the authority", defect: 2,
		in: "GET http://public.test/x HTTP/1.1\r\nHost: internal.test\r\n\r\n", client: "200 end", backend: "GET /x GET /__end", check: wantHost("public.test")},
	{name: "absolute-form: routed and sent by the authority", defect: 2,
		in: "GET http://a.test:80/x HTTP/1.1\r\nHost: internal.test\r\n\r\n", client: "200 end", backend: "GET /host-a/x GET /__end", check: wantHost("a.test:80"),
		nginx: "nginx is set up with Host $host, which drops the port; the proxy sends the authority as received"},
	{name: "absolute-form: empty authority", defect: 2,
		in: "GET http:///x HTTP/1.1\r\nHost: t\r\n\r\n", client: "400", backend: ""},
	{name: "absolute-form: bad port", defect: 2,
		in: "GET http://t:8x/x HTTP/1.1\r\nHost: t\r\n\r\n", client: "400", backend: ""},
	{name: "absolute-form: userinfo",
		in: "GET http://u@t/x HTTP/1.1\r\nHost: t\r\n\r\n", client: "400", backend: ""},
	{name: "absolute-form: no path", defect: 2,
		in: "GET http://t?q=1 HTTP/1.1\r\nHost: t\r\n\r\n", client: "200 end", backend: "GET /?q=1 GET /__end"},

	// Item 3: only idempotent requests are sent again when a reused
	// upstream connection closes without an answer.
	{name: "retry: bodiless POST is not replayed", defect: 3, answer: hangUpOn(1),
		in: get("/1", "") + post("/p", "", ""), client: "200 502", backend: "GET /1 POST /p", nginx: keepsAfter502},
	{name: "retry: PATCH is not replayed", defect: 3, answer: hangUpOn(1),
		in: get("/1", "") + "PATCH /p HTTP/1.1\r\nHost: t\r\n\r\n", client: "200 502", backend: "GET /1 PATCH /p", nginx: keepsAfter502},
	{name: "retry: GET is retried", answer: hangUpOn(1),
		in: get("/1", "") + get("/2", ""), client: "200 200 end", backend: "GET /1 GET /2 GET /2 GET /__end"},
	{name: "retry: DELETE is retried", answer: hangUpOn(1),
		in: get("/1", "") + "DELETE /d HTTP/1.1\r\nHost: t\r\n\r\n", client: "200 200 end", backend: "GET /1 DELETE /d DELETE /d GET /__end"},

	// The usual smuggling family.
	{name: "CL and TE", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", client: "400", backend: ""},
	{name: "TE and CL", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", client: "400", backend: ""},
	{name: "two different CL", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", client: "400", backend: ""},
	{name: "two equal CL", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", client: "200 end", backend: "POST /[5] GET /__end",
		check: func(t errorfer, reqs []recReq, _ []clientResp) {
			if len(reqs) == 0 || len(reqs[0].Header.Values("Content-Length")) != 1 {
				t.Errorf("Content-Length lines at the backend: got %v; want 1", reqs)
			}
		},
		nginx: "nginx refuses any repeated Content-Length; RFC 9112 §6.3 lets a recipient take identical values as one, and the backend gets one line"},
	{name: "CL list", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello", client: "400", backend: ""},
	{name: "CL 5x", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5x\r\n\r\nhello", client: "400", backend: ""},
	{name: "CL +5", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello", client: "400", backend: ""},
	{name: "CL overflow", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\n", client: "400", backend: ""},
	{name: "CL with spaces", in: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length:  5 \r\n\r\nhello", client: "200 end", backend: "POST /[5] GET /__end"},
	{name: "TE xchunked", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", client: "501", backend: ""},
	{name: "TE leading space", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:  chunked\r\n\r\n0\r\n\r\n", client: "200 end", backend: "POST / GET /__end"},
	{name: "TE upper case", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n", client: "200 end", backend: "POST /[1] GET /__end"},
	{name: "TE chunked, identity", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", client: "501", backend: ""},
	{name: "TE identity, chunked", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", client: "501", backend: ""},
	{name: "TE gzip, chunked", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", client: "501", backend: ""},
	{name: "TE twice", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", client: "400", backend: ""},
	{name: "TE space before colon", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", client: "400", backend: ""},
	{name: "TE with underscore is no TE", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\n", client: "200 400", backend: "POST /",
		check: wantNoHeader("Transfer_encoding")},
	{name: "TE in HTTP/1.0", in: "POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", client: "400", backend: ""},
	{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n", client: "400", backend: ""},
	{name: "obs-fold into TE", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n chunked\r\n\r\n0\r\n\r\n", client: "400", backend: ""},
	{name: "bare LF head", in: "GET / HTTP/1.1\nHost: t\n\n", client: "200 end", backend: "GET / GET /__end"},
	{name: "bare CR in value", in: "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n", client: "400", backend: ""},
	{name: "NUL in value", in: "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n", client: "400", backend: ""},
	{name: "chunk size overflow", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", client: "400", backend: "PARTIAL", orNothing: true,
		nginx: "nginx reads the whole body before it connects (proxy_request_buffering); the proxy streams, so the backend sees the head and a body cut short, never a request of the attacker's"},
	{name: "chunk line bare LF", in: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", client: "400", backend: "PARTIAL", orNothing: true,
		nginx: "nginx accepts a bare LF after the chunk size; bare LF in chunked framing was CVE-2025-22871 in net/http"},
	{name: "GET with a body", in: "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc", client: "200 end", backend: "GET /[3] GET /__end"},

	// Paths are normalised before routing and sent as routed.
	{name: "path: dot-dot into another route", in: get("/public/../admin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end"},
	{name: "path: %2e%2e", in: get("/public/%2e%2E/admin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end"},
	{name: "path: ..%2f", in: get("/public/..%2fadmin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end"},
	{name: "path: ..%5c", in: get("/public/..%5cadmin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end",
		nginx: "nginx on Unix takes \\ as data; backends on Windows and some frameworks take it as /, so the proxy does too and sends what it routed"},
	{name: "path: backslash", in: get("/public\\..\\admin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end",
		nginx: "nginx on Unix takes \\ as data; see ..%5c"},
	{name: "path: ..; parameter", in: get("/public/..;/admin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end",
		nginx: "nginx takes \"..;\" as a name and forwards it; Tomcat and Jetty drop the parameter and go up, so /public's rules would cover /admin"},
	{name: "path: //", in: get("//admin//x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end"},
	{name: "path: unreserved escape", in: get("/%61dmin/x", ""), client: "200 end", backend: "GET /ADMIN/x GET /__end"},
	{name: "path: dot segment", in: get("/public/./x/.", ""), client: "200 end", backend: "GET /public/x/ GET /__end",
		nginx: "with no URI part in proxy_pass nginx sends the target as received; the proxy sends what it routed, so no backend can resolve it elsewhere"},
	{name: "path: %2F is a separator", in: get("/public/a%2Fb", ""), client: "200 end", backend: "GET /public/a/b GET /__end",
		nginx: "nginx routes /public/a/b but sends /public/a%2Fb as received; see dot segment"},
	{name: "path: escapes upper-cased", in: get("/public/caf%c3%a9?q=%c3", ""), client: "200 end", backend: "GET /public/caf%C3%A9?q=%c3 GET /__end",
		nginx: "see dot segment; RFC 3986 §6.2.2.1 makes the two spellings equal, the query is not touched"},
	{name: "path: query untouched", in: get("/public/x?a=../b#c", ""), client: "200 end", backend: "GET /public/x?a=../b GET /__end", nginx: fragment},
	{name: "path: fragment dropped", in: get("/public/x#../../admin", ""), client: "200 end", backend: "GET /public/x GET /__end", nginx: fragment},
	{name: "path: above the root", in: get("/public/../../x", ""), client: "400", backend: ""},
	{name: "path: %00", in: get("/public/%00", ""), client: "400", backend: ""},
	{name: "path: bad escape", in: get("/public/%zz", ""), client: "400", backend: ""},

	// Host, field names, Forwarded.
	{name: "Host with a trailing dot", in: "GET /x HTTP/1.1\r\nHost: a.test.\r\n\r\n", client: "200 end", backend: "GET /host-a/x GET /__end"},
	{name: "underscore in a field name dropped", in: get("/", "X_Secret: 1\r\nX-Kept: 1\r\n"), client: "200 end", backend: "GET / GET /__end",
		check: func(t errorfer, reqs []recReq, resps []clientResp) {
			wantNoHeader("X_secret")(t, reqs, resps)
			if len(reqs) > 0 && reqs[0].Header.Get("X-Kept") != "1" {
				t.Errorf("X-Kept at the backend: got %q; want 1", reqs[0].Header.Get("X-Kept"))
			}
		}},
	{name: "Forwarded from an untrusted peer replaced", in: get("/", "Forwarded: for=6.6.6.6;host=evil\r\n"), client: "200 end", backend: "GET / GET /__end",
		check: func(t errorfer, reqs []recReq, _ []clientResp) {
			if got := reqs[0].Header.Values("Forwarded"); len(got) != 1 || got[0] != "for=127.0.0.1;proto=http" {
				t.Errorf("Forwarded at the backend: got %q; want one for=127.0.0.1;proto=http", got)
			}
		},
		nginx: "nginx passes Forwarded through unless told otherwise; the proxy replaces it as it sets X-Real-IP"},
}

var responseCases = []diffCase{
	// Item 5: ambiguous or invalid response framing is a 502.
	{name: "response: two different CL", defect: 5, in: get("/", ""), client: "502", backend: "GET /",
		answer: answerOnce(closeAfter + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), nginx: nginx122Framing},
	{name: "response: CL and chunked", defect: 5, in: get("/", ""), client: "502", backend: "GET /",
		answer: answerOnce(closeAfter + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), nginx: nginx122Framing},
	{name: "response: CL 5x", defect: 5, in: get("/", ""), client: "502", backend: "GET /",
		answer: answerOnce(closeAfter + "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello"), nginx: nginx122Framing},
	{name: "response: TE gzip", defect: 5, in: get("/", ""), client: "502", backend: "GET /",
		answer: answerOnce(closeAfter + "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello"), nginx: nginx122Framing},
	{name: "response: TE chunked twice", defect: 5, in: get("/", ""), client: "502", backend: "GET /",
		answer: answerOnce(closeAfter + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), nginx: nginx122Framing},
	{name: "response: two equal CL", in: get("/", ""), client: "200 end", backend: "GET / GET /__end",
		answer: answerOnce("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), check: wantClientFraming(5, "hello")},
	// Item 1, response side.
	{name: "response: Connection names Content-Length", defect: 1, in: get("/", ""), client: "200 end", backend: "GET / GET /__end",
		answer: answerOnce("HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello"), check: wantClientFraming(5, "hello")},
	{name: "response: Connection names Transfer-Encoding", in: get("/", ""), client: "200 end", backend: "GET / GET /__end",
		answer: answerOnce("HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), check: wantClientFraming(-1, "hello")},
	{name: "response: HEAD keeps its Content-Length", in: "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", method: "HEAD", client: "200 end",
		answer: answerOnce("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"), backend: "HEAD / GET /__end",
		check: func(t errorfer, _ []recReq, resps []clientResp) {
			if len(resps) == 0 || resps[0].Header.Get("Content-Length") != "42" {
				t.Errorf("HEAD answer at the client lost Content-Length: %v", resps)
			}
		}},
}

// configCases need a config of their own.
var configCases = []diffCase{
	{name: "limits.max_headers: at the limit", config: "limits: {max_headers: 3}\n",
		in: get("/", "A: 1\r\nB: 2\r\n"), client: "200 end", backend: "GET / GET /__end",
		nginx: "nginx has no limit on the number of fields, only on their bytes"},
	{name: "limits.max_headers: over the limit", config: "limits: {max_headers: 3}\n",
		in: get("/", "A: 1\r\nB: 2\r\nC: 3\r\n"), client: "431", backend: "",
		nginx: "nginx has no limit on the number of fields, only on their bytes"},
	{name: "underscores_in_headers: true", config: "underscores_in_headers: true\n", nginxConf: "underscores_in_headers on;",
		in: get("/", "X_Secret: 1\r\n"), client: "200 end", backend: "GET / GET /__end",
		check: func(t errorfer, reqs []recReq, _ []clientResp) {
			if got := reqs[0].Header.Get("X_secret"); got != "1" {
				t.Errorf("X_Secret at the backend: got %q; want 1", got)
			}
		}},
	{name: "Forwarded from a trusted peer appended to", config: "trusted_proxies: [127.0.0.1]\n", nginx: "nginx has no Forwarded handling",
		in: get("/", "Forwarded: for=192.0.2.7\r\nX-Forwarded-For: 192.0.2.7\r\n"), client: "200 end", backend: "GET / GET /__end",
		check: func(t errorfer, reqs []recReq, _ []clientResp) {
			if got := reqs[0].Header.Values("Forwarded"); len(got) != 1 || got[0] != "for=192.0.2.7, for=127.0.0.1;proto=http" {
				t.Errorf("Forwarded at the backend: got %q; want one for=192.0.2.7, for=127.0.0.1;proto=http", got)
			}
			if got := reqs[0].Header.Get("X-Real-IP"); got != "192.0.2.7" {
				t.Errorf("X-Real-IP at the backend: got %q; want 192.0.2.7", got)
			}
		}},
}

// wsproxyDiff starts the proxy of the differential rows in front of
// backend; extra is YAML added to the config.
func wsproxyDiff(t *testing.T, backend, extra string) (dial func() (net.Conn, error), stop func()) {
	srv, addr := startProxy(t, "listen: [{addr: \"127.0.0.1:0\"}]\nloops: 1\n"+extra+fmt.Sprintf(routesYAML, backend))
	return func() (net.Conn, error) { return net.Dial("tcp", addr) }, srv.Close
}

// runDiff runs one row against the proxy start gives and returns the
// client and backend summaries.
func runDiff(t *testing.T, tc diffCase, start func(t *testing.T, backend string) (func() (net.Conn, error), func())) (client, backend string, reqs []recReq, resps []clientResp) {
	t.Helper()
	rec := startRecorder(t, tc.answer)
	dial, stop := start(t, rec.addr)
	resps, how := exchangeRaw(t, dial, tc.in, tc.method, true)
	stop()
	rec.wait()
	return clientSummary(resps, how), rec.summary(), rec.requests(), resps
}

func allDiffCases() []diffCase {
	return append(append(append([]diffCase(nil), requestCases...), responseCases...), configCases...)
}

func TestDifferential(t *testing.T) {
	for _, tc := range allDiffCases() {
		t.Run(tc.name, func(t *testing.T) {
			client, backend, reqs, resps := runDiff(t, tc, func(t *testing.T, b string) (func() (net.Conn, error), func()) {
				return wsproxyDiff(t, b, tc.config)
			})
			if client != tc.client {
				t.Errorf("client got %q; want %q", client, tc.client)
			}
			if backend != tc.backend && !(tc.orNothing && backend == "") {
				t.Errorf("backend got %q; want %q", backend, tc.backend)
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, reqs, resps)
			}
			if t.Failed() && tc.defect != 0 {
				t.Logf("reproduces issue 10 item %d", tc.defect)
			}
		})
	}
}

// TestBadResponseLogged: a response refused for its framing is logged
// with the reason, naming the server.
func TestBadResponseLogged(t *testing.T) {
	rec := startRecorder(t, answerOnce("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"))
	var logs testutil.Buffer
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: %q}]\n", rec.addr)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := core.New(cfg, core.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	resps, how := exchangeRaw(t, func() (net.Conn, error) { return net.Dial("tcp", srv.Addrs()[0].String()) }, get("/", ""), "", false)
	srv.Close() // the loops have stopped: their log lines are all written
	if got := clientSummary(resps, how); got != "502" {
		t.Fatalf("client got %q; want 502", got)
	}
	out := logs.String()
	for _, want := range []string{`msg="request failed"`, "status=502", "server=" + rec.addr, "conflicting Content-Length"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestOriginCheckAfterNormalisation: a handshake cannot dodge the origins
// of the route its path resolves to by spelling the path otherwise.
func TestOriginCheckAfterNormalisation(t *testing.T) {
	rec := startRecorder(t, nil)
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - {path: /admin, upstream: %[1]q, websocket: {origins: ["https://good.test"]}}
  - {path: /, upstream: %[1]q}
`, rec.addr))
	dial := func() (net.Conn, error) { return net.Dial("tcp", addr) }
	for _, target := range []string{"/admin/ws", "/public/../admin/ws", "/public/%2e%2e/admin/ws", "//admin/ws", "/x/..%2Fadmin/ws", "/%61dmin/ws"} {
		in := strings.Replace(upgradeRequest(target, "t"), "\r\n\r\n", "\r\nOrigin: https://evil.test\r\n\r\n", 1)
		resps, how := exchangeRaw(t, dial, in, "", false)
		if got := clientSummary(resps, how); got != "403" {
			t.Errorf("%s from https://evil.test: got %q; want 403", target, got)
		}
	}
	if got := rec.summary(); got != "" {
		t.Errorf("backend got %q; want nothing", got)
	}
}
