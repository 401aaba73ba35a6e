package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeAddrFile writes the addresses a process serves on to path (the
// -addr-file flag), one "NAME ADDR" line each: "listen" for every listener
// in config order, then "admin" for the admin listener, if any. It is how
// a program that started wsproxy with port 0 learns the ports the kernel
// gave (a port picked by the caller and bound later by wsproxy could be
// taken meanwhile), whatever the log level. The file is written under a
// temporary name and renamed, so that a reader sees all of it or nothing.
func writeAddrFile(path string, listen []string, admin string) error {
	var b strings.Builder
	for _, a := range listen {
		fmt.Fprintf(&b, "listen %s\n", a)
	}
	if admin != "" {
		fmt.Fprintf(&b, "admin %s\n", admin)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("-addr-file: %w", err)
	}
	return nil
}
