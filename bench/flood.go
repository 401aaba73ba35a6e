package bench

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// wsGUID is the constant of RFC 6455 §1.3 hashed into Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// sink is a WebSocket backend that completes the handshake and then never
// reads again: whatever a client sends piles up in front of it, first in
// the kernel's socket buffers and then, unless the proxy stops reading, in
// the proxy.
type sink struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// newSink listens on a free loopback port.
func newSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: sink: %w", err)
	}
	s := &sink{ln: ln}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// addr is the sink's "127.0.0.1:PORT".
func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// Answer the handshake, then never read: the connection stays
			// open until close.
			if head, err := readHead(c, nil); err == nil {
				c.Write(acceptResponse(head))
			}
		}()
	}
}

// close stops listening and closes every connection.
func (s *sink) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// readHead reads up to the end of an HTTP head (CRLFCRLF) in small steps,
// so that little beyond the head is consumed. It returns the head's text.
func readHead(c net.Conn, deadline *time.Time) (string, error) {
	if deadline != nil {
		c.SetReadDeadline(*deadline)
		defer c.SetReadDeadline(time.Time{})
	}
	var head []byte
	buf := make([]byte, 256)
	for !bytes.Contains(head, []byte("\r\n\r\n")) {
		if len(head) > 16<<10 {
			return "", errors.New("bench: HTTP head over 16 KiB")
		}
		n, err := c.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			return string(head), err
		}
	}
	return string(head), nil
}

// acceptResponse is the 101 answer to the WebSocket handshake in head.
func acceptResponse(head string) []byte {
	var key string
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Sec-WebSocket-Key") {
			key = strings.TrimSpace(v)
		}
	}
	h := sha1.Sum([]byte(key + wsGUID))
	return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
}

// floodFrameSize is the payload of each frame the flood client sends.
const floodFrameSize = 16 << 10

// floodClient opens one WebSocket through the proxy at addr and writes
// masked binary frames as fast as the connection takes them, until d has
// passed or ctx ends. It returns how many bytes the kernel accepted, and
// tells onPush the running total after each write.
func floodClient(ctx context.Context, addr string, src netip.Addr, d time.Duration, onPush func(int64)) (int64, error) {
	dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("bench: flood: %w", err)
	}
	defer c.Close()
	req := "GET " + servicePath + "/flood HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return 0, fmt.Errorf("bench: flood: handshake: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	head, err := readHead(c, &deadline)
	if err != nil {
		return 0, fmt.Errorf("bench: flood: handshake answer: %w", err)
	}
	if !strings.HasPrefix(head, "HTTP/1.1 101") {
		return 0, fmt.Errorf("bench: flood: handshake answered %q", lastLine(strings.SplitN(head, "\r\n", 2)[0]))
	}

	frame := maskedFrame(floodFrameSize)
	var pushed int64
	off := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		// Short deadlines keep the loop responsive once writes block.
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Write(frame[off:])
		pushed += int64(n)
		off = (off + n) % len(frame)
		onPush(pushed)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return pushed, fmt.Errorf("bench: flood: after %d bytes: %w", pushed, err)
		}
	}
	return pushed, nil
}

// maskedFrame is a client-to-server binary frame (FIN set) with a payload of
// n bytes, masked as RFC 6455 §5.3 requires. n must be below 65536.
func maskedFrame(n int) []byte {
	mask := [4]byte{0x1f, 0x2e, 0x3d, 0x4c}
	f := []byte{0x82, 0x80 | 126, byte(n >> 8), byte(n), mask[0], mask[1], mask[2], mask[3]}
	for i := range n {
		f = append(f, byte(i)^mask[i%4])
	}
	return f
}
