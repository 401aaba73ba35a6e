package loadtest

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Errors returned by Run and Config.Validate.
var (
	// ErrConfig wraps every configuration error; the message names the
	// field.
	ErrConfig = errors.New("loadtest: bad config")
	// ErrChild wraps a failure of a child process: it could not start, or
	// it exited without reporting a result.
	ErrChild = errors.New("loadtest: child process")
	// ErrFailures is what Result.CheckFailures wraps: more connections
	// failed or dropped than allowed.
	ErrFailures = errors.New("loadtest: connections failed")
)

// Failure reasons that are not system errors. They are the keys of
// Result.FailReasons and Result.DropReasons, together with "bad status
// NNN", "close NNNN" (a close frame with that code) and the names reason
// gives to errnos.
const (
	reasonTimeout    = "timeout"
	reasonClosed     = "closed" // EOF without a close frame
	reasonBadReply   = "bad response"
	reasonNoUpgrade  = "not upgraded"
	reasonBadAccept  = "bad accept"
	reasonBadEcho    = "bad echo"
	reasonProtocol   = "protocol error"
	reasonUnexpected = "unexpected message"
	reasonCanceled   = "canceled"
	reasonNoPort     = "no local port"
)

// reason names a socket error for the failure tables: short, stable words
// for the common cases, the errno text otherwise.
func reason(err error) string {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	switch errno {
	case unix.ECONNREFUSED:
		return "refused"
	case unix.ETIMEDOUT:
		return reasonTimeout
	case unix.ECONNRESET, unix.EPIPE, unix.ECONNABORTED:
		return "reset"
	case unix.EADDRNOTAVAIL, unix.EADDRINUSE:
		return reasonNoPort
	case unix.EMFILE, unix.ENFILE:
		return "too many open files"
	case unix.ENETUNREACH, unix.EHOSTUNREACH:
		return "unreachable"
	}
	return errno.Error()
}
