package dnsup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/miekg/dns"

	"wsproxy/config"
)

// Result is the outcome of one resolution, as counted in Stats and named
// in the metric label "result".
type Result uint8

// Results of a resolution. Every one but ResultOK keeps the last good set.
const (
	ResultOK       Result = iota // at least one server
	ResultEmpty                  // the name exists but has no record of the type (or none usable)
	ResultNXDomain               // the name does not exist
	ResultServFail               // the resolver could not answer (SERVFAIL)
	ResultTimeout                // no answer within the query timeout
	ResultError                  // anything else: refused, another rcode, a network error, a bad answer
	NumResults
)

// ResultNames are the metric labels of the Results, by value.
var ResultNames = [NumResults]string{"ok", "empty", "nxdomain", "servfail", "timeout", "error"}

// String returns r's metric label.
func (r Result) String() string { return ResultNames[r] }

// QueryTimeout bounds one DNS exchange (UDP, then TCP if the answer was
// truncated, each up to this long).
const QueryTimeout = 2 * time.Second

// udpSize is the EDNS0 buffer size offered: large enough for a few
// hundred A records, so that TCP is needed only for bigger answers
// (and then used: a truncated answer is asked again over TCP).
const udpSize = 4096

// answerError is a failed resolution: its Result and what happened.
type answerError struct {
	result Result
	err    error
}

func (e *answerError) Error() string { return e.err.Error() }

func failed(r Result, format string, args ...any) *answerError {
	return &answerError{result: r, err: fmt.Errorf(format, args...)}
}

// resolver asks one DNS server.
type resolver struct {
	addr     string // "IP:PORT"
	udp, tcp dns.Client
	timeout  time.Duration
}

func newResolver(addr string, timeout time.Duration) *resolver {
	return &resolver{
		addr:    addr,
		udp:     dns.Client{Net: "udp", UDPSize: udpSize, Timeout: timeout},
		tcp:     dns.Client{Net: "tcp", Timeout: timeout},
		timeout: timeout,
	}
}

// defaultResolver returns the first nameserver of the resolv.conf file at
// path as "IP:PORT".
func defaultResolver(path string) (string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return "", fmt.Errorf("no resolver given and %w", err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("no resolver given and %s lists no nameserver", path)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// exchange asks for name's records of type qtype, over UDP and, when the
// answer comes back truncated, again over TCP. A reply whose rcode is not
// NOERROR is an *answerError naming it.
func (r *resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(udpSize, false)
	m, err := r.ask(ctx, &r.udp, q)
	if err == nil && m.Truncated {
		m, err = r.ask(ctx, &r.tcp, q)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err() // stopped: not a result
		}
		if isTimeout(err) {
			return nil, failed(ResultTimeout, "%s: no answer from %s within %s", name, r.addr, r.timeout)
		}
		return nil, failed(ResultError, "%s: %v", name, err)
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
		return m, nil
	case dns.RcodeNameError:
		return nil, failed(ResultNXDomain, "%s: no such name (NXDOMAIN from %s)", name, r.addr)
	case dns.RcodeServerFailure:
		return nil, failed(ResultServFail, "%s: SERVFAIL from %s", name, r.addr)
	}
	return nil, failed(ResultError, "%s: %s from %s", name, dns.RcodeToString[m.Rcode], r.addr)
}

// ask sends q with c and reads the answer. Unlike c.ExchangeContext, which
// heeds only a context's deadline, it gives up as soon as ctx is done: the
// socket is closed under the read, so that Stop need not wait for a
// resolver that does not answer.
func (r *resolver) ask(ctx context.Context, c *dns.Client, q *dns.Msg) (*dns.Msg, error) {
	conn, err := c.DialContext(ctx, r.addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	m, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	return m, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// lookup resolves spec once: its servers, sorted, and the smallest TTL of
// the records they came from. A failure is an *answerError (or the
// context's error once stopped); an answer without a usable server is
// ResultEmpty.
func (r *resolver) lookup(ctx context.Context, spec *Spec) ([]config.Server, uint32, error) {
	m, err := r.exchange(ctx, spec.Name, spec.Type)
	if err != nil {
		return nil, 0, err
	}
	var targets []target
	var ttl uint32
	if spec.Type == dns.TypeSRV {
		targets, ttl = srvTargets(m)
		for i := range targets {
			if t := &targets[i]; len(t.addrs) == 0 {
				var tttl uint32
				if t.addrs, tttl, err = r.targetAddrs(ctx, t.name); err != nil {
					return nil, 0, err
				}
				ttl = min(ttl, tttl)
			}
		}
	} else {
		var addrs []netip.Addr
		addrs, ttl = addresses(m, spec.Type)
		targets = []target{{name: spec.Name, port: uint16(spec.Port), weight: 1, addrs: addrs}}
	}
	list := servers(targets)
	if len(list) == 0 {
		return nil, 0, failed(ResultEmpty, "%s: no %s records", spec.Name, dns.TypeToString[spec.Type])
	}
	return list, ttl, nil
}

// targetAddrs resolves an SRV target the additional section did not
// cover: its A records, or its AAAA records when it has none. A target
// that does not exist or has no address is left out (the SRV record
// names a host that is gone); a resolver failure fails the whole lookup,
// so that a passing fault never shrinks the set.
func (r *resolver) targetAddrs(ctx context.Context, name string) ([]netip.Addr, uint32, error) {
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m, err := r.exchange(ctx, name, qtype)
		var ae *answerError
		if errors.As(err, &ae) && ae.result == ResultNXDomain {
			return nil, noTTL, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if addrs, ttl := addresses(m, qtype); len(addrs) > 0 {
			return addrs, ttl, nil
		}
	}
	return nil, noTTL, nil
}
