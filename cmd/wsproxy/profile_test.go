package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStartProfiling: every -profile mode writes its file into the
// directory, created if missing; an unknown mode is an error.
func TestStartProfiling(t *testing.T) {
	for mode, name := range profileModes {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sub")
			stop, err := startProfiling(mode, dir, true)
			if err != nil {
				t.Fatalf("startProfiling(%q): %v", mode, err)
			}
			_ = make([]byte, 1<<20) // something to sample
			stop()
			stop() // a second stop does nothing
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("no %s: %v", name, err)
			}
			if st.Size() == 0 {
				t.Errorf("%s is empty", name)
			}
		})
	}
	if _, err := startProfiling("heapz", t.TempDir(), true); err == nil {
		t.Errorf("startProfiling(heapz): nil error")
	}
}
