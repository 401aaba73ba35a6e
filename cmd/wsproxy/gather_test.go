package main

import (
	"errors"
	"testing"
	"time"

	"wsproxy/internal/testutil"
	"wsproxy/internal/wsseq"
)

// TestTunnelsGatherUnderTheGovernor: a process with two loops and the
// procs governor (procs: adaptive, the default) relaying a light echo
// load runs on one P, and its second loop hands its busy tunnels to the
// first (core's gather.go, told by governProcs): the moves counter rises
// above 0, and every message still comes back, in order (wsseq checks).
// Forty tunnels land on both loops but with a chance of 2^-39.
func TestTunnelsGatherUnderTheGovernor(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // the governor is off when it is set
	cfg := writeConfig(t, "", "127.0.0.1:0", startEcho(t), "", "1s", "loops: 2\nadmin: {addr: \"127.0.0.1:0\"}\n")
	p := startProc(t, "run", "-config", cfg)
	adminAddr := p.WaitLog(t, adminLine)[1]
	addr := p.WaitLog(t, listeningLine)[1]

	end := time.Now().Add(2 * time.Minute) // hang guard for every connection
	var clients []*wsseq.Client
	for i := range 40 {
		cl, err := wsseq.Dial(addr, "/", i, end)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		cl.SetLarge(0, 0)
		cl.Pump(1, 20*time.Millisecond)
		clients = append(clients, cl)
	}
	testutil.Eventually(t, "tunnels moved between the loops", func() error {
		n, err := scrape(adminAddr, `wsproxy_tunnels_moved_total`)
		if err == nil && n == 0 {
			err = errors.New("wsproxy_tunnels_moved_total = 0")
		}
		return err
	})
	for _, cl := range clients {
		if err := cl.Wait(cl.Echoed()+3, testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}
	for _, cl := range clients {
		if err := cl.Stop(testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}
}
