package codec

// BodyScanner follows a message body passing through in pieces: how far
// it goes, so the next message can be found behind it. It never copies.
// The zero value is a body of kind BodyNone.
type BodyScanner struct {
	kind BodyKind
	left int64
	ch   ChunkedScanner
}

// Reset starts a body of kind, n bytes long for BodyLength.
func (b *BodyScanner) Reset(kind BodyKind, n int64) {
	b.kind, b.left = kind, n
	b.ch.Reset()
}

// Kind returns the kind given to Reset.
func (b *BodyScanner) Kind() BodyKind { return b.kind }

// Scan reports how many bytes at the start of data belong to the body and
// whether the body ended within them. The only errors are a chunked body's
// (ErrMalformedChunk).
func (b *BodyScanner) Scan(data []byte) (n int, done bool, err error) {
	switch b.kind {
	case BodyLength:
		n = int(min(int64(len(data)), b.left))
		b.left -= int64(n)
		return n, b.left == 0, nil
	case BodyChunked:
		return b.ch.Scan(data)
	case BodyUntilClose:
		return len(data), false, nil
	}
	return 0, true, nil
}
