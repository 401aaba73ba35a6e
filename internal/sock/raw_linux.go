package sock

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// acceptAddr and connectAddr go through RawSyscall (rw_linux.go says why).

// acceptAddr is accept4 with the peer address decoded straight from the
// kernel's sockaddr: unlike unix.Accept4 it allocates nothing, which keeps
// a burst of accepts from growing the heap.
func acceptAddr(lfd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, e
	}
	return int(fd), rawAddrPort(&rsa), nil
}

func rawAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), ntohs(p.Port))
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), ntohs(p.Port))
	}
	return netip.AddrPort{}
}

func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// connectAddr starts connect(2) to ap without allocating a unix.Sockaddr.
func connectAddr(fd int, ap netip.AddrPort) error {
	var (
		ptr unsafe.Pointer
		n   uintptr
		s4  unix.RawSockaddrInet4
		s6  unix.RawSockaddrInet6
	)
	port := ap.Port()
	pb := [2]byte{byte(port >> 8), byte(port)}
	if a := ap.Addr(); a.Is4() {
		s4.Family = unix.AF_INET
		s4.Port = *(*uint16)(unsafe.Pointer(&pb))
		s4.Addr = a.As4()
		ptr, n = unsafe.Pointer(&s4), unix.SizeofSockaddrInet4
	} else {
		s6.Family = unix.AF_INET6
		s6.Port = *(*uint16)(unsafe.Pointer(&pb))
		s6.Addr = a.As16()
		ptr, n = unsafe.Pointer(&s6), unix.SizeofSockaddrInet6
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(ptr), n)
	if e != 0 {
		return e
	}
	return nil
}

func acceptOne(lfd int) (int, netip.AddrPort, error) { return acceptAddr(lfd) }

func connectTo(fd int, ap netip.AddrPort) error { return connectAddr(fd, ap) }
