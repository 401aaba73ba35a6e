package tickets

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
)

// File is a session-ticket key file and where the configuration names it
// ("FILE:LINE: listen[0].tls.session_ticket_keys[1]"), for errors.
type File struct {
	Path, At string
}

// The sizes of nginx's ssl_session_ticket_key files: 16 bytes of key name,
// then 32 bytes each of HMAC and AES key (AES-256), or 16 each (AES-128).
const (
	fileSize256 = 80
	fileSize128 = 48
)

// ReadFiles reads key files, in order, and returns their keys as
// tls.Config.SetSessionTicketKeys takes them: the first file's key
// encrypts new tickets, all of them decrypt. An error names every file at
// fault with where the configuration names it.
func ReadFiles(files []File) ([][32]byte, error) {
	keys := make([][32]byte, 0, len(files))
	var errs []error
	for _, f := range files {
		k, err := readFile(f.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.At, err))
			continue
		}
		keys = append(keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return keys, nil
}

// readFile reads one key file, refusing to read more than a key file can
// hold (a path naming a device or a log by mistake).
func readFile(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, fileSize256+1))
	if err != nil {
		return [32]byte{}, fmt.Errorf("%s: %w", path, err)
	}
	k, err := ParseKey(b)
	if err != nil {
		return [32]byte{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKey turns the contents of a key file, 80 or 48 random bytes as
// nginx's ssl_session_ticket_key reads them, into a crypto/tls ticket key.
//
// crypto/tls seals tickets in its own format, with AES and HMAC keys it
// expands from a 32-byte key; nginx's key name and its split of the bytes
// mean nothing to it. So the key is a hash of all the file's bytes, and
// the file is nginx's only in its format: one `openssl rand 80` makes a
// key for both, but a wsproxy ticket is not an nginx ticket, and the two
// do not resume each other's sessions.
func ParseKey(b []byte) ([32]byte, error) {
	if len(b) != fileSize256 && len(b) != fileSize128 {
		more := ""
		if len(b) > fileSize256 {
			more = " or more"
		}
		return [32]byte{}, fmt.Errorf("%d bytes%s; want 80 or 48 random bytes, as nginx's ssl_session_ticket_key (make one with: openssl rand 80 > FILE)", len(b), more)
	}
	h := sha256.New()
	h.Write([]byte("wsproxy ticket file\x00"))
	h.Write(b)
	var k [32]byte
	h.Sum(k[:0])
	return k, nil
}
