package master

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Spec is what every worker of one generation serves. The master writes it
// to an unlinked temporary file that each worker inherits as descriptor
// specFD; workers read it with pread, so they do not share a file offset.
type Spec struct {
	// Name and Data are the configuration file's name and contents (see
	// Source). Nil Data: the workers build the configuration from flags.
	Name string `json:"name,omitempty"`
	Data []byte `json:"data,omitempty"`

	// Listen holds the address of every configured listener, in config
	// order, with port 0 replaced by the port the master reserved, so that
	// all workers, of this generation and the next, share one port.
	Listen []string `json:"listen"`

	// Workers is the number of workers in the generation.
	Workers int `json:"workers"`

	// SidTable says that the workers inherit the master's shared sid
	// table as descriptor sidFD (see sidtable.go).
	SidTable bool `json:"sid_table,omitempty"`

	// TicketSecret is the secret the workers derive their TLS
	// session-ticket keys from (core.Options.TicketSecret): the master
	// makes it once, at start, and every worker of every generation gets
	// the same, so a client resumes its session on any worker, before and
	// after a reload. The spec file is private to the master and its
	// workers (mode 0600, unlinked).
	TicketSecret []byte `json:"ticket_secret,omitempty"`

	// keys name the port reservations the generation uses.
	keys []string
}

// maxSpec bounds the size of a spec a worker accepts, in bytes.
const maxSpec = 64 << 20

// specFor builds the Spec of a new generation from src, reserving a port
// for each listener configured with port 0. A listener whose index and
// address are the same as in the previous configuration keeps its port.
func (m *Master) specFor(src Source) (Spec, error) {
	sp := Spec{Name: src.Name, Data: src.Data, Workers: m.cfg.Workers, TicketSecret: m.ticketSecret}
	if sp.Workers <= 0 {
		sp.Workers = max(src.Config.Workers, 1)
	}
	for i, ln := range src.Config.Listen {
		addr := ln.Addr
		if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
			key := fmt.Sprintf("%d %s", i, addr)
			r := m.ports[key]
			if r == nil {
				if r, err = reserve(addr); err != nil {
					return Spec{}, fmt.Errorf("listen[%d]: reserve a port for %s: %w", i, addr, err)
				}
				m.ports[key] = r
			}
			sp.keys = append(sp.keys, key)
			addr = r.addr.String()
		}
		sp.Listen = append(sp.Listen, addr)
	}
	return sp, nil
}

// file writes the spec to an unlinked temporary file, ready to be inherited.
func (sp Spec) file() (*os.File, error) {
	b, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "wsproxy-spec-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readSpec reads the spec a master left in f.
func readSpec(f *os.File) (Spec, error) {
	fi, err := f.Stat()
	if err != nil {
		return Spec{}, err
	}
	if fi.Size() > maxSpec {
		return Spec{}, fmt.Errorf("spec of %d bytes is over the %d-byte limit", fi.Size(), maxSpec)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return Spec{}, err
	}
	var sp Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return Spec{}, fmt.Errorf("decode spec: %w", err)
	}
	return sp, nil
}

// reservation holds a port for a listener configured with port 0: a TCP
// socket bound with SO_REUSEPORT that never listens. The kernel gives it no
// connections, but while it is open the port stays taken, so workers (which
// bind with SO_REUSEPORT too) can join it whenever they start.
type reservation struct {
	fd   int
	addr netip.AddrPort
}

// reserve binds a reservation socket to addr ("host:0").
func reserve(addr string) (*reservation, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return nil, err
		}
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: ip.Unmap().As4()}
	domain := unix.AF_INET
	if ip.Is6() && !ip.Is4In6() {
		sa, domain = &unix.SockaddrInet6{Addr: ip.As16()}, unix.AF_INET6
	}
	// SOCK_CLOEXEC is Linux-only; ForkLock keeps a concurrent fork from
	// inheriting the descriptor before it is marked close-on-exec.
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	r := &reservation{fd: fd}
	switch b := bound.(type) {
	case *unix.SockaddrInet4:
		r.addr = netip.AddrPortFrom(netip.AddrFrom4(b.Addr), uint16(b.Port))
	case *unix.SockaddrInet6:
		r.addr = netip.AddrPortFrom(netip.AddrFrom16(b.Addr), uint16(b.Port))
	}
	return r, nil
}

// prunePorts closes the reservations and listening sockets neither the
// serving nor the starting generation uses. Workers of older generations
// keep their copies of the sockets until they stop accepting.
func (m *Master) prunePorts() {
	m.pruneSockets()
	used := make(map[string]bool)
	for _, g := range []*generation{m.cur, m.next} {
		if g != nil {
			for _, k := range g.spec.keys {
				used[k] = true
			}
		}
	}
	for k, r := range m.ports {
		if !used[k] {
			unix.Close(r.fd)
			delete(m.ports, k)
		}
	}
}

// closePorts closes every reservation.
func (m *Master) closePorts() {
	m.cur, m.next = nil, nil
	m.prunePorts()
}
