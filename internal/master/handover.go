package master

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"wsproxy/internal/control"
	"wsproxy/internal/handover"
)

// Message types of the hand-over (internal/handover). Each carries one
// descriptor: an end of a unix socket pair the master made for one old
// and one new worker.
const (
	// MsgHandoverReceive tells a new worker to take tunnels from the
	// socket; it answers at once, and receives in the background.
	MsgHandoverReceive = "handover.receive"

	// MsgHandoverSend tells an old worker to stop accepting and hand its
	// tunnels over on the socket; it answers when done, with a
	// handover.Report (JSON).
	MsgHandoverSend = "handover.send"
)

// defaultHandoverTimeout bounds the master's wait for one old worker's
// hand-over (its window, handover.DefaultWindow, is much shorter).
const defaultHandoverTimeout = 30 * time.Second

// HandoverCounts are the tunnels a master's old workers handed over and
// kept, from their answers. Safe for concurrent use.
type HandoverCounts struct {
	Sent, Kept atomic.Uint64
}

// handOver asks every live worker of old, the generation g replaces, to
// hand its tunnels to a worker of g (in turn), and retires old once all
// have answered (handedOver). Workers of a build without the hand-over
// answer an error and drain as before. The old generation counts as
// retired meanwhile (its workers are not restarted) but is not told to
// stop until then.
func (m *Master) handOver(old, g *generation) {
	old.retired = true
	var news []*worker
	for _, w := range g.workers {
		if w != nil && w.ready && !w.exited && w.ctl != nil {
			news = append(news, w)
		}
	}
	for _, w := range old.all {
		if w.exited || w.ctl == nil || len(news) == 0 {
			continue
		}
		to := news[old.handing%len(news)]
		old.handing++
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), m.cfg.HandoverTimeout)
			defer cancel()
			r, err := handOverPair(ctx, w.ctl, to.ctl)
			m.send(event{kind: evHandedOver, w: w, to: to, report: r, err: err})
		}()
	}
	if old.handing == 0 {
		m.stopRetired(old)
		return
	}
	m.log.Info("previous generation handing its tunnels over", "generation", old.n, "to", g.n, "workers", old.handing)
}

// handOverPair connects an old worker (from) to a new one (to) with a
// socket pair and has the old one hand its tunnels over on it.
func handOverPair(ctx context.Context, from, to *control.Peer) (handover.Report, error) {
	a, b, err := handover.Pair()
	if err != nil {
		return handover.Report{}, err
	}
	defer a.Close()
	// The master closes its copies as soon as each side has its own, so
	// that either sees the other's end go if it dies.
	_, err = to.Call(ctx, MsgHandoverReceive, nil, int(b.Fd()))
	b.Close()
	if err != nil {
		return handover.Report{}, fmt.Errorf("new worker: %w", err)
	}
	msg, err := from.Call(ctx, MsgHandoverSend, nil, int(a.Fd()))
	if err != nil {
		return handover.Report{}, fmt.Errorf("old worker: %w", err)
	}
	r, err := handover.DecodeReport(msg.Body)
	if err == nil && r.Err != "" {
		err = fmt.Errorf("old worker: %s", r.Err)
	}
	return r, err
}

// ServeHandover registers the worker's side of the hand-over with its
// control channel: MsgHandoverSend and MsgHandoverReceive go to ho. Call
// it before the channel starts; without one (a master that passes none)
// it does nothing.
func (w *Worker) ServeHandover(ho *handover.Worker) {
	if w.ctl == nil {
		return
	}
	w.ctl.Handle(MsgHandoverSend, func(m control.Message) ([]byte, []int, error) {
		f, err := socketOf(m)
		if err != nil {
			return nil, nil, err
		}
		r, err := ho.Send(f)
		if err != nil {
			return nil, nil, err
		}
		return handover.EncodeReport(r), nil, nil
	})
	w.ctl.Handle(MsgHandoverReceive, func(m control.Message) ([]byte, []int, error) {
		f, err := socketOf(m)
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, ho.Receive(f)
	})
}

// socketOf returns the one descriptor a hand-over message carries.
func socketOf(m control.Message) (*os.File, error) {
	if len(m.FDs) != 1 {
		for _, fd := range m.FDs {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("%s: got %d descriptors; want 1", m.Type, len(m.FDs))
	}
	return os.NewFile(uintptr(m.FDs[0]), "handover"), nil
}

// handedOver handles an old worker's answer: one log line with its counts,
// and SIGTERM to its generation once every worker of it has answered.
func (m *Master) handedOver(ev event) {
	w, r := ev.w, ev.report
	attrs := []any{"worker", w.name(), "to", ev.to.name(), "handed_over", r.HandedOver, "kept", r.Kept,
		"refused", r.Refused, "waiting", r.Waiting, "took", r.Took.Round(time.Millisecond)}
	if ev.err != nil {
		m.log.Warn("hand-over failed; the old worker drains what it has", append(attrs, "err", ev.err)...)
	} else {
		m.log.Info("tunnels handed over", attrs...)
	}
	if c := m.cfg.Handover; c != nil {
		c.Sent.Add(uint64(r.HandedOver))
		c.Kept.Add(uint64(r.Kept))
	}
	g := w.g
	if g.handing--; g.handing == 0 {
		m.stopRetired(g)
	}
}

// stopRetired sends SIGTERM to a retired generation whose hand-over is
// over; they drain what they kept.
func (m *Master) stopRetired(g *generation) {
	if !m.stopping { // else every worker was told already
		m.log.Info("previous generation draining", "generation", g.n)
		g.signal(syscall.SIGTERM, m.log)
	}
	m.forget(g)
}

// exeID tells one binary file from another at the same path: a binary
// replaced on disk (renamed over, or rewritten) has another.
type exeID struct {
	dev, ino    uint64
	size, mtime int64
}

func statExe(path string) (exeID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return exeID{}, err
	}
	id := exeID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), uint64(st.Ino)
	}
	return id, nil
}

// binaryChanged reports whether the binary at the master's path is not
// the one the serving generation runs: a reload must then start a new
// generation (an upgrade), whatever the configuration says, and its
// workers hand their tunnels over.
func (m *Master) binaryChanged() bool {
	id, err := statExe(m.cfg.Path)
	return err == nil && m.cur != nil && id != m.cur.exe
}
