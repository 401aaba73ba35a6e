package loadtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/sock"
)

// workload is Config.Workload as an enum for the hot path.
type workload uint8

const (
	workHold workload = iota
	workEcho
	workBulk
)

// bulkWindow is how many bulk messages a connection keeps in flight: enough
// to keep both directions busy, few enough that the server buffers little.
const bulkWindow = 4

// plan is what the loops of one process share, derived once from Config
// and never modified after Run starts them.
type plan struct {
	addr         netip.AddrPort
	request      []byte // the handshake request through "Sec-WebSocket-Key: "
	newTransport func() transport
	tls          *tls.Config // wss://: the bridge's client config (tls.go); nil for ws://
	work         workload
	size         int64
	interval     int64 // ns between echo sends on one connection
	timeout      int64 // ns: handshake timeout, then echo reply timeout
	window       uint32
}

// parseURL parses and checks a ws:// or wss:// URL.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("scheme %q, want ws or wss", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	return u, nil
}

// newPlan resolves cfg's URL (the only step that may block, done before
// any loop starts) and prepares the shared handshake request.
func newPlan(ctx context.Context, cfg *Config) (*plan, error) {
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: URL: %v", ErrConfig, err)
	}
	port := uint16(80)
	if u.Scheme == "wss" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%w: URL: bad port %q", ErrConfig, p)
		}
		port = uint16(n)
	}
	ip, err := resolve(ctx, u.Hostname())
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.Sources {
		if s.Unmap().Is4() != ip.Is4() {
			return nil, fmt.Errorf("%w: Sources: %v and target %v are of different families", ErrConfig, s, ip)
		}
	}
	pl := &plan{
		addr:         netip.AddrPortFrom(ip, port),
		request:      handshakeRequest(u, cfg),
		newTransport: plainTransport,
		size:         int64(cfg.Size),
		timeout:      int64(cfg.Timeout),
		window:       1,
	}
	if u.Scheme == "wss" {
		name := u.Hostname()
		if h := cfg.Header.Get("Host"); h != "" {
			name, _, _ = strings.Cut(h, ":")
		}
		if pl.tls, err = tlsConfig(cfg, name); err != nil {
			return nil, err
		}
	}
	switch cfg.Workload {
	case Echo:
		pl.work = workEcho
		pl.interval = max(int64(float64(time.Second)/cfg.MsgRate), 1)
	case Bulk:
		pl.work = workBulk
		pl.window = bulkWindow
	}
	return pl, nil
}

// resolve returns host as an address, looking a name up if needed and
// preferring IPv4, as the loopback targets of this tool usually are.
func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("loadtest: resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	return ips[0], nil
}

// ownFields are the handshake fields the request sets itself; Config.Header
// entries with these names are ignored.
var ownFields = [...]string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version"}

// handshakeRequest builds the request head up to the key's value (RFC 6455
// §4.1); each connection appends its own key and the final CRLFs.
func handshakeRequest(u *url.URL, cfg *Config) []byte {
	host := u.Host
	if h := cfg.Header.Get("Host"); h != "" {
		host = h
	}
	b := codec.AppendRequestLine(nil, []byte("GET"), []byte(u.RequestURI()), 1, 1)
	b = codec.AppendHeader(b, []byte("Host"), []byte(host))
	b = append(b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"...)
next:
	for name, values := range cfg.Header {
		if codec.EqualFold([]byte(name), "Host") {
			continue
		}
		for _, own := range ownFields {
			if codec.EqualFold([]byte(name), own) {
				continue next
			}
		}
		for _, v := range values {
			b = codec.AppendHeader(b, []byte(name), []byte(v))
		}
	}
	return append(b, "Sec-WebSocket-Key: "...)
}

// transport moves bytes between a connection's socket and the loop's
// buffers. Both methods are non-blocking: they return unix.EAGAIN when the
// socket has nothing to read or no room to write, and (0, nil) from read
// means the peer closed.
//
// wss:// does not need a transport of its own: the loop's descriptor is one
// end of a socket pair whose other end a bridge goroutine connects to the
// TLS connection (tls.go). A TLS engine driven by the loop itself would
// plug in here.
type transport interface {
	read(fd int, p []byte) (int, error)
	write(fd int, p []byte) (int, error)
}

// plain is the ws:// transport: the system calls themselves, recv(2) and
// send(2) as the proxy's (sock.Recv). It has no state, so storing it in
// the interface allocates nothing.
type plain struct{}

func plainTransport() transport { return plain{} }

func (plain) read(fd int, p []byte) (int, error) { return sock.RecvRetry(fd, p) }

func (plain) write(fd int, p []byte) (int, error) {
	for {
		n, err := sock.Send(fd, p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}
