// Package dnstest is a DNS server for tests, on 127.0.0.1 and a port of
// its own, whose records a test sets and changes while it runs. It stands
// in for the cluster DNS of Kubernetes or a Consul agent, so that tests of
// servers_from need no dnsmasq and no network. It answers from its own
// table only: no recursion, no wildcards.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server answers queries from a table of records. Its methods are safe for
// concurrent use.
type Server struct {
	addr string

	mu       sync.Mutex
	records  map[key][]dns.RR // guarded by mu: the answer section
	extra    map[key][]dns.RR // guarded by mu: the additional section
	rcode    map[string]int   // guarded by mu: a forced rcode, by name
	drop     bool             // guarded by mu: answer nothing (the client times out)
	truncUDP bool             // guarded by mu: answer UDP queries truncated and empty
	served   map[key]int      // guarded by mu: queries answered
	received map[key]int      // guarded by mu: queries received, answered or not
	arrived  chan struct{}    // guarded by mu: closed and replaced at each query
}

type key struct {
	name  string // canonical: lower case, absolute
	qtype uint16
}

// Start starts a Server on a UDP port of 127.0.0.1, and on the same TCP
// port when tcp is set (for truncated answers); t's Cleanup stops it.
func Start(t testing.TB, tcp bool) *Server {
	t.Helper()
	s := &Server{records: map[key][]dns.RR{}, extra: map[key][]dns.RR{}, rcode: map[string]int{},
		served: map[key]int{}, received: map[key]int{}, arrived: make(chan struct{})}
	var pc net.PacketConn
	var ln net.Listener
	// The TCP port is the UDP port the kernel chose, which a TCP socket
	// may hold already: then take another pair. The UDP socket is held
	// meanwhile, so nothing is reused after being let go.
	for attempt := 0; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		if !tcp {
			break
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 100 {
			t.Fatalf("dnstest: no UDP port whose TCP twin is free: %v", err)
		}
	}
	s.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	servers := []*dns.Server{{PacketConn: pc, Handler: h}}
	if ln != nil {
		servers = append(servers, &dns.Server{Listener: ln, Handler: h})
	}
	for _, srv := range servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return s
}

// Addr is the server's "127.0.0.1:PORT", for servers_from.resolver.
func (s *Server) Addr() string { return s.addr }

// Set replaces the records of name and type qtype with rrs, written in
// zone-file syntax ("chat. 5 A 10.0.0.1"); none makes an empty answer.
// Records after a "--" go to the additional section. It panics on a bad
// record, which is a bug in the test.
func (s *Server) Set(name string, qtype uint16, rrs ...string) {
	var answer, extra []dns.RR
	section := &answer
	for _, r := range rrs {
		if r == "--" {
			section = &extra
			continue
		}
		rr, err := dns.NewRR(r)
		if err != nil {
			panic("dnstest: " + err.Error())
		}
		*section = append(*section, rr)
	}
	k := key{dns.CanonicalName(name), qtype}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[k], s.extra[k] = answer, extra
}

// Rcode makes every query for name answer with rcode (dns.RcodeServerFailure,
// dns.RcodeNameError, ...); dns.RcodeSuccess answers from the table again.
// A name with no record answers NXDOMAIN anyway.
func (s *Server) Rcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[dns.CanonicalName(name)] = rcode
}

// Drop makes the server read queries and answer none, as a resolver that
// is down or unreachable.
func (s *Server) Drop(drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = drop
}

// TruncateUDP makes the server answer UDP queries with an empty, truncated
// reply, so that clients must ask again over TCP.
func (s *Server) TruncateUDP(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncUDP = on
}

// Served returns how many queries for name and qtype were answered.
func (s *Server) Served(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[key{dns.CanonicalName(name), qtype}]
}

// Received returns how many queries for name and qtype arrived, answered
// or dropped.
func (s *Server) Received(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[key{dns.CanonicalName(name), qtype}]
}

// WaitReceived waits until n queries for name and qtype have arrived;
// after timeout it fails the test.
func (s *Server) WaitReceived(t testing.TB, name string, qtype uint16, n int, timeout time.Duration) {
	t.Helper()
	k := key{dns.CanonicalName(name), qtype}
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, arrived := s.received[k], s.arrived
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("dnstest: %d queries for %s %s within %s; want %d", got, name, dns.TypeToString[qtype], timeout, n)
		}
	}
}

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg) {
	if len(q.Question) != 1 {
		return
	}
	k := key{dns.CanonicalName(q.Question[0].Name), q.Question[0].Qtype}
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	s.mu.Lock()
	s.received[k]++
	close(s.arrived)
	s.arrived = make(chan struct{})
	if s.drop {
		s.mu.Unlock()
		return
	}
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	switch rcode, forced := s.rcode[k.name]; {
	case udp && s.truncUDP:
		m.Truncated = true
	case forced && rcode != dns.RcodeSuccess:
		m.Rcode = rcode
	case !s.exists(k.name):
		m.Rcode = dns.RcodeNameError
	default:
		m.Answer = append(m.Answer, s.records[k]...)
		m.Extra = append(m.Extra, s.extra[k]...)
	}
	s.served[k]++
	s.mu.Unlock()
	w.WriteMsg(m)
}

// exists reports whether any record type was set for name; s.mu is held.
func (s *Server) exists(name string) bool {
	for k := range s.records {
		if strings.EqualFold(k.name, name) {
			return true
		}
	}
	return false
}
