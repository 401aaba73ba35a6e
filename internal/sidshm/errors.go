package sidshm

import "errors"

// ErrSize is returned by Create for a size over MaxSize.
var ErrSize = errors.New("sidshm: table too large")

// ErrFormat is returned by Open for a file that is not a table Create made
// (or made by an incompatible version).
var ErrFormat = errors.New("sidshm: not a sid table")
