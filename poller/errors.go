package poller

import "errors"

// ErrClosed is returned by Wake and Wait after Close.
var ErrClosed = errors.New("poller: closed")
