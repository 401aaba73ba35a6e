package affinity

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Allowed returns the CPUs this process may run on (its affinity mask
// when it started, or when a tool such as taskset set it), in order.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// Bind sets the affinity of every thread of the process to cpus. A thread
// inherits its creator's mask, so the threads the Go runtime starts later
// are bound too; the threads are listed twice, for one started while the
// first pass ran.
func Bind(cpus []int) error {
	if len(cpus) == 0 {
		return errors.New("affinity: no CPU to bind to")
	}
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	done := map[int]bool{}
	for range 2 {
		tids, err := threads()
		if err != nil {
			return err
		}
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			// ESRCH: the thread has exited since it was listed.
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
			done[tid] = true
		}
	}
	return nil
}

// threads lists the thread ids of this process.
func threads() ([]int, error) {
	f, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
