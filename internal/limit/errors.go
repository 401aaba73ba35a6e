package limit

import "errors"

// Errors Admit and Handshake return. The proxy maps them to the status its
// client is answered with (internal/answer's Status): ErrOverloaded to
// 503, the per-address ones to 429.
var (
	ErrOverloaded    = errors.New("limit: too many connections")
	ErrTooManyConns  = errors.New("limit: too many connections from this address")
	ErrHandshakeRate = errors.New("limit: too many WebSocket handshakes from this address")
)
