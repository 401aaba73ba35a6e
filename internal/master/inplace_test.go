package master_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"wsproxy/internal/control"
	"wsproxy/internal/handover"
	"wsproxy/internal/master"
)

// serveFakeControl gives a fake worker the control side of a real one:
// MsgApply makes the request's Name its configuration, unless the name is
// "refuse" and the worker is slot 1; "state" answers the name it serves.
func serveFakeControl(w *master.Worker) {
	ctl := w.Control()
	if ctl == nil {
		fmt.Fprintln(os.Stderr, "fake worker: no control channel")
		os.Exit(5)
	}
	current := w.Spec.Name
	ctl.Handle(master.MsgApply, func(m control.Message) ([]byte, []int, error) {
		var req master.ApplyRequest
		if err := json.Unmarshal(m.Body, &req); err != nil {
			return nil, nil, err
		}
		if req.Name == "refuse" && w.Slot == 1 {
			return nil, nil, errors.New("x.yaml:1: refused by slot 1")
		}
		current = req.Name
		return nil, nil, nil
	})
	ctl.Handle("state", func(control.Message) ([]byte, []int, error) {
		return []byte(strconv.Itoa(w.Slot) + "=" + current), nil, nil
	})
	w.ServeHandover(&handover.Worker{Proxy: newFakeProxy(), Log: slog.New(slog.DiscardHandler)})
	ctl.Start()
}

// states asks every serving worker which configuration it serves.
func (fm *fakeMaster) states(t *testing.T) string {
	t.Helper()
	replies, err := fm.m.Broadcast("state", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range replies {
		if r.Err != nil {
			t.Fatalf("worker %s: %v", r.Worker, r.Err)
		}
		out = append(out, string(r.Body))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestMasterReloadInPlace: a reload that changes nothing a generation
// needs goes to the workers over the control channel and starts nothing;
// one refused by a worker is undone in the others (all or nothing); a
// worker restarted afterwards starts from the applied configuration.
func TestMasterReloadInPlace(t *testing.T) {
	fm := startMaster(t, 2, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1`)
	if got := fm.states(t); got != "0=ok 1=ok" {
		t.Fatalf("states %q; want both ok", got)
	}

	fm.setInPlace("v2")
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="configuration applied in place" generation=1 config=v2 version=2`)
	if got := fm.states(t); got != "0=v2 1=v2" {
		t.Errorf("after the reload: states %q; want both v2", got)
	}

	fm.setInPlace("refuse")
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="reload refused by the workers; they keep the previous configuration" err="worker 1\.1: apply: x.yaml:1: refused by slot 1"`)
	if got := fm.states(t); got != "0=v2 1=v2" {
		t.Errorf("after the refused reload: states %q; want both back on v2", got)
	}

	pid := fm.log.WaitMatch(t, `msg="worker ready" worker=1\.0 pid=(\d+)`)[1]
	n, _ := strconv.Atoi(pid)
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fm.log.WaitMatchFunc(t, `msg="worker ready" worker=1\.0 pid=(\d+)`, func(m []string) bool { return m[1] != pid })
	if got := fm.states(t); got != "0=v2 1=v2" {
		t.Errorf("after a restart: states %q; want the restarted worker on v2", got)
	}
	if strings.Contains(fm.log.String(), "generation=2") {
		t.Errorf("a new generation started; log:\n%s", fm.log)
	}
	fm.mu.Lock()
	got := fmt.Sprint(fm.results)
	fm.mu.Unlock()
	if want := "[ 1 applied 2 refused 2]"; got != want {
		t.Errorf("Reloaded calls %s; want %s", got, want)
	}
}
