//go:build !linux

package affinity

// Allowed returns ErrUnsupported outside Linux.
func Allowed() ([]int, error) { return nil, ErrUnsupported }

// Bind returns ErrUnsupported outside Linux.
func Bind(cpus []int) error { return ErrUnsupported }
