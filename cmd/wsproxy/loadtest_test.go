package main

import (
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// TestLoadtestExitStatus: wsproxy loadtest exits 1 when a connection
// failed, unless -allow-failures tolerates that share, and 0 when every
// connection came up.
func TestLoadtestExitStatus(t *testing.T) {
	// A server that accepts and closes at once: every handshake fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closing, echo := ln.Addr().String(), startEcho(t)
	for _, tc := range []struct {
		name   string
		addr   string
		extra  []string
		status int
		says   string // in the output
	}{
		{"every connection failed", closing, nil, 1, "5 of 5 failed or dropped"},
		{"all failed, all allowed", closing, []string{"-allow-failures", "1"}, 0, "0 up, 5 failed"},
		{"all failed, one in ten allowed", closing, []string{"-allow-failures", "0.1"}, 1, "the share allowed is 0.1"},
		{"all up", echo, nil, 0, "5 up, 0 failed"},
		{"bad flag", echo, []string{"-allow-failures", "2"}, 1, "want a share from 0 to 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"loadtest", "-url", "ws://" + tc.addr + "/", "-conns", "5", "-duration", "100ms", "-timeout", "5s"}, tc.extra...)
			out, err := exec.Command(binary, args...).CombinedOutput()
			status := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				status = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tc.status || !strings.Contains(string(out), tc.says) {
				t.Errorf("got status %d; want %d with %q in the output:\n%s", status, tc.status, tc.says, out)
			}
		})
	}
}
