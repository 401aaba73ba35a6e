//go:build !linux

package main

import "errors"

// rawLoop is Linux's epoll_pwait loop (raw_linux.go).
func rawLoop(fd int, buf []byte) error {
	return errors.New("-raw: epoll is Linux only")
}
