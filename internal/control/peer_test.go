package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// peers returns two started Peers over one socket pair, closed at the end
// of the test; setup registers the second one's handlers before it starts.
func peers(t *testing.T, setup func(p *Peer)) (*Peer, *Peer) {
	t.Helper()
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := NewPeer(a), NewPeer(b)
	if setup != nil {
		setup(pb)
	}
	pa.Start()
	pb.Start()
	t.Cleanup(func() { pa.Close(); pb.Close() })
	return pa, pb
}

// hangGuard is a context that only keeps a broken test from hanging.
func hangGuard(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCall(t *testing.T) {
	master, _ := peers(t, func(p *Peer) {
		p.Handle("echo", func(m Message) ([]byte, []int, error) { return m.Body, nil, nil })
		p.Handle("fail", func(m Message) ([]byte, []int, error) { return nil, nil, errors.New("refused: " + string(m.Body)) })
	})
	cases := []struct {
		name, typ string
		body      []byte
		want      []byte
		wantErr   string
	}{
		{"reply", "echo", []byte("hello"), []byte("hello"), ""},
		{"large reply", "echo", body(700 << 10), body(700 << 10), ""},
		{"handler error", "fail", []byte("bad file"), nil, "fail: refused: bad file"},
		{"no handler", "nobody", nil, nil, "nobody: " + ErrNoHandler.Error()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := master.Call(hangGuard(t), tc.typ, tc.body)
			if tc.wantErr != "" {
				var re *RemoteError
				if !errors.As(err, &re) || err.Error() != tc.wantErr {
					t.Fatalf("got %v; want RemoteError %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != tc.typ || !bytes.Equal(m.Body, tc.want) {
				t.Errorf("got %q, %d bytes; want %q, %d bytes", m.Type, len(m.Body), tc.typ, len(tc.want))
			}
		})
	}
}

// TestCallsConcurrent checks that replies find their callers when many
// calls are in flight from several goroutines, in both directions.
func TestCallsConcurrent(t *testing.T) {
	echo := func(m Message) ([]byte, []int, error) { return m.Body, nil, nil }
	a, b := peers(t, func(p *Peer) { p.Handle("echo", echo) })
	a.Handle("echo", echo)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 100 {
		for _, p := range []*Peer{a, b} {
			wg.Go(func() {
				want := strconv.Itoa(i)
				m, err := p.Call(hangGuard(t), "echo", []byte(want))
				if err == nil && string(m.Body) != want {
					err = fmt.Errorf("got %q; want %q", m.Body, want)
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHandlerOrder checks that handlers run one at a time in the order
// the messages were sent, notifications and requests alike.
func TestHandlerOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	record := func(m Message) ([]byte, []int, error) {
		mu.Lock()
		got = append(got, string(m.Body))
		mu.Unlock()
		return nil, nil, nil
	}
	a, _ := peers(t, func(p *Peer) { p.Handle("op", record) })
	var want []string
	for i := range 50 {
		s := strconv.Itoa(i)
		want = append(want, s)
		if err := a.Notify("op", []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	want = append(want, "last")
	if _, err := a.Call(hangGuard(t), "op", []byte("last")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

// TestHandlerCallsBack checks that a handler may call the other side
// while it runs: replies are read while handlers work.
func TestHandlerCallsBack(t *testing.T) {
	var b *Peer
	a, b := peers(t, func(p *Peer) {
		p.Handle("outer", func(m Message) ([]byte, []int, error) {
			r, err := p.Call(context.Background(), "inner", m.Body)
			if err != nil {
				return nil, nil, err
			}
			return append(r.Body, '!'), nil, nil
		})
	})
	_ = b
	a.Handle("inner", func(m Message) ([]byte, []int, error) { return bytes.ToUpper(m.Body), nil, nil })
	m, err := a.Call(hangGuard(t), "outer", []byte("go"))
	if err != nil || string(m.Body) != "GO!" {
		t.Errorf("got %q, %v; want \"GO!\"", m.Body, err)
	}
}

// TestCallAfterClose checks that a Call fails, rather than hangs, when
// the other end goes away before or while it waits.
func TestCallAfterClose(t *testing.T) {
	block := make(chan struct{})
	a, b := peers(t, func(p *Peer) {
		p.Handle("slow", func(Message) ([]byte, []int, error) { <-block; return nil, nil, nil })
	})
	errc := make(chan error, 1)
	go func() {
		_, err := a.Call(hangGuard(t), "slow", nil)
		errc <- err
	}()
	b.c.Close() // the worker dies with the call in flight
	if err := <-errc; err == nil {
		t.Error("Call in flight: got nil error; want one")
	}
	close(block)
	<-a.Done()
	if _, err := a.Call(hangGuard(t), "slow", nil); err == nil {
		t.Error("Call after close: got nil error; want one")
	}
}

func TestCallContext(t *testing.T) {
	block := make(chan struct{})
	a, _ := peers(t, func(p *Peer) {
		p.Handle("slow", func(Message) ([]byte, []int, error) { <-block; return nil, nil, nil })
	})
	t.Cleanup(func() { close(block) }) // runs before the peers' Close, which waits for handlers
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Call(ctx, "slow", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v; want context.Canceled", err)
	}
}
