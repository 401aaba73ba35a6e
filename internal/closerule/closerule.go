// Package closerule names why the proxy closes a tunnel on its own: the
// rule of a route's WebSocket policy that a frame broke, or an operation
// (drain, the idle timeout, a dead peer). A tunnel's closing log line
// names its rule (Text), as does the reason of the Close frame the proxy
// sends the peer that broke it, and a per-rule counter counts it: the
// reason label of wsproxy_websocket_proxy_closes_total, which is the
// rule's entry in metrics.CloseReasons (Label).
//
// It holds names and the mapping of codec's protocol errors to rules,
// no connection: core notes the rule of each tunnel. It must not import
// core (but core/metrics, for the labels), the event loop (poller,
// internal/reactor, internal/sock), balance or config.
package closerule

import (
	"wsproxy/codec"
	"wsproxy/core/metrics"
)

// Rule is why the proxy closed a tunnel on its own. A tunnel keeps the
// first rule that fired.
type Rule uint8

const (
	None Rule = iota
	Idle
	Ping
	Drain
	ServerDrained
	ServerRemoved
	// The rules below are broken by a frame of a peer (max_frame,
	// max_message, RFC 6455 checks): the tunnel's closing line is written
	// whatever log.sample says, naming the peer.
	MaxFrame
	MaxMessage
	ReservedOpcode
	Rsv
	RsvPlacement
	Unmasked
	Masked
	ControlTooLong
	ControlFragmented
	CloseLength
	FrameLength
	ContinuationExpected
	ContinuationUnexpected
	CloseCode
	CloseReason
	NumRules

	FirstViolation = MaxFrame
)

// Rule r counts in metrics.Loop.ProxyCloses[r], which has a counter for
// each rule but None.
var _ [len(metrics.CloseReasons) + 1]struct{} = [NumRules]struct{}{}

// texts say what each rule is, in log lines and Close reasons.
var texts = [NumRules]string{
	None:                   "",
	Idle:                   "no data frame within the idle timeout",
	Ping:                   "a peer did not answer the proxy's Ping",
	Drain:                  "the proxy is draining",
	ServerDrained:          "the upstream server is being drained",
	ServerRemoved:          "the upstream server was removed (on_remove: close)",
	MaxFrame:               "frame over max_frame",
	MaxMessage:             "message over max_message",
	ReservedOpcode:         "reserved opcode",
	Rsv:                    "RSV bits without a negotiated extension",
	RsvPlacement:           "RSV1 on a continuation or control frame",
	Unmasked:               "unmasked client frame",
	Masked:                 "masked server frame",
	ControlTooLong:         "control frame over 125 bytes",
	ControlFragmented:      "fragmented control frame",
	CloseLength:            "Close frame with a 1-byte payload",
	FrameLength:            "64-bit frame length with the top bit set",
	ContinuationExpected:   "new data message inside a fragmented one",
	ContinuationUnexpected: "continuation frame outside a fragmented message",
	CloseCode:              "Close code that must not be sent (1005, 1006, 1015, below 1000, 5000 and up)",
	CloseReason:            "Close reason that is not UTF-8",
}

// Text says what r is, for log lines and Close reasons; "" for None.
func (r Rule) Text() string { return texts[r] }

// Label is r's reason label in metrics: metrics.CloseReasons in the order
// of the rules, "none" for None.
func (r Rule) Label() string {
	if r == None {
		return "none"
	}
	return metrics.CloseReasons[r-1]
}

// Violation reports whether a peer's frame broke r.
func (r Rule) Violation() bool { return r >= FirstViolation }

// For maps a codec protocol error to its rule.
func For(err error) Rule {
	switch err {
	case codec.ErrReservedOpCode:
		return ReservedOpcode
	case codec.ErrReservedBits:
		return Rsv
	case codec.ErrRsvPlacement:
		return RsvPlacement
	case codec.ErrMaskRequired:
		return Unmasked
	case codec.ErrMaskUnexpected:
		return Masked
	case codec.ErrControlTooLong:
		return ControlTooLong
	case codec.ErrControlFragmented:
		return ControlFragmented
	case codec.ErrCloseLength:
		return CloseLength
	case codec.ErrFrameLength:
		return FrameLength
	case codec.ErrContinuationExpected:
		return ContinuationExpected
	case codec.ErrContinuationUnexpected:
		return ContinuationUnexpected
	case codec.ErrCloseCode:
		return CloseCode
	case codec.ErrCloseReason:
		return CloseReason
	}
	return ReservedOpcode // not reached: every codec.ErrProtocol reason is above
}
