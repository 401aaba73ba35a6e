package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Handler answers one request or notification. The reply's body and
// descriptors go back to the caller (for a notification they are
// dropped); an error goes back as a RemoteError. The handler owns the
// message's descriptors; the reply's stay the handler's too (they are
// duplicated into the reply).
type Handler func(m Message) (body []byte, fds []int, err error)

// RemoteError is a handler's error, as the caller of Call receives it.
type RemoteError struct {
	Type string // the request's type
	Msg  string // the handler's error text
}

func (e *RemoteError) Error() string { return e.Type + ": " + e.Msg }

// ErrNoHandler is the error of a request whose type has no handler.
var ErrNoHandler = errors.New("no handler for this message type")

// Peer is a Conn with a goroutine reading it: requests and notifications
// go to the handlers registered with Handle, run one at a time in arrival
// order on a second goroutine (so that a slow handler, or one that itself
// Calls the other side, does not hold up replies); replies go to the Call
// waiting for them. Create it with NewPeer, register handlers, then Start.
type Peer struct {
	c *Conn

	mu       sync.Mutex
	handlers map[string]Handler
	waiting  map[uint64]chan Message
	next     uint64
	err      error     // why the reader stopped
	queue    []Message // requests and notifications not handled yet
	wake     chan struct{}
	done     chan struct{}
}

// NewPeer makes a Peer of c; it owns c from now on.
func NewPeer(c *Conn) *Peer {
	return &Peer{c: c, handlers: make(map[string]Handler), waiting: make(map[uint64]chan Message),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Handle registers h for messages of type msgType. Call it before Start,
// or at any time for a type that has none yet.
func (p *Peer) Handle(msgType string, h Handler) {
	p.mu.Lock()
	p.handlers[msgType] = h
	p.mu.Unlock()
}

// Start runs the reading goroutine until the Conn fails or is closed.
func (p *Peer) Start() { go p.read() }

// Done is closed once the reading goroutine has stopped; Err then says why.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Err is why the reader stopped (io.EOF: the other end closed), or nil
// while it runs.
func (p *Peer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close closes the Conn; Calls waiting get an error.
func (p *Peer) Close() error {
	err := p.c.Close()
	<-p.done
	return err
}

// Notify sends a one-way message: the other side's handler runs, and
// nothing comes back.
func (p *Peer) Notify(msgType string, body []byte, fds ...int) error {
	return p.c.send(header{kind: kindNotify, typ: msgType, bodyLen: len(body)}, body, fds)
}

// Call sends a request and waits for its reply, until ctx ends or the
// connection fails. A handler's error comes back as a *RemoteError.
func (p *Peer) Call(ctx context.Context, msgType string, body []byte, fds ...int) (Message, error) {
	ch := make(chan Message, 1)
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return Message{}, fmt.Errorf("control: %s: %w", msgType, err)
	}
	p.next++
	id := p.next
	p.waiting[id] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiting, id)
		p.mu.Unlock()
	}()
	if err := p.c.send(header{kind: kindRequest, id: id, typ: msgType, bodyLen: len(body)}, body, fds); err != nil {
		return Message{}, fmt.Errorf("control: %s: %w", msgType, err)
	}
	select {
	case m := <-ch:
		if m.kind == kindError {
			return Message{}, &RemoteError{Type: msgType, Msg: string(m.Body)}
		}
		return m, nil
	case <-p.done:
		// The reply may have come just before the reader stopped.
		select {
		case m, ok := <-ch:
			if ok && m.kind == kindReply {
				return m, nil
			}
		default:
		}
		return Message{}, fmt.Errorf("control: %s: %w", msgType, p.Err())
	case <-ctx.Done():
		// A reply arriving later is dropped (with its descriptors) by the reader.
		return Message{}, fmt.Errorf("control: %s: %w", msgType, ctx.Err())
	}
}

// read is the reading goroutine.
func (p *Peer) read() {
	handled := make(chan struct{})
	go p.handle(handled)
	defer func() {
		<-handled
		close(p.done)
	}()
	for {
		m, err := p.c.Recv()
		if err != nil {
			// Close, so that the other side's calls fail rather than wait
			// for replies that will not come.
			p.c.Close()
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			p.signal()
			return
		}
		switch m.kind {
		case kindReply, kindError:
			p.mu.Lock()
			ch := p.waiting[m.id]
			p.mu.Unlock()
			if ch == nil {
				closeFDs(m.FDs) // its Call gave up
				continue
			}
			ch <- m // buffered, and each id gets one reply
		default:
			p.mu.Lock()
			p.queue = append(p.queue, m)
			p.mu.Unlock()
			p.signal()
		}
	}
}

func (p *Peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// handle runs the handlers of queued messages in order until the reader
// has stopped and the queue is empty; then it closes handled.
func (p *Peer) handle(handled chan<- struct{}) {
	defer close(handled)
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			stopped := p.err != nil
			p.mu.Unlock()
			if stopped {
				return
			}
			<-p.wake
			continue
		}
		m := p.queue[0]
		p.queue = p.queue[1:]
		h := p.handlers[m.Type]
		p.mu.Unlock()
		p.serve(h, m)
	}
}

// serve runs a handler and sends its reply to a request.
func (p *Peer) serve(h Handler, m Message) {
	var body []byte
	var fds []int
	err := ErrNoHandler
	if h != nil {
		body, fds, err = h(m)
	} else {
		closeFDs(m.FDs)
	}
	if m.kind != kindRequest {
		return
	}
	reply := header{kind: kindReply, id: m.id, typ: m.Type, bodyLen: len(body)}
	if err != nil {
		body, fds = []byte(err.Error()), nil
		reply.kind, reply.bodyLen = kindError, len(body)
	}
	// A send that fails means the connection is gone; the reader sees it.
	_ = p.c.send(reply, body, fds)
}
