package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
)

// PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the
// header an L4 balancer puts in front of a connection to pass on the
// client's address.

// Errors of ParseProxyHeader.
var (
	ErrNotProxy   = errors.New("codec: no PROXY protocol header")
	ErrBadProxyV1 = errors.New("codec: malformed PROXY protocol v1 header")
	ErrBadProxyV2 = errors.New("codec: malformed PROXY protocol v2 header")
)

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// maxProxyV1 is the longest v1 line, CRLF included.
const maxProxyV1 = 107

// ParseProxyHeader parses a PROXY protocol header at the start of buf. It
// returns the header's length and the source and destination it names;
// both are the zero AddrPort for "PROXY UNKNOWN" and v2 LOCAL (health checks
// of the balancer itself), when the socket's own addresses apply. ErrShort
// means more bytes are needed; ErrNotProxy that buf does not start with
// either signature. v2 does not allocate; v1 allocates its two addresses.
func ParseProxyHeader(buf []byte) (n int, src, dst netip.AddrPort, err error) {
	switch {
	case len(buf) >= 1 && buf[0] == 'P':
		return parseProxyV1(buf)
	case len(buf) >= 1 && buf[0] == '\r':
		return parseProxyV2(buf)
	}
	if len(buf) == 0 {
		return 0, src, dst, ErrShort
	}
	return 0, src, dst, ErrNotProxy
}

func parseProxyV1(buf []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	var zero netip.AddrPort
	const sig = "PROXY "
	if len(buf) < len(sig) {
		if string(buf) != sig[:len(buf)] {
			return 0, zero, zero, ErrNotProxy
		}
		return 0, zero, zero, ErrShort
	}
	if string(buf[:len(sig)]) != sig {
		return 0, zero, zero, ErrNotProxy
	}
	end := bytes.Index(buf[:min(len(buf), maxProxyV1)], []byte("\r\n"))
	if end < 0 {
		if len(buf) >= maxProxyV1 {
			return 0, zero, zero, ErrBadProxyV1
		}
		return 0, zero, zero, ErrShort
	}
	line := buf[len(sig):end]
	n := end + 2
	if string(line) == "UNKNOWN" || bytes.HasPrefix(line, []byte("UNKNOWN ")) {
		return n, zero, zero, nil
	}
	var f [5][]byte
	for i := range f {
		j := bytes.IndexByte(line, ' ')
		if i == 4 {
			j = len(line)
		}
		if j <= 0 {
			return 0, zero, zero, ErrBadProxyV1
		}
		f[i], line = line[:j], line[min(j+1, len(line)):]
	}
	if string(f[0]) != "TCP4" && string(f[0]) != "TCP6" {
		return 0, zero, zero, ErrBadProxyV1
	}
	sa, err1 := netip.ParseAddr(string(f[1]))
	da, err2 := netip.ParseAddr(string(f[2]))
	sp, ok1 := parsePort(f[3])
	dp, ok2 := parsePort(f[4])
	if err1 != nil || err2 != nil || !ok1 || !ok2 || sa.Is4() != (string(f[0]) == "TCP4") || da.Is4() != sa.Is4() {
		return 0, zero, zero, ErrBadProxyV1
	}
	return n, netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp), nil
}

func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return uint16(v), v <= 65535
}

func parseProxyV2(buf []byte) (int, netip.AddrPort, netip.AddrPort, error) {
	var zero netip.AddrPort
	k := min(len(buf), len(proxyV2Sig))
	if !bytes.Equal(buf[:k], proxyV2Sig[:k]) {
		return 0, zero, zero, ErrNotProxy
	}
	if len(buf) < 16 {
		return 0, zero, zero, ErrShort
	}
	verCmd, fam := buf[12], buf[13]
	size := int(binary.BigEndian.Uint16(buf[14:16]))
	n := 16 + size
	if verCmd>>4 != 2 || verCmd&0xf > 1 {
		return 0, zero, zero, ErrBadProxyV2
	}
	if len(buf) < n {
		return 0, zero, zero, ErrShort
	}
	if verCmd&0xf == 0 { // LOCAL
		return n, zero, zero, nil
	}
	p := buf[16:n]
	switch fam {
	case 0x11: // TCP over IPv4
		if len(p) < 12 {
			return 0, zero, zero, ErrBadProxyV2
		}
		sa := netip.AddrFrom4([4]byte(p[0:4]))
		da := netip.AddrFrom4([4]byte(p[4:8]))
		return n, netip.AddrPortFrom(sa, binary.BigEndian.Uint16(p[8:10])), netip.AddrPortFrom(da, binary.BigEndian.Uint16(p[10:12])), nil
	case 0x21: // TCP over IPv6
		if len(p) < 36 {
			return 0, zero, zero, ErrBadProxyV2
		}
		sa := netip.AddrFrom16([16]byte(p[0:16])).Unmap()
		da := netip.AddrFrom16([16]byte(p[16:32])).Unmap()
		return n, netip.AddrPortFrom(sa, binary.BigEndian.Uint16(p[32:34])), netip.AddrPortFrom(da, binary.BigEndian.Uint16(p[34:36])), nil
	case 0x00: // UNSPEC
		return n, zero, zero, nil
	}
	return 0, zero, zero, ErrBadProxyV2
}
