package sock_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// TestNotSentLowat: Buffers.NotSent set on a listener passes to the sockets
// it accepts, and ConnectWith sets it on the connecting socket; zero leaves
// the socket's own value unset (0: the tcp_notsent_lowat sysctl applies).
func TestNotSentLowat(t *testing.T) {
	tests := []struct {
		name              string
		listener, connect int
	}{
		{"both", 64 << 10, 32 << 10},
		{"listener only", 16 << 10, 0},
		{"neither", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := pairWith(t, sock.Buffers{NotSent: tt.listener}, sock.Buffers{NotSent: tt.connect})
			for _, s := range []struct {
				side     string
				fd, want int
			}{{"accepted", server, tt.listener}, {"connecting", client, tt.connect}} {
				got, err := unix.GetsockoptInt(s.fd, unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
				if err != nil {
					t.Fatal(err)
				}
				if got != s.want {
					t.Errorf("%s: TCP_NOTSENT_LOWAT = %d; want %d", s.side, got, s.want)
				}
			}
		})
	}
}
