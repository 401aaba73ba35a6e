package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/testcert"
)

// TestMeasureTLSStall measures issue 10's item 4 for BENCHMARKS.md: how
// long a good client's full TLS handshake takes while many clients stall
// in theirs, and what the stalled ones cost the proxy. It runs only when
// WSPROXY_MEASURE_TLS_STALL=1 and wants an otherwise idle machine:
//
//	WSPROXY_MEASURE_TLS_STALL=1 go test -run TestMeasureTLSStall -v -timeout 60m ./cmd/wsproxy/
//
// Knobs (environment): WSPROXY_MEASURE_STALLED (stalled clients, default
// 1000), WSPROXY_MEASURE_SAMPLES (good handshakes per trial, default 5),
// WSPROXY_MEASURE_PROXIES (default "wsproxy,nginx"; nginx only if on PATH).
//
// Each proxy runs as in TestMeasureTLS (two loops or workers, an echo
// backend in the test process, ECDSA P-256), with header_read (nginx:
// client_header_timeout, which bounds its TLS handshake too) of 10 s.
// Stalled clients, per trial:
//
//	none     the baseline
//	partial  10 bytes of a ClientHello, then nothing (the stall)
//	hello    a whole ClientHello (Go's, X25519MLKEM768 and X25519 key
//	         shares), then nothing: the proxy answers and waits for a
//	         Finished that never comes
//
// Each sample opens the stalled clients, reads the answer of each "hello"
// one (for at most 5 s in all; "answered" counts them), then times a good
// client: TCP connect and a full handshake (no resumption), and that plus
// a proxied GET (a failure is counted, with the time until it). With the
// stalled ones still open it samples what they cost the proxy: RSS growth
// (in the first sample only: later ones reuse what it took) and, for
// wsproxy through its admin listener, the live heap, goroutine stacks and
// goroutines. Then it closes them and lets the proxy settle for a second.
func TestMeasureTLSStall(t *testing.T) {
	if os.Getenv("WSPROXY_MEASURE_TLS_STALL") != "1" {
		t.Skip("set WSPROXY_MEASURE_TLS_STALL=1 to measure")
	}
	stalled := envInt("WSPROXY_MEASURE_STALLED", 1000)
	samples := envInt("WSPROXY_MEASURE_SAMPLES", 5)
	proxies := strings.Split(cmpOr(os.Getenv("WSPROXY_MEASURE_PROXIES"), "wsproxy,nginx"), ",")
	const headerRead = 10 * time.Second

	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	backend := startEcho(t)
	hello := captureHello(t)
	for _, px := range proxies {
		if _, err := exec.LookPath(px); px == "nginx" && err != nil {
			t.Log("nginx not on PATH: measuring wsproxy alone")
			continue
		}
		for _, kind := range []string{"none", "partial", "hello"} {
			t.Run(px+"/"+kind, func(t *testing.T) {
				addr, pid, admin := startTLSProxyProc(t, px, dir, cert, key, backend, headerRead)
				n := stalled
				if kind == "none" {
					n = 0
				}
				var hs, req []time.Duration
				failed := 0
				var answered, rssPer, heapPer, stackPer, goroutines []float64
				for range samples {
					rss0, heap0, stack0 := groupRSS(pid), liveHeap(t, admin), stackInuse(t, admin)
					conns, ok := openStalled(t, addr, kind, n, hello)
					h, r, err := goodClient(addr)
					if err != nil {
						t.Logf("good client failed after %s: %v", ms(h), err)
						failed++
					}
					hs, req = append(hs, h), append(req, r)
					answered = append(answered, float64(ok))
					if n > 0 && len(rssPer) == 0 { // later samples reuse the memory the first one took
						rssPer = append(rssPer, float64(groupRSS(pid)-rss0)/float64(n))
					}
					if n > 0 {
						heapPer = append(heapPer, float64(liveHeap(t, admin)-heap0)/float64(n))
						stackPer = append(stackPer, float64(stackInuse(t, admin)-stack0)/float64(n))
					}
					goroutines = append(goroutines, float64(goroutineCount(t, admin)))
					for _, c := range conns {
						c.Close()
					}
					time.Sleep(time.Second)
				}
				t.Logf("RESULT stall %-7s kind=%-7s stalled=%d answered=%.0f good_failed=%d handshake_median=%s handshake_max=%s request_median=%s rss_per_stalled_first=%.0f B heap_per_stalled=%.0f B stack_per_stalled=%.0f B goroutines=%.0f",
					px, kind, n, median(answered), failed, ms(medianD(hs)), ms(slices.Max(hs)), ms(medianD(req)),
					median(rssPer), median(heapPer), median(stackPer), median(goroutines))
			})
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// captureHello returns the ClientHello a crypto/tls client sends first.
func captureHello(t *testing.T) []byte {
	var c writeCapture
	_ = tls.Client(&c, measureTLS("default")).Handshake()
	if c.out.Len() < 100 {
		t.Fatalf("captured a ClientHello of %d bytes", c.out.Len())
	}
	return c.out.Bytes()
}

// writeCapture keeps what is written to it and has nothing to read.
type writeCapture struct {
	out bytes.Buffer
	net.Conn
}

func (c *writeCapture) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *writeCapture) Read([]byte) (int, error)         { return 0, errors.New("nothing to read") }
func (c *writeCapture) Close() error                     { return nil }
func (c *writeCapture) SetDeadline(time.Time) error      { return nil }
func (c *writeCapture) SetReadDeadline(time.Time) error  { return nil }
func (c *writeCapture) SetWriteDeadline(time.Time) error { return nil }
func (c *writeCapture) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *writeCapture) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// openStalled opens n clients of kind and, for "hello", reads each one's
// answer for at most 5 s in all; it returns the connections and how many
// were answered.
func openStalled(t *testing.T, addr, kind string, n int, hello []byte) ([]net.Conn, int) {
	send := hello
	if kind == "partial" {
		send = hello[:10]
	}
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("stalled client %d: %v", len(conns), err)
		}
		if _, err := c.Write(send); err != nil {
			t.Fatalf("stalled client %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	answered := 0
	if kind == "hello" {
		end := time.Now().Add(5 * time.Second)
		for _, c := range conns {
			c.SetReadDeadline(end)
			if _, err := io.ReadFull(c, make([]byte, 5)); err == nil {
				answered++
			}
		}
	}
	return conns, answered
}

// goodClient times a full handshake (TCP connect included) and the
// handshake plus a proxied GET; after a failure, the time until it.
func goodClient(addr string) (handshake, request time.Duration, err error) {
	start := time.Now()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 60 * time.Second}, "tcp", addr, measureTLS("default"))
	if err != nil {
		return time.Since(start), time.Since(start), err
	}
	defer c.Close()
	handshake = time.Since(start)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /good HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return handshake, time.Since(start), err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return handshake, time.Since(start), nil
}

// stackInuse is the goroutine stack memory in use of the wsproxy whose
// admin listener is admin (runtime.MemStats.StackInuse); 0 if admin is "".
func stackInuse(t *testing.T, admin string) int64 {
	if admin == "" {
		return 0
	}
	resp, err := http.Get("http://" + admin + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_, v, ok := strings.Cut(string(b), "\n# Stack = ")
	if !ok {
		t.Fatalf("no Stack in the heap profile from %s", admin)
	}
	v, _, _ = strings.Cut(v, " ")
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// goroutineCount is the number of goroutines of the wsproxy whose admin
// listener is admin; 0 if admin is "".
func goroutineCount(t *testing.T, admin string) int {
	if admin == "" {
		return 0
	}
	resp, err := http.Get("http://" + admin + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total ")))
	return n
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

func medianD(v []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
