//go:build linux

package main

import (
	endian "encoding/binary" // binary is the wsproxy executable (proc_test.go)
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// eioBackends are Engine.IO-like backends in the test process: a request
// without ?sid= is a handshake that issues a new sid, one with a sid
// issued elsewhere gets 400 "Session ID unknown", as engine.io answers.
// Each poll is also attributed to the worker process whose connection
// carried it.
type eioBackends struct {
	mu      sync.Mutex
	issued  map[string]string // sid → backend id
	n       int
	workers []int       // pids polls are attributed to
	polls   map[int]int // worker pid (0: unknown) → polls served
}

func (e *eioBackends) start(t *testing.T, id string) string {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Id", id)
		sid := r.URL.Query().Get("sid")
		var owner int
		if sid != "" {
			e.mu.Lock()
			pids := e.workers
			e.mu.Unlock()
			owner = socketOwner(r.RemoteAddr, r.Context().Value(http.LocalAddrContextKey).(net.Addr).String(), pids)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if sid == "" {
			e.n++
			sid = fmt.Sprintf("%s-%d", id, e.n)
			e.issued[sid] = id
			fmt.Fprintf(w, `0{"sid":%q,"upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, sid)
			return
		}
		e.polls[owner]++
		if e.issued[sid] != id {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"code":1,"message":"Session ID unknown"}`)
			return
		}
		fmt.Fprint(w, "6")
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// socketOwner returns which of pids holds the proxy's end of the TCP
// connection from peer to local (as a backend sees it), or 0. It asks the
// kernel for that one socket (sock_diag) rather than reading
// /proc/net/tcp, which is slow on a host with many sockets.
func socketOwner(peer, local string, pids []int) int {
	inode, err := socketInode(netip.MustParseAddrPort(peer), netip.MustParseAddrPort(local))
	if err != nil {
		return 0
	}
	link := fmt.Sprintf("socket:[%d]", inode)
	for _, pid := range pids {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fd); l == link {
				return pid
			}
		}
	}
	return 0
}

// socketInode returns the inode of the IPv4 TCP socket bound to src and
// connected to dst, with one SOCK_DIAG_BY_FAMILY request (linux/inet_diag.h).
func socketInode(src, dst netip.AddrPort) (uint32, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	req := make([]byte, unix.NLMSG_HDRLEN+56) // nlmsghdr, inet_diag_req_v2
	ne := endian.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	r := req[unix.NLMSG_HDRLEN:]
	r[0], r[1] = unix.AF_INET, unix.IPPROTO_TCP
	ne.PutUint32(r[4:], ^uint32(0)) // every state
	endian.BigEndian.PutUint16(r[8:], src.Port())
	endian.BigEndian.PutUint16(r[10:], dst.Port())
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(r[12:], s4[:])
	copy(r[28:], d4[:])
	ne.PutUint64(r[48:], ^uint64(0)) // INET_DIAG_NOCOOKIE
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return 0, err
	}
	if n < unix.NLMSG_HDRLEN+72 || ne.Uint16(buf[4:]) != unix.SOCK_DIAG_BY_FAMILY {
		return 0, fmt.Errorf("sock_diag: no socket %s -> %s", src, dst)
	}
	return ne.Uint32(buf[unix.NLMSG_HDRLEN+68:]), nil // inet_diag_msg.idiag_inode
}

// eioGet makes one request on a new connection and returns the status,
// the backend that answered and the body.
func eioGet(url string) (int, string, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Echo-Id"), string(b), err
}

// TestWorkersShareSids runs balance: sid with two workers: Engine.IO
// clients handshake and poll, each request on a new connection so that
// the kernel spreads them over both workers, and every poll must reach the
// backend that issued its sid, whichever worker learnt it. The sids must
// keep routing after a reload, from the next generation's workers.
func TestWorkersShareSids(t *testing.T) {
	e := &eioBackends{issued: map[string]string{}, polls: map[int]int{}}
	var servers []string
	for i := 1; i <= 3; i++ {
		servers = append(servers, fmt.Sprintf("      - addr: %q", e.start(t, fmt.Sprintf("b%d", i))))
	}
	cfg := filepath.Join(t.TempDir(), "wsproxy.yaml")
	text := fmt.Sprintf(`listen: [{addr: "127.0.0.1:0"}]
loops: 1
drain_timeout: 1s
upstreams:
  eio:
    balance: sid
    fallback: round_robin
    servers:
%s
routes: [{path: /engine.io/, upstream: eio}]
`, strings.Join(servers, "\n"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "run", "-config", cfg, "-workers", "2")
	addr := p.WaitLog(t, servingLine)[1]
	workers := p.workers(t)
	e.mu.Lock()
	for pid := range workers {
		e.workers = append(e.workers, pid)
	}
	e.mu.Unlock()

	const clients, polls = 30, 4
	base := "http://" + addr + "/engine.io/?EIO=4&transport=polling"
	type session struct{ sid, backend string }
	sessions := make([]session, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			code, backend, body, err := eioGet(base)
			sid, ok := strings.CutPrefix(body, `0{"sid":"`)
			if err != nil || code != 200 || !ok {
				errs[i] = fmt.Errorf("handshake: %d %q, %v", code, body, err)
				return
			}
			sid, _, _ = strings.Cut(sid, `"`)
			sessions[i] = session{sid, backend}
			for j := range polls {
				code, got, body, err := eioGet(base + "&sid=" + sid)
				if err != nil || code != 200 || got != backend {
					errs[i] = fmt.Errorf("poll %d for %s: %d from %s (%q), %v; want 200 from %s", j, sid, code, got, body, err, backend)
					return
				}
			}
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			t.Errorf("client %d: %v", i, err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d clients failed", failed, clients)
	}
	e.mu.Lock()
	t.Logf("polls by worker pid (0: not attributed): %v", e.polls)
	for pid, name := range workers {
		if e.polls[pid] == 0 {
			t.Errorf("worker %s (pid %d) served no poll; want some of the %d (by worker pid: %v)", name, pid, clients*polls, e.polls)
		}
	}
	e.mu.Unlock()

	// A reload that starts a new generation (loops change) keeps the
	// table: the next generation's workers route the same sids.
	if err := os.WriteFile(cfg, []byte(strings.Replace(text, "loops: 1", "loops: 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="generation finished" generation=1`)
	for _, s := range sessions {
		for j := range 2 {
			if code, got, body, err := eioGet(base + "&sid=" + s.sid); err != nil || code != 200 || got != s.backend {
				t.Fatalf("after the reload, poll %d for %s: %d from %s (%q), %v; want 200 from %s", j, s.sid, code, got, body, err, s.backend)
			}
		}
	}
}
