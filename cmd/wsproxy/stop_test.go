package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/testutil"

	"github.com/gorilla/websocket"
)

// TestCtrlC stops wsproxy as a terminal's Ctrl-C does (SIGINT to the
// whole process group) with one WebSocket open and a drain_timeout of a
// minute, four times the tests' hang guard: the process says once how long
// it may take and that a second Ctrl-C closes at once, and then exits as
// soon as the client leaves, or at once on a second Ctrl-C. Waiting out the
// drain_timeout would fail the test.
func TestCtrlC(t *testing.T) {
	modes := []struct {
		name    string
		args    []string
		ready   string // the line that says the proxy serves, with its address
		workers int    // workers that log the start of their drain
	}{
		{"master", []string{"-workers", "2"}, servingLine, 2},
		{"single process", nil, listeningLine, 0},
	}
	ends := []struct {
		name string
		end  func(t *testing.T, p *proc, c *websocket.Conn)
	}{
		{"client leaves", func(t *testing.T, p *proc, c *websocket.Conn) {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
			if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(testutil.Deadline)); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}},
		{"second Ctrl-C", func(t *testing.T, p *proc, c *websocket.Conn) {
			ctrlC(t, p)
			_ = c.SetReadDeadline(time.Now().Add(testutil.Deadline))
			if _, _, err := c.ReadMessage(); err == nil || strings.Contains(err.Error(), "timeout") {
				t.Errorf("read after the second Ctrl-C: got %v; want the connection closed", err)
			}
		}},
	}
	for _, m := range modes {
		for _, e := range ends {
			t.Run(m.name+"/"+e.name, func(t *testing.T) {
				args := append([]string{"run", "-config", writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", "60s", "")}, m.args...)
				p := startProc(t, args...)
				addr := p.WaitLog(t, m.ready)[1]
				c := dialWS(t, addr, 1)
				echoAll(t, c, "before")

				ctrlC(t, p)
				p.WaitLog(t, `up to 1m1s.*; a second Ctrl-C or SIGTERM closes`)
				// The second signal must come after each worker took the
				// first: two pending SIGTERMs would be one.
				testutil.Eventually(t, "workers draining", func() error {
					if n := strings.Count(p.Out.String(), `msg="stopping: draining"`); n < m.workers {
						return fmt.Errorf("%d workers draining; want %d", n, m.workers)
					}
					return nil
				})
				echoAll(t, c, "draining")
				e.end(t, p, c[0])
				if err := p.WaitExit(t); err != nil {
					t.Errorf("exit: %v; want status 0", err)
				}
				if n := strings.Count(p.Out.String(), "a second Ctrl-C"); n != 1 {
					t.Errorf("got the stop hint %d times; want once", n)
				}
			})
		}
	}
}

// ctrlC sends SIGINT to p's process group, as a terminal does on Ctrl-C.
func ctrlC(t *testing.T, p *proc) {
	t.Helper()
	p.SignalGroup(t, syscall.SIGINT)
}
