//go:build !linux

package sidshm

import "os"

// newFile returns an empty temporary file, already unlinked, so that it is
// freed when the last descriptor and mapping are gone.
func newFile() (*os.File, error) {
	f, err := os.CreateTemp("", "wsproxy-sids-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
