package master

import (
	"context"
	"errors"
	"sync"

	"wsproxy/internal/control"
)

// Message types the master sends its workers over the control channel
// (internal/control). Each is a request: the worker answers, or refuses
// with an error.
const (
	// MsgApply carries a configuration (an ApplyRequest, JSON) to apply
	// in place; the reply is what changed, for the log. A worker that
	// cannot apply it keeps what it serves and answers an error.
	MsgApply = "apply"
)

// answer is one worker's reply to a request sent to several.
type answer struct {
	w   *worker
	msg control.Message
	err error
}

// callAll sends the same request to every worker of ws at once and
// returns their answers in the order of ws. A worker without a control
// channel answers an error.
func callAll(ctx context.Context, ws []*worker, msgType string, body []byte) []answer {
	out := make([]answer, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		out[i].w = w
		if w.ctl == nil {
			out[i].err = errors.New("no control channel")
			continue
		}
		wg.Go(func() { out[i].msg, out[i].err = w.ctl.Call(ctx, msgType, body) })
	}
	wg.Wait()
	return out
}

// Reply is one worker's answer to Broadcast.
type Reply struct {
	Worker string // "GENERATION.SLOT"
	Body   []byte
	Err    error // the worker's error (*control.RemoteError) or why it did not answer
}

// broadcast is a Broadcast waiting for Run to name the workers.
type broadcast struct {
	msgType string
	body    []byte
	replies chan []Reply
}

// Broadcast sends a request to every worker of the serving generation
// over the control channels and returns their answers. It may be called
// from any goroutine while Run runs (the runtime API of the admin
// listener uses it); it returns an error when no generation serves or
// Run has returned.
func (m *Master) Broadcast(msgType string, body []byte) ([]Reply, error) {
	b := &broadcast{msgType: msgType, body: body, replies: make(chan []Reply, 1)}
	select {
	case m.events <- event{kind: evBroadcast, bc: b}:
	case <-m.done:
		return nil, errors.New("master: stopped")
	}
	select {
	case r := <-b.replies:
		if r == nil {
			return nil, errors.New("master: no generation of workers is serving")
		}
		return r, nil
	case <-m.done:
		return nil, errors.New("master: stopped")
	}
}

// onBroadcast starts the calls of a Broadcast to the serving workers; the
// answers go straight to the caller.
func (m *Master) onBroadcast(b *broadcast) {
	if m.cur == nil || m.stopping {
		b.replies <- nil
		return
	}
	var ws []*worker
	for _, w := range m.cur.workers {
		if w != nil && !w.exited {
			ws = append(ws, w)
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
		defer cancel()
		out := []Reply{}
		for _, a := range callAll(ctx, ws, b.msgType, b.body) {
			out = append(out, Reply{Worker: a.w.name(), Body: a.msg.Body, Err: a.err})
		}
		b.replies <- out
	}()
}
