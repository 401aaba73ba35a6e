//go:build !linux

package admin

// gatherProcess adds nothing where /proc is missing: the process_* metrics
// are Linux only since client_golang went (expose.go).
func gatherProcess(e *exposition) {}
