//go:build !linux

package pagetrim

// Trim does nothing outside Linux.
func Trim() (Result, error) { return Result{}, nil }
