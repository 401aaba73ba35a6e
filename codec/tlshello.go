package codec

import "errors"

// The first flight of a TLS client (RFC 8446 §5.1, §4.1.2): the records
// that carry its ClientHello. A server that starts its handshake only once
// the whole ClientHello is in, as nginx does (OpenSSL reads it before any
// work), lets a client that stops halfway cost its connection and the bytes
// it sent, nothing more.

// ErrNotTLSHello means the bytes are not the start of a TLS handshake as a
// TLS server reads one: the server refuses the connection once it has read
// the n bytes ScanTLSHello returned with this error.
var ErrNotTLSHello = errors.New("codec: not a TLS ClientHello")

// Limits of the record layer, as crypto/tls applies them to a client's
// first flight (common.go, conn.go: readRecordOrCCS, readHandshake).
const (
	tlsRecordHeader  = 5
	tlsMaxCiphertext = 16384 + 2048 // a longer record is refused at its header
	tlsMaxPlaintext  = 16384        // a longer unprotected record is refused once read
	tlsMaxHandshake  = 65536        // the longest ClientHello body
	tlsMaxUseless    = 16           // ignored records (warning alerts) in a row

	tlsTypeAlert     = 21
	tlsTypeHandshake = 22
)

// ScanTLSHello looks at the first bytes a TLS client sent for the end of
// its first handshake message, the ClientHello, which may be split over
// several records. It returns
//
//	n, nil             buf[:n] are the whole records that carry the message
//	0, ErrShort        buf is a valid start of them: more bytes are needed
//	n, ErrNotTLSHello  a server refuses the connection on reading buf[:n]
//	                   (not a handshake record, an oversized record or
//	                   message, an alert that ends the handshake)
//
// Either way but ErrShort, a server has what it needs to act without
// waiting. The message itself is not decoded: that is the TLS library's
// job. ScanTLSHello keeps no state: the caller scans again from the start
// as bytes arrive. It does not allocate.
func ScanTLSHello(buf []byte) (int, error) {
	var msgHdr [4]byte // the message header, which may itself be split
	got, useless := 0, 0
	for off := 0; ; {
		if len(buf)-off < tlsRecordHeader {
			return 0, ErrShort
		}
		typ := buf[off]
		vers := int(buf[off+1])<<8 | int(buf[off+2])
		n := int(buf[off+3])<<8 | int(buf[off+4])
		if (typ != tlsTypeHandshake && typ != tlsTypeAlert) || vers >= 0x1000 || n > tlsMaxCiphertext {
			return off + tlsRecordHeader, ErrNotTLSHello
		}
		end := off + tlsRecordHeader + n
		if len(buf) < end {
			return 0, ErrShort
		}
		data := buf[off+tlsRecordHeader : end]
		off = end
		switch {
		case n > tlsMaxPlaintext:
			return end, ErrNotTLSHello
		case typ == tlsTypeAlert:
			// A warning other than close_notify is dropped; anything else
			// ends the handshake.
			if n != 2 || data[0] != 1 || data[1] == 0 {
				return end, ErrNotTLSHello
			}
			if useless++; useless > tlsMaxUseless {
				return end, ErrNotTLSHello
			}
			continue
		case n == 0: // an empty handshake record is refused
			return end, ErrNotTLSHello
		}
		useless = 0
		for i := 0; i < n && got+i < len(msgHdr); i++ {
			msgHdr[got+i] = data[i]
		}
		if got += n; got < len(msgHdr) {
			continue
		}
		msgLen := int(msgHdr[1])<<16 | int(msgHdr[2])<<8 | int(msgHdr[3])
		if msgLen > tlsMaxHandshake {
			return end, ErrNotTLSHello
		}
		if got >= len(msgHdr)+msgLen {
			return end, nil
		}
	}
}
