// Package sock wraps the non-blocking TCP socket system calls the event
// loops need: listening with SO_REUSEPORT, accepting, and dialling with an
// optional local address. It works on raw descriptors (ints) so that they
// can be registered with the poller directly; nothing here blocks.
//
// Every descriptor returned is non-blocking and close-on-exec. Errors from
// system calls are wrapped with os.NewSyscallError, except the would-block
// unix.EAGAIN from Accept, which is returned bare because the accept loop
// sees it on every round; errors.Is works either way.
package sock

import (
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// listenBacklog is the accept queue length asked for; the kernel clamps it
// to its own limit (net.core.somaxconn, kern.ipc.somaxconn).
const listenBacklog = 4096

// Listen opens a TCP listener on addr, "host:port" with a literal IPv4 or
// IPv6 host (an empty host means 0.0.0.0; port 0 picks a free port), and
// returns it with the address actually bound. SO_REUSEADDR is always set;
// with reusePort, SO_REUSEPORT (SO_REUSEPORT_LB on FreeBSD) lets one
// listener per event loop share the port, the kernel spreading connections.
func Listen(addr string, reusePort bool) (fd int, bound netip.AddrPort, err error) {
	ap, err := parseAddrPort(addr)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	sa, domain, err := sockaddr(ap)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	fd, err = socket(domain)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if err = setInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return
	}
	if reusePort {
		if err = setInt(fd, unix.SOL_SOCKET, optReusePort, 1); err != nil {
			return
		}
	}
	if err = unix.Bind(fd, sa); err != nil {
		err = os.NewSyscallError("bind", err)
		return
	}
	if err = unix.Listen(fd, listenBacklog); err != nil {
		err = os.NewSyscallError("listen", err)
		return
	}
	bound, err = LocalAddr(fd)
	return
}

// Accept takes one pending connection from the listener lfd. When none is
// pending it returns the bare unix.EAGAIN. Connections aborted before they
// were accepted are skipped.
func Accept(lfd int) (fd int, peer netip.AddrPort, err error) {
	for {
		fd, peer, err := acceptOne(lfd)
		switch err {
		case nil:
			return fd, peer, nil
		case unix.EAGAIN:
			return -1, netip.AddrPort{}, unix.EAGAIN
		case unix.EINTR, unix.ECONNABORTED:
			continue
		}
		return -1, netip.AddrPort{}, os.NewSyscallError("accept", err)
	}
}

// Connect starts a non-blocking connection to raddr with TCP_NODELAY set.
// If laddr is valid the socket is first bound to it (port 0: any port),
// which lets a load generator dial from several loopback addresses. The
// connection is usually still in progress on return: wait for Writable,
// then check ConnectError.
func Connect(raddr, laddr netip.AddrPort) (fd int, err error) {
	return ConnectWith(raddr, laddr, Buffers{})
}

// Buffers bound a socket's kernel buffers; zero leaves each to the kernel.
type Buffers struct {
	// Rcv and Snd fix SO_RCVBUF and SO_SNDBUF (no autotuning).
	Rcv, Snd int
	// NotSent is TCP_NOTSENT_LOWAT: the socket takes no more writes while
	// this many bytes it holds are not sent yet (a peer that stops reading
	// closes its window, and then nothing is sent), and reports writable
	// again below half of it. Unlike Snd it leaves autotuning what is in
	// flight. Ignored where the system lacks it (the BSDs but macOS).
	NotSent int
}

// SetBuffers applies b's non-zero settings to fd. On a listening socket
// they pass to every connection it accepts; on a socket about to connect
// Rcv sizes the window it offers in its SYN.
func SetBuffers(fd int, b Buffers) error {
	if b.NotSent > 0 && optNotSentLowat != 0 {
		if err := setInt(fd, unix.IPPROTO_TCP, optNotSentLowat, b.NotSent); err != nil {
			return err
		}
	}
	if b.Rcv > 0 {
		if err := setInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, b.Rcv); err != nil {
			return err
		}
	}
	if b.Snd > 0 {
		return setInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, b.Snd)
	}
	return nil
}

// ConnectWith is Connect with the socket's buffers set by SetBuffers
// before the connect.
func ConnectWith(raddr, laddr netip.AddrPort, b Buffers) (fd int, err error) {
	raddr = netip.AddrPortFrom(raddr.Addr().Unmap(), raddr.Port())
	if !raddr.Addr().IsValid() {
		return -1, &net.AddrError{Err: "invalid address", Addr: raddr.String()}
	}
	domain := unix.AF_INET6
	if raddr.Addr().Is4() {
		domain = unix.AF_INET
	}
	fd, err = socket(domain)
	if err != nil {
		return -1, err
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if laddr.IsValid() {
		laddr = netip.AddrPortFrom(laddr.Addr().Unmap(), laddr.Port())
		lsa, ldomain, err := sockaddr(laddr)
		if err != nil {
			return -1, err
		}
		if ldomain != domain {
			return -1, &net.AddrError{Err: "local and remote address families differ", Addr: laddr.String()}
		}
		if laddr.Port() == 0 {
			bindNoPort(fd)
		}
		if err = unix.Bind(fd, lsa); err != nil {
			return -1, os.NewSyscallError("bind", err)
		}
	}
	if err = SetNoDelay(fd); err != nil {
		return -1, err
	}
	if err = SetBuffers(fd, b); err != nil {
		return -1, err
	}
	switch err = connectTo(fd, raddr); err {
	case nil, unix.EINPROGRESS, unix.EINTR: // EINTR: the connect goes on.
		return fd, nil
	}
	return -1, os.NewSyscallError("connect", err)
}

// ConnectError returns the outcome of a non-blocking Connect once fd has
// been reported writable: nil on success, else the pending socket error
// (SO_ERROR) as an *os.SyscallError, for example ECONNREFUSED.
func ConnectError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return os.NewSyscallError("connect", unix.Errno(v))
	}
	return nil
}

// SetNoDelay disables Nagle's algorithm on fd, as a proxy forwards small
// frames that must not wait for more data.
func SetNoDelay(fd int) error {
	return setInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
}

// LocalAddr returns the address fd is bound to.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, os.NewSyscallError("getsockname", err)
	}
	return addrPort(sa), nil
}

// PeerAddr returns the address of the peer fd is connected to.
func PeerAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}, os.NewSyscallError("getpeername", err)
	}
	return addrPort(sa), nil
}

func setInt(fd, level, opt, v int) error {
	if err := setsockoptInt(fd, level, opt, v); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// parseAddrPort parses "host:port" with a literal IP host; hostnames are
// not resolved here because this layer must not block.
func parseAddrPort(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: addr}
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, &net.AddrError{Err: "host is not an IP address", Addr: addr}
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// sockaddr converts ap to a unix.Sockaddr and its address family.
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, int, error) {
	ip := ap.Addr()
	switch {
	case ip.Is4():
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}, unix.AF_INET, nil
	case ip.Is6():
		sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			if n, err := strconv.ParseUint(z, 10, 32); err == nil {
				sa.ZoneId = uint32(n)
			} else if ifi, err := net.InterfaceByName(z); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			} else {
				return nil, 0, &net.AddrError{Err: "unknown zone", Addr: ap.String()}
			}
		}
		return sa, unix.AF_INET6, nil
	}
	return nil, 0, &net.AddrError{Err: "invalid IP address", Addr: ap.String()}
}

// addrPort converts a socket address, unmapping IPv4-mapped IPv6 peers of a
// dual-stack listener so that logs and balancing keys see plain IPv4.
func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(sa.Addr)
		if ip.Is4In6() {
			ip = ip.Unmap()
		} else if sa.ZoneId != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(sa.ZoneId), 10))
		}
		return netip.AddrPortFrom(ip, uint16(sa.Port))
	}
	return netip.AddrPort{}
}
