package loadtest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gobwas/ws"

	"wsproxy/codec"
)

// The Reconnect workload is a storm of short wss:// connections, not a
// crowd of held ones, so it runs on goroutines with blocking I/O instead of
// the loops: at most reconnectParallel connections are in flight at once,
// each on a goroutine that owns it from the dial to the close.
//
// Each client has a TLS session cache of its own (one entry), as a
// browser or an app has for its server: its first connection is a full
// handshake, and each of its Config.Reconnects reconnections offers the
// session ticket the server sent on the previous one. Whether the server
// took it is tls.ConnectionState.DidResume. A connection is: dial from the
// client's source address, TLS handshake, WebSocket handshake, one
// verified echo, close (close_notify and FIN, no close frame: both phases
// pay the same).

// reconnectParallel bounds the connections in flight: enough to keep a
// proxy on a few cores busy, few enough that the server's accept queue is
// not what is measured.
const reconnectParallel = 128

// DefaultReconnects is Config.Reconnects' default.
const DefaultReconnects = 5

// reasonTLS is the failure reason of a TLS handshake that did not
// complete for another reason than a timeout or a reset.
const reasonTLS = "tls handshake"

// storm is one run of the Reconnect workload.
type storm struct {
	pl      *plan
	cfg     *Config
	clients []*tls.Config // each with its own session cache
	cnt     counters      // dialed, up and failed of both phases, for Progress
	reUp    atomic.Int64  // reconnections up
	reFail  atomic.Int64
	resumed atomic.Int64
}

// stormer is the state of one goroutine of a storm: its histograms and
// reasons, merged into the tally when it is done, and its random source.
type stormer struct {
	s                  *storm
	hs, first, again   *hdrhistogram.Histogram
	failReasons        map[string]int
	rng                *rand.Rand
	buf, frame, expect []byte
	resp               codec.Response
	accept             [32]byte
}

// runReconnect runs cfg (defaults applied, Workload Reconnect) in this
// process: every client's first connection, OnReady, then the
// reconnections. Its tally has no CPU time: the caller measures that.
func runReconnect(ctx context.Context, cfg *Config, start time.Time) (*tally, error) {
	pl, err := newPlan(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &storm{pl: pl, cfg: cfg, clients: make([]*tls.Config, cfg.Conns)}
	for i := range s.clients {
		c := pl.tls.Clone()
		c.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		s.clients[i] = c
	}
	var ph atomic.Int32
	stop := startProgress(cfg.Progress, func() Snapshot {
		sn := Snapshot{Elapsed: time.Since(start), Phase: phase(ph.Load()).String(),
			Dialed: int(s.cnt.dialed.Load()), Up: int(s.cnt.up.Load()), Failed: int(s.cnt.failed.Load())}
		return sn
	})
	defer stop()

	workers := make([]*stormer, min(cfg.Conns, reconnectParallel))
	for i := range workers {
		workers[i] = s.newStormer()
	}
	up := make([][]bool, len(workers)) // up[w][k]: worker w's k-th client came up
	s.each(workers, func(w int, st *stormer) {
		for i := w; i < cfg.Conns && ctx.Err() == nil; i += len(workers) {
			ok := st.connect(ctx, i, false)
			up[w] = append(up[w], ok)
		}
	})
	t := newTally()
	t.Ramp = time.Since(start)
	if ctx.Err() == nil && cfg.OnReady != nil {
		cfg.OnReady(int(s.cnt.up.Load()))
	}
	ph.Store(int32(phaseRun))
	runStart := time.Now()
	s.each(workers, func(w int, st *stormer) {
		for range cfg.Reconnects {
			for k, i := 0, w; k < len(up[w]) && ctx.Err() == nil; k, i = k+1, i+len(workers) {
				if up[w][k] {
					st.connect(ctx, i, true)
				}
			}
		}
	})
	t.Elapsed = time.Since(runStart)
	if cfg.OnRunEnd != nil {
		cfg.OnRunEnd()
	}
	ph.Store(int32(phaseDone))
	t.Dialed = int(s.cnt.dialed.Load())
	t.Up = int(s.cnt.up.Load() - s.reUp.Load())
	t.Failed = int(s.cnt.failed.Load() - s.reFail.Load())
	t.Reconnected, t.ReconnectFailed, t.Resumed = int(s.reUp.Load()), int(s.reFail.Load()), int(s.resumed.Load())
	for _, st := range workers {
		t.Handshake.Merge(st.hs)
		t.FirstEcho.Merge(st.first)
		t.Reconnect.Merge(st.again)
		addCounts(t.FailReasons, st.failReasons)
	}
	return t, ctx.Err()
}

// each runs fn on a goroutine per stormer and waits for them all.
func (s *storm) each(workers []*stormer, fn func(w int, st *stormer)) {
	var wg sync.WaitGroup
	for w, st := range workers {
		wg.Go(func() { fn(w, st) })
	}
	wg.Wait()
}

func (s *storm) newStormer() *stormer {
	var seed [32]byte
	crand.Read(seed[:])
	return &stormer{
		s: s, hs: newHist(), first: newHist(), again: newHist(), failReasons: map[string]int{},
		rng: rand.New(rand.NewChaCha8(seed)), buf: make([]byte, maxRespHead),
	}
}

// connect makes one connection of client i, a reconnection if again, and
// counts it; it reports whether the connection came up.
func (st *stormer) connect(ctx context.Context, i int, again bool) bool {
	s := st.s
	s.cnt.dialed.Add(1)
	resumed, why := st.dial(ctx, i, again)
	if why != "" {
		s.cnt.failed.Add(1)
		if again {
			s.reFail.Add(1)
		}
		st.failReasons[why]++
		return false
	}
	s.cnt.up.Add(1)
	if again {
		s.reUp.Add(1)
		if resumed {
			s.resumed.Add(1)
		}
	}
	return true
}

// dial runs one connection of client i from dial to close. It returns
// whether the TLS session was resumed, or why the connection failed.
func (st *stormer) dial(ctx context.Context, i int, again bool) (resumed bool, why string) {
	s := st.s
	timeout := time.Duration(s.pl.timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	if src := s.cfg.Sources; len(src) > 0 {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src[i%len(src)], 0))
	}
	begin := time.Now()
	raw, err := d.DialContext(ctx, "tcp", s.pl.addr.String())
	if err != nil {
		return false, failure(err)
	}
	tc := tls.Client(raw, s.clients[i])
	defer tc.Close()
	if dl, ok := ctx.Deadline(); ok {
		tc.SetDeadline(dl)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		if why := failure(err); why != err.Error() {
			return false, why
		}
		return false, reasonTLS
	}
	rest, why := st.upgrade(tc)
	if why != "" {
		return false, why
	}
	h := st.hs
	if again {
		h = st.again
	}
	record(h, int64(time.Since(begin)))
	echoAt := time.Now()
	if why := st.echo(tc, rest); why != "" {
		return false, why
	}
	if !again {
		record(st.first, int64(time.Since(echoAt)))
	}
	return tc.ConnectionState().DidResume, ""
}

// upgrade sends the WebSocket handshake request on c and checks the
// response head; it returns the bytes read after the head (frames).
func (st *stormer) upgrade(c net.Conn) (rest []byte, why string) {
	var raw [16]byte
	var key [24]byte
	for j := range raw {
		raw[j] = byte(st.rng.Uint32())
	}
	base64.StdEncoding.Encode(key[:], raw[:])
	req := append(append(append(st.buf[:0], st.s.pl.request...), key[:]...), crlf2...)
	if _, err := c.Write(req); err != nil {
		return nil, failure(err)
	}
	n := 0
	for {
		m, err := c.Read(st.buf[n:])
		n += m
		head, perr := codec.ParseResponse(st.buf[:n], &st.resp)
		switch {
		case perr == nil:
			r := &st.resp
			switch {
			case r.Status != 101:
				return nil, statusReason(r.Status)
			case !r.Upgrade:
				return nil, reasonNoUpgrade
			case string(r.WSAccept) != string(codec.AppendAcceptKey(st.accept[:0], key[:])):
				return nil, reasonBadAccept
			}
			return st.buf[head:n], ""
		case !errors.Is(perr, codec.ErrShort) || n == len(st.buf):
			return nil, reasonBadReply
		case err != nil:
			return nil, failure(err)
		}
	}
}

// echo sends one masked binary message of the configured size and checks
// that the same payload comes back in one unmasked frame; rest holds bytes
// already read after the handshake.
func (st *stormer) echo(c net.Conn, rest []byte) string {
	size := int(st.s.pl.size)
	if cap(st.expect) < size {
		st.expect, st.frame = make([]byte, size), make([]byte, size)
	}
	st.expect, st.frame = st.expect[:size], st.frame[:size]
	fillPayload(st.expect, st.rng.Uint64(), 0)
	var out bytes.Buffer
	mask := ws.NewMask()
	ws.WriteHeader(&out, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: int64(size)})
	copy(st.frame, st.expect)
	ws.Cipher(st.frame, mask, 0)
	out.Write(st.frame)
	if _, err := c.Write(out.Bytes()); err != nil {
		return failure(err)
	}
	r := io.MultiReader(bytes.NewReader(rest), c)
	h, err := ws.ReadHeader(r)
	if err != nil {
		return failure(err)
	}
	if !h.Fin || h.OpCode != ws.OpBinary || h.Masked || h.Length != int64(size) {
		return reasonBadEcho
	}
	if _, err := io.ReadFull(r, st.frame); err != nil {
		return failure(err)
	}
	if !bytes.Equal(st.frame, st.expect) {
		return reasonBadEcho
	}
	return ""
}

// failure names an error of a blocking connection as reason names a
// socket error: a timeout, an end of stream, or the errno's name.
func failure(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout():
		return reasonTimeout
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return reasonClosed
	case errors.Is(err, context.Canceled):
		return reasonCanceled
	}
	return reason(err)
}
