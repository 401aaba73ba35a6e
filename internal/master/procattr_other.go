//go:build !linux

package master

import "syscall"

// sysProcAttr returns nil: without Pdeathsig, workers outlive a master that
// is killed, and must be stopped by hand.
func sysProcAttr() *syscall.SysProcAttr { return nil }
