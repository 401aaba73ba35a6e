package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// wss:// is carried by a bridge: the event loop drives one end of a unix
// socket pair exactly as it drives a ws:// TCP socket, and a goroutine per
// connection dials TCP, runs the crypto/tls handshake and copies between
// the TLS connection and the pair's other end. This costs two goroutines
// and three descriptors per connection (so a process holds at most
// DefaultMaxPerProcessTLS), which is acceptable in a load generator; the
// proxy itself keeps TLS on its loops.

// DefaultMaxPerProcessTLS is MaxPerProcess's default for wss:// URLs.
const DefaultMaxPerProcessTLS = 6000

// tlsConfig builds the client TLS configuration of a wss:// run.
func tlsConfig(cfg *Config, serverName string) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         serverName,
		NextProtos:         []string{"http/1.1"},
		InsecureSkipVerify: cfg.Insecure,
		MinVersion:         tls.VersionTLS12,
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CAFile: %v", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CAFile: no PEM certificate in %s", ErrConfig, cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dialTLS starts a wss:// connection and returns the loop's end of the
// bridge: non-blocking, close-on-exec, connected at once. A failed dial or
// handshake shows up on it as end of stream before any handshake response.
func dialTLS(pl *plan, laddr netip.AddrPort) (int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, os.NewSyscallError("socketpair", err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return -1, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fds[1]), "wss-bridge")
	go bridge(pl, laddr, f)
	return fds[0], nil
}

// bridge runs one wss:// connection's TLS side until either end closes.
func bridge(pl *plan, laddr netip.AddrPort, f *os.File) {
	local, err := net.FileConn(f) // dups the descriptor
	f.Close()
	if err != nil {
		return
	}
	defer local.Close()
	d := net.Dialer{Timeout: time.Duration(pl.timeout)}
	if laddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: laddr.Addr().AsSlice()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(pl.timeout))
	defer cancel()
	raw, err := d.DialContext(ctx, "tcp", pl.addr.String())
	if err != nil {
		return
	}
	tc := tls.Client(raw, pl.tls)
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(tc, local) // the loop's bytes out
		tc.CloseWrite()
	}()
	if _, err := io.Copy(local, tc); err != nil && !errors.Is(err, net.ErrClosed) {
		local.Close()
	}
	if uc, ok := local.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	wg.Wait()
}
