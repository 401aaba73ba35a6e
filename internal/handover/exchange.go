package handover

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Source is the sending process's proxy (core.Server).
type Source interface {
	// ExportTunnels takes up to max tunnels that stand at a frame boundary
	// in both directions with nothing queued out of their loops: their
	// descriptors are no longer polled, and the caller owns them. waiting
	// counts the tunnels that could move but cannot now (inside a frame,
	// output queued, a handshake about to become a tunnel), or that max
	// left out.
	ExportTunnels(max int) (ts []Tunnel, waiting int)

	// ImportTunnels takes tunnels into the process's loops; here, the ones
	// the receiver did not take back.
	ImportTunnels(ts []Tunnel) int
}

// Sink is the receiving process's proxy (core.Server).
type Sink interface {
	// ImportTunnels takes ts into the loops and owns their descriptors
	// from then on; a tunnel it cannot register is closed (and logged).
	ImportTunnels(ts []Tunnel) int
}

// Sent is what Send did.
type Sent struct {
	HandedOver int `json:"handed_over"` // tunnels the receiver took
	Refused    int `json:"refused"`     // tunnels it gave back: it was at its descriptor limit
	Waiting    int `json:"waiting"`     // tunnels not at a frame boundary (or with output queued) when the window ended
}

// retryEvery is how long Send waits before it looks again for tunnels that
// were inside a frame or had output queued.
const retryEvery = 5 * time.Millisecond

// Send hands src's tunnels to the receiver at the other end of c, batch by
// batch, until none is left that could move, the receiver refuses (its
// descriptor limit), or window has passed; then it tells the receiver it
// is done. A tunnel inside a frame, or with output queued, goes once it
// reaches a boundary with nothing queued, if it does within window.
//
// The sender keeps its copies of a batch's descriptors until the receiver
// acknowledged the batch: the tunnels it did not take, and the whole batch
// if the receiver fails before answering, go back into src's loops. Send
// returns an error only for a failed connection; Sent counts what moved
// before.
func Send(c *Conn, src Source, window time.Duration) (Sent, error) {
	var res Sent
	deadline := time.Now().Add(window)
	for {
		ts, waiting := src.ExportTunnels(MaxBatch)
		if len(ts) == 0 {
			if waiting == 0 || !time.Now().Before(deadline) {
				res.Waiting = waiting
				break
			}
			time.Sleep(retryEvery)
			continue
		}
		taken, err := c.deliver(ts)
		res.HandedOver += taken
		if taken < len(ts) {
			src.ImportTunnels(ts[taken:])
			if err != nil {
				return res, err
			}
			res.Refused += len(ts) - taken
			res.Waiting = waiting
			break
		}
	}
	return res, c.send(msgEnd, 0)
}

// deliver sends ts in as many messages as needed and returns how many the
// receiver took. The descriptors of those are closed (the receiver has its
// own); the caller keeps the rest.
func (c *Conn) deliver(ts []Tunnel) (int, error) {
	taken := 0
	for taken < len(ts) {
		n, err := c.sendBatch(ts[taken:])
		if err != nil {
			return taken, err
		}
		kind, p, fds, err := c.recv()
		closeAll(fds) // an ack carries none
		if err != nil {
			return taken, err
		}
		acked, k := binary.Uvarint(p)
		if kind != msgAck || k != len(p) || acked > uint64(n) {
			return taken, fmt.Errorf("%w: %q instead of an ack", ErrMessage, kind)
		}
		for i := taken; i < taken+int(acked); i++ {
			ts[i].Close()
		}
		taken += int(acked)
		if int(acked) < n {
			break // the receiver is full
		}
	}
	return taken, nil
}

// Received is what Receive did.
type Received struct {
	Imported int // tunnels taken into the sink
	Refused  int // tunnels left to the sender: no room under the descriptor limit
}

// Receive takes the tunnels the sender at the other end of c hands over
// into sink, as long as room (the descriptors the process may still open)
// allows two per tunnel; it acknowledges each batch with the number taken,
// and the sender keeps the rest. It returns when the sender is done or the
// connection fails (an error, with what was received before it).
func Receive(c *Conn, sink Sink, room func() int) (Received, error) {
	var res Received
	for {
		kind, p, fds, err := c.recv()
		switch {
		case err == io.EOF:
			return res, fmt.Errorf("handover: the sender closed the connection before it was done")
		case err != nil:
			return res, err
		case kind == msgEnd:
			closeAll(fds)
			return res, nil
		case kind != msgBatch:
			closeAll(fds)
			return res, fmt.Errorf("%w: %q instead of a batch", ErrMessage, kind)
		}
		ts, err := decodeBatch(p, fds)
		if err != nil {
			_ = c.send(msgAck, 0) // the sender keeps the whole batch
			return res, err
		}
		take := min(len(ts), max(room()/2, 0))
		for i := take; i < len(ts); i++ {
			ts[i].Close()
		}
		if take > 0 {
			sink.ImportTunnels(ts[:take])
		}
		res.Imported += take
		res.Refused += len(ts) - take
		if err := c.send(msgAck, take); err != nil {
			return res, err
		}
	}
}

// Room returns how many more descriptors this process may open, keeping
// reserve free (for listeners, splice pipes and new clients): the soft
// RLIMIT_NOFILE less the descriptors open now. It is what a receiving
// worker passes to Receive.
func Room(reserve int) int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	limit := int(min(rl.Cur, 1<<30))
	open, err := openFiles()
	if err != nil {
		return 0
	}
	return limit - open - reserve
}

// openFiles counts this process's open descriptors.
func openFiles() (int, error) {
	for _, dir := range [...]string{"/proc/self/fd", "/dev/fd"} {
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err == nil {
			return len(names) - 1, nil // less the one reading the directory
		}
	}
	return 0, errors.New("handover: cannot count open descriptors")
}
