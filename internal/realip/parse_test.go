package realip

import (
	"net/netip"
	"testing"
)

// addrCases are inputs on which parseAddr must agree with netip.ParseAddr;
// they seed FuzzParseAddr too.
var addrCases = []string{
	"1.2.3.4", "0.0.0.0", "255.255.255.255", "198.51.100.4",
	"1.2.3.04", "1.2.3.256", "1.2.3", "1.2.3.4.5", ".1.2.3", "1.2.3.", "1..2.3", "1.2.3.4x", "01.2.3.4", "0.0.0.00",
	"::", "::1", "1::", "2001:db8::68", "2001:DB8:0:0:8:800:200C:417A", "fe80::1:2:3:4:5:6:7",
	"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7:8",
	"::ffff:1.2.3.4", "::ffff:1.2.3.04", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5",
	"12345::", "1:::2", "1::2::3", ":1::", "1:", ":", "::%eth0", "fe80::1%eth0", "fe80::1%", "%eth0",
	"", "unknown", "1.2.3.4:80", "[::1]", " 1.2.3.4", "g::",
}

func TestParseAddr(t *testing.T) {
	for _, s := range addrCases {
		t.Run(s, func(t *testing.T) { checkParseAddr(t, s) })
	}
}

func checkParseAddr(t *testing.T, s string) {
	want, err := netip.ParseAddr(s)
	got, ok := parseAddr([]byte(s))
	if ok != (err == nil) || got != want {
		t.Errorf("parseAddr(%q) = %v, %v; want %v, %v (netip.ParseAddr: %v)", s, got, ok, want, err == nil, err)
	}
}

// FuzzParseAddr checks parseAddr against netip.ParseAddr.
func FuzzParseAddr(f *testing.F) {
	for _, s := range addrCases {
		f.Add(s)
	}
	f.Fuzz(checkParseAddr)
}
