package sidshm

import (
	"os"

	"golang.org/x/sys/unix"
)

// newFile returns an empty memfd: shared memory with no name in any file
// system, freed when the last descriptor and mapping are gone.
func newFile() (*os.File, error) {
	fd, err := unix.MemfdCreate("wsproxy-sids", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	return os.NewFile(uintptr(fd), "memfd:wsproxy-sids"), nil
}
