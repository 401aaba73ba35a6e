package codec

import "github.com/gobwas/ws"

// Extensions is what a WebSocket opening handshake negotiated that changes
// which frames are valid on the connection (RFC 6455 §9). The zero value
// means none: every RSV bit must be clear.
type Extensions uint8

const (
	// ExtDeflate is permessage-deflate (RFC 7692): RSV1 marks a
	// compressed message and may be set on the first frame of a data
	// message only, never on a continuation or a control frame.
	ExtDeflate Extensions = 1 << iota
	// ExtUnknown is an extension this package does not know: which RSV
	// bits it uses, and where, cannot be told, so none is checked.
	ExtUnknown
)

// rsv1 is RSV1 in ws.Header.Rsv layout.
const rsv1 = 0x4

// AllowedRsv returns the RSV bits h may carry under e, in ws.Header.Rsv
// layout, for CheckFrameExt.
func (e Extensions) AllowedRsv(h ws.Header) byte {
	switch {
	case e&ExtUnknown != 0:
		return 0x7
	case e&ExtDeflate != 0 && (h.OpCode == ws.OpText || h.OpCode == ws.OpBinary):
		return rsv1
	}
	return 0
}

// extensionOf returns the Extensions bit for an extension name.
func extensionOf(name []byte) Extensions {
	if EqualFold(name, "permessage-deflate") {
		return ExtDeflate
	}
	return ExtUnknown
}

// nextExtension returns the name of the first extension in a
// Sec-WebSocket-Extensions list (RFC 6455 §9.1: extension *( ";" param ),
// param = token [ "=" ( token / quoted-string ) ], joined by commas) and the
// list after it. Parameters are skipped, quoted strings included, so a
// comma inside one does not split the list. At the end of the list name is
// nil and ok true; ok is false when the list is malformed.
func nextExtension(list []byte) (name, rest []byte, ok bool) {
	list = skipSeparators(list)
	if len(list) == 0 {
		return nil, nil, true
	}
	n := tokenLen(list)
	if n == 0 {
		return nil, nil, false
	}
	name, list = list[:n:n], trimLeftOWS(list[n:])
	for len(list) > 0 && list[0] == ';' {
		list = trimLeftOWS(list[1:])
		if n = tokenLen(list); n == 0 {
			return nil, nil, false
		}
		list = trimLeftOWS(list[n:])
		if len(list) == 0 || list[0] != '=' {
			continue
		}
		list = trimLeftOWS(list[1:])
		if n = valueLen(list); n == 0 {
			return nil, nil, false
		}
		list = trimLeftOWS(list[n:])
	}
	if len(list) > 0 && list[0] != ',' {
		return nil, nil, false
	}
	return name, list, true
}

// valueLen returns the length of the token or quoted-string at the start
// of p, 0 if there is neither.
func valueLen(p []byte) int {
	if len(p) == 0 || p[0] != '"' {
		return tokenLen(p)
	}
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return 0
}

func skipSeparators(p []byte) []byte {
	for len(p) > 0 && (p[0] == ' ' || p[0] == '\t' || p[0] == ',') {
		p = p[1:]
	}
	return p
}

func trimLeftOWS(p []byte) []byte {
	for len(p) > 0 && (p[0] == ' ' || p[0] == '\t') {
		p = p[1:]
	}
	return p
}
