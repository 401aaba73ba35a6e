package codec

import "bytes"

// Offer is what a client's WebSocket opening handshake offered, kept by a
// proxy until the upstream answers so that the 101 can be checked against
// it: the Sec-WebSocket-Key, and the values of every
// Sec-WebSocket-Protocol and Sec-WebSocket-Extensions field, each joined
// into one comma-separated list. The slices alias the buffer AppendOffer
// wrote them to.
type Offer struct {
	Key, Protocols, Extensions []byte
}

// AppendOffer copies what r, a validated WebSocket handshake, offered to
// the end of dst and returns the extended buffer and the Offer, whose
// slices alias the bytes appended. They stay valid while that buffer is
// neither modified nor grown by another append.
func AppendOffer(dst []byte, r *Request) ([]byte, Offer) {
	start := len(dst)
	dst = append(dst, r.WSKey...)
	keyEnd := len(dst)
	dst = appendFieldList(dst, r.Headers, "sec-websocket-protocol")
	protoEnd := len(dst)
	dst = appendFieldList(dst, r.Headers, "sec-websocket-extensions")
	return dst, Offer{
		Key:        dst[start:keyEnd:keyEnd],
		Protocols:  dst[keyEnd:protoEnd:protoEnd],
		Extensions: dst[protoEnd:len(dst):len(dst)],
	}
}

// appendFieldList appends the values of every field called name, joined
// by commas (RFC 9110 §5.3: the same as one field with the joined list).
func appendFieldList(dst []byte, hs []Header, name string) []byte {
	first := true
	for _, h := range hs {
		if len(h.Name) == len(name) && EqualFold(h.Name, name) {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, h.Value...)
			first = false
		}
	}
	return dst
}

// ValidateUpgradeResponse checks a backend's acceptance of the handshake
// o describes (RFC 6455 §4.1, the client's checks of the server's
// handshake) and returns the extensions it negotiated:
//
//   - status 101, Connection: upgrade and Upgrade: websocket;
//   - Sec-WebSocket-Accept is the one for o.Key;
//   - at most one Sec-WebSocket-Protocol, naming one subprotocol the
//     client offered (compared exactly: subprotocol names are
//     case-sensitive);
//   - every extension in Sec-WebSocket-Extensions was offered by the
//     client, none twice.
//
// The errors wrap ErrBadHandshake.
func ValidateUpgradeResponse(r *Response, o *Offer) (Extensions, error) {
	switch {
	case r.Status != 101:
		return 0, ErrHandshakeStatus
	case !r.Upgrade:
		return 0, ErrHandshakeUpgrade
	}
	var buf [acceptKeyLen]byte
	if !bytes.Equal(AppendAcceptKey(buf[:0], o.Key), r.WSAccept) {
		return 0, ErrBadWSAccept
	}
	var ext Extensions
	protocols := 0
	for _, h := range r.Headers {
		switch {
		case len(h.Name) == 22 && EqualFold(h.Name, "sec-websocket-protocol"):
			if protocols++; protocols > 1 || bytes.IndexByte(h.Value, ',') >= 0 {
				return 0, ErrManyProtocols
			}
			if !listHas(o.Protocols, h.Value) {
				return 0, ErrUnofferedProtocol
			}
		case len(h.Name) == 24 && EqualFold(h.Name, "sec-websocket-extensions"):
			var err error
			if ext, err = acceptedExtensions(h.Value, o.Extensions, ext); err != nil {
				return 0, err
			}
		}
	}
	return ext, nil
}

// acceptedExtensions adds the extensions of one Sec-WebSocket-Extensions
// value of a 101 to ext, checking each against the client's offer.
func acceptedExtensions(value, offered []byte, ext Extensions) (Extensions, error) {
	for rest := value; ; {
		name, next, ok := nextExtension(rest)
		switch {
		case !ok:
			return 0, ErrBadExtensions
		case name == nil:
			return ext, nil
		}
		if !offeredExtension(offered, name) {
			return 0, ErrUnofferedExtension
		}
		bit := extensionOf(name)
		if bit == ExtDeflate && ext&ExtDeflate != 0 {
			return 0, ErrBadExtensions // accepted twice
		}
		ext |= bit
		rest = next
	}
}

// offeredExtension reports whether the client's extension list names
// name, case-insensitively.
func offeredExtension(offered, name []byte) bool {
	for rest := offered; ; {
		n, next, ok := nextExtension(rest)
		if !ok || n == nil {
			return false
		}
		if equalFoldBytes(n, name) {
			return true
		}
		rest = next
	}
}

// listHas reports whether the comma-separated list holds elem exactly.
func listHas(list, elem []byte) bool {
	for e, rest := nextElem(list); e != nil; e, rest = nextElem(rest) {
		if bytes.Equal(e, elem) {
			return true
		}
	}
	return false
}

// equalFoldBytes is EqualFold for two byte slices.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
