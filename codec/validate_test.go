package codec

import (
	"errors"
	"testing"
)

func parseReq(t *testing.T, in string) *Request {
	t.Helper()
	var r Request
	if _, err := ParseRequest([]byte(in), &r); err != nil {
		t.Fatalf("ParseRequest(%q): %v", in, err)
	}
	return &r
}

func TestValidateRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{name: "HTTP/1.1", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "HTTP/1.0 without Host", in: "GET / HTTP/1.0\r\n\r\n"},
		{name: "empty Host", in: "GET / HTTP/1.1\r\nHost:\r\n\r\n"},
		{name: "IPv6 Host", in: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"},
		{name: "equal lengths", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"},
		{name: "chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{name: "chunked upper case, padded", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  CHUNKED \r\n\r\n"},
		{name: "absolute-form", in: "GET http://h.example:8080/p HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "absolute-form IPv6", in: "GET http://[::1]:80/p HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "absolute-form empty port", in: "GET http://h:/p HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "absolute-form no path", in: "GET http://h?q HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "asterisk-form", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "codings over two fields", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", want: ErrUnsupportedVersion},
		{name: "HTTP/0.9", in: "GET / HTTP/0.9\r\n\r\n", want: ErrUnsupportedVersion},
		{name: "missing Host", in: "GET / HTTP/1.1\r\n\r\n", want: ErrMissingHost},
		{name: "two Hosts", in: "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", want: ErrDuplicateHost},
		{name: "Host with path", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", want: ErrBadHost},
		{name: "Host with userinfo", in: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", want: ErrBadHost},
		{name: "authority with userinfo", in: "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "empty authority", in: "GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "authority port only", in: "GET http://:80/p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "authority bad port", in: "GET http://h:8x/p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "authority long port", in: "GET http://h:123456/p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "authority two colons", in: "GET http://h:1:2/p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "authority bad IPv6", in: "GET http://[::g]/p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "authority unclosed IPv6", in: "GET http://[::1/p HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadHost},
		{name: "HTTP/1.2 as 1.1", in: "GET / HTTP/1.2\r\n\r\n", want: ErrMissingHost},
		{name: "length and chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrLengthAndChunked},
		{name: "different lengths", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", want: ErrConflictingLength},
		{name: "negative length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", want: ErrBadContentLength},
		{name: "length list", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", want: ErrBadContentLength},
		{name: "empty length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", want: ErrBadContentLength},
		{name: "length overflow", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", want: ErrBadContentLength},
		{name: "second length bad", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n", want: ErrBadContentLength},
		{name: "gzip only", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "xchunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "chunked, identity", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "chunked on two fields", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrBadTransferEncoding},
		{name: "chunked twice", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", want: ErrBadTransferEncoding},
		{name: "chunked then gzip", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "empty coding", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", want: ErrBadTransferEncoding},
		{name: "chunked in HTTP/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrTransferEncoding10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRequest(parseReq(t, tt.in))
			if err != tt.want {
				t.Fatalf("ValidateRequest() = %v; want %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind BodyKind
		n    int64
	}{
		{name: "none", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", kind: BodyNone},
		{name: "zero length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", kind: BodyNone},
		{name: "length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", kind: BodyLength, n: 12},
		{name: "chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", kind: BodyChunked, n: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, n := parseReq(t, tt.in).Body()
			if kind != tt.kind || n != tt.n {
				t.Errorf("Body() = %v, %d; want %v, %d", kind, n, tt.kind, tt.n)
			}
		})
	}
}

const wsHead = "Host: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"

func TestValidateUpgrade(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{name: "ok", in: upgradeRequest},
		{name: "minimal", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
		{name: "POST", in: "POST / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrHandshakeMethod},
		{name: "HTTP/1.0", in: "GET / HTTP/1.0\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrHandshakeVersion},
		{name: "no Upgrade", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrHandshakeUpgrade},
		{name: "Upgrade h2c", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrHandshakeUpgrade},
		{name: "missing key", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Version: 13\r\n\r\n", want: ErrMissingWSKey},
		{name: "short key", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrBadWSKey},
		{name: "key of 17 bytes", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrBadWSKey},
		{name: "key not base64", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAA*==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrBadWSKey},
		{name: "two keys", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: ErrBadWSKey},
		{name: "version 8", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 8\r\n\r\n", want: ErrUnsupportedWSVersion},
		{name: "no version", in: "GET / HTTP/1.1\r\n" + wsHead + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n", want: ErrUnsupportedWSVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUpgrade(parseReq(t, tt.in))
			if err != tt.want {
				t.Fatalf("ValidateUpgrade() = %v; want %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrBadHandshake) {
				t.Errorf("%v does not wrap ErrBadHandshake", err)
			}
		})
	}
}
