package master_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/master"
	"wsproxy/internal/testutil"
)

// greetGate names a file whose existence a "greet" worker waits for
// before it accepts, when set in its environment.
const greetGate = "WSPROXY_TEST_GREET_GATE"

// greet accepts on every listening socket w's master handed it and writes
// its generation to each client (the fake worker behaviour "greet"). With
// greetGate set, it accepts only once that file exists.
func greet(w *master.Worker) {
	gate := os.Getenv(greetGate)
	for _, fds := range w.Listeners {
		for _, fd := range fds {
			ln, err := net.FileListener(os.NewFile(uintptr(fd), "listen"))
			if err != nil {
				fmt.Fprintln(os.Stderr, "fake worker:", err)
				os.Exit(6)
			}
			go func() {
				for gate != "" {
					if _, err := os.Stat(gate); err == nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					fmt.Fprintf(c, "generation %d\n", w.Gen)
					c.Close()
				}
			}()
		}
	}
}

// firstAddr is the address the first serving generation listened on.
func (fm *fakeMaster) firstAddr() string {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return fm.serving[0][0]
}

// TestListeningSocketsOutliveGenerations: a client that connects while
// generation 1 serves, and that generation 1 never accepts (its fake
// workers do not), is not reset when generation 1 exits: the master holds
// the listening socket, and generation 2's worker, which accepts only once
// generation 1 is gone, takes the client from its queue. With workers
// binding their own SO_REUSEPORT sockets, the last close of generation 1's
// socket reset it.
func TestListeningSocketsOutliveGenerations(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	t.Setenv(greetGate, gate) // the master's workers inherit its environment
	fm := startMaster(t, 2, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1 workers=2`)
	addr := fm.firstAddr()
	var clients []net.Conn
	for range 8 { // over both workers' sockets, whichever the kernel picks
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}

	fm.set("greet", nil)
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="generation serving" generation=2 workers=2`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=1`)
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(testutil.Deadline))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "generation 2\n" {
			t.Errorf("client %d: read %q, %v; want \"generation 2\\n\"", i, line, err)
		}
	}
}

// TestWorkerIgnoringSockets: a new generation whose workers do not take
// the listening sockets they are given (a rollback to a binary older than
// the master) is abandoned, and the serving one goes on: its workers
// would hold sockets without accepting on them.
func TestWorkerIgnoringSockets(t *testing.T) {
	fm := startMaster(t, 2, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1 workers=2`)
	fm.set("old", nil)
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="reload abandoned; the previous generation keeps serving" generation=2 serving=1 `+
		`err="worker 2\.\d did not take the listening sockets the master handed it: its binary is older than the master's; restart the master to run it"`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=2`)
}

func TestParseListenFDs(t *testing.T) {
	for _, tc := range []struct {
		v         string
		listeners int
		want      string // fmt of the result, or "error"
	}{
		{"7", 1, "[[7]]"},
		{"", 0, "[]"},
		{"7,8;9", 2, "[[7 8] [9]]"},
		{";7", 2, "[[] [7]]"},
		{"7,8", 2, "error"}, // one list for two listeners
		{"6", 1, "error"},   // below the first listening descriptor
		{"7,x", 1, "error"},
	} {
		got, err := master.ParseListenFDs(tc.v, tc.listeners)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("parseListenFDs(%q, %d) = %s (%v); want %s", tc.v, tc.listeners, s, err, tc.want)
		}
	}
}
