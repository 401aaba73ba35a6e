package affinity

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBind: in a child process (binding changes the whole process),
// every thread ends up on the CPU bound to, threads started afterwards
// too, and binding back restores the mask.
func TestBind(t *testing.T) {
	if child := os.Getenv("AFFINITY_CHILD"); child != "" {
		bindChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBind$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AFFINITY_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func bindChild(t *testing.T) {
	allowed, err := Allowed()
	if err != nil || len(allowed) == 0 {
		t.Fatalf("Allowed: %v, %v", allowed, err)
	}
	last := allowed[len(allowed)-1]
	if err := Bind([]int{last}); err != nil {
		t.Fatal(err)
	}
	// A thread the runtime starts now inherits the mask.
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		close(started)
	}()
	<-started
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			continue // exited
		}
		if set.Count() != 1 || !set.IsSet(last) {
			t.Errorf("thread %d: %d CPUs, CPU %d set %v; want only CPU %d", tid, set.Count(), last, set.IsSet(last), last)
		}
	}
	if err := Bind(allowed); err != nil {
		t.Fatal(err)
	}
	if got, _ := Allowed(); !slices.Equal(got, allowed) {
		t.Errorf("after binding back: %v; want %v", got, allowed)
	}
	if err := Bind(nil); err == nil {
		t.Error("Bind(nil) did not fail")
	}
}
