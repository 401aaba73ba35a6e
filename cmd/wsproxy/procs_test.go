package main

import (
	"testing"
	"time"

	"wsproxy/internal/wsseq"
)

// TestAdaptiveProcsServes: with procs: adaptive (the default), a quiet
// process drops to one P (internal/procgov), and its two loops still
// relay on it.
func TestAdaptiveProcsServes(t *testing.T) {
	backend := startEcho(t)
	p := startProc(t, "run", "-listen", "127.0.0.1:0", "-upstream", backend, "-log-level", "debug", "-loops", "2")
	addr := p.WaitLog(t, listeningLine)[1]
	p.WaitLog(t, `msg="procs changed" gomaxprocs=1`)

	// Whichever loop a connection lands on, it echoes on the one P.
	for i := range 4 {
		cl, err := wsseq.Dial(addr, "/", i+1, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		if err := cl.Send(5); err != nil {
			t.Fatal(err)
		}
		if err := cl.Wait(5, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}
