package core

import (
	"wsproxy/codec"
)

// closeRule says why the proxy closed a tunnel on its own: the rule of the
// route's WebSocket policy that a frame broke, or an operation (drain, the
// idle timeout, a dead peer). The tunnel's closing log line names it, at
// info level, and a per-rule counter (the reason label of
// wsproxy_websocket_proxy_closes_total) counts it. A tunnel keeps the first
// rule that fired (connObs.rule).
type closeRule uint8

const (
	ruleNone closeRule = iota
	ruleIdle
	rulePing
	ruleDrain
	ruleServerDrained
	ruleServerRemoved
	// The rules below are broken by a frame of a peer (max_frame,
	// max_message, RFC 6455 checks): the tunnel's closing line is written
	// whatever log.sample says, naming the peer.
	ruleMaxFrame
	ruleMaxMessage
	ruleReservedOpcode
	ruleRsv
	ruleRsvPlacement
	ruleUnmasked
	ruleMasked
	ruleControlTooLong
	ruleControlFragmented
	ruleCloseLength
	ruleFrameLength
	ruleContinuationExpected
	ruleContinuationUnexpected
	ruleCloseCode
	ruleCloseReason
	numCloseRules

	firstViolation = ruleMaxFrame
)

// closeRules name each rule: label in metrics, text in log lines. The
// labels, but none's, are metrics.CloseReasons in this order
// (TestCloseReasons).
var closeRules = [numCloseRules]struct{ label, text string }{
	ruleNone:                   {"none", ""},
	ruleIdle:                   {"idle_timeout", "no data frame within the idle timeout"},
	rulePing:                   {"ping_timeout", "a peer did not answer the proxy's Ping"},
	ruleDrain:                  {"drain", "the proxy is draining"},
	ruleServerDrained:          {"server_drained", "the upstream server is being drained"},
	ruleServerRemoved:          {"server_removed", "the upstream server was removed (on_remove: close)"},
	ruleMaxFrame:               {"max_frame", "frame over max_frame"},
	ruleMaxMessage:             {"max_message", "message over max_message"},
	ruleReservedOpcode:         {"reserved_opcode", "reserved opcode"},
	ruleRsv:                    {"rsv_without_extension", "RSV bits without a negotiated extension"},
	ruleRsvPlacement:           {"rsv1_placement", "RSV1 on a continuation or control frame"},
	ruleUnmasked:               {"unmasked_client_frame", "unmasked client frame"},
	ruleMasked:                 {"masked_server_frame", "masked server frame"},
	ruleControlTooLong:         {"control_too_long", "control frame over 125 bytes"},
	ruleControlFragmented:      {"control_fragmented", "fragmented control frame"},
	ruleCloseLength:            {"close_length", "Close frame with a 1-byte payload"},
	ruleFrameLength:            {"frame_length", "64-bit frame length with the top bit set"},
	ruleContinuationExpected:   {"continuation_expected", "new data message inside a fragmented one"},
	ruleContinuationUnexpected: {"continuation_unexpected", "continuation frame outside a fragmented message"},
	ruleCloseCode:              {"close_code", "Close code that must not be sent (1005, 1006, 1015, below 1000, 5000 and up)"},
	ruleCloseReason:            {"close_reason", "Close reason that is not UTF-8"},
}

// ruleFor maps a codec protocol error to its rule.
func ruleFor(err error) closeRule {
	switch err {
	case codec.ErrReservedOpCode:
		return ruleReservedOpcode
	case codec.ErrReservedBits:
		return ruleRsv
	case codec.ErrRsvPlacement:
		return ruleRsvPlacement
	case codec.ErrMaskRequired:
		return ruleUnmasked
	case codec.ErrMaskUnexpected:
		return ruleMasked
	case codec.ErrControlTooLong:
		return ruleControlTooLong
	case codec.ErrControlFragmented:
		return ruleControlFragmented
	case codec.ErrCloseLength:
		return ruleCloseLength
	case codec.ErrFrameLength:
		return ruleFrameLength
	case codec.ErrContinuationExpected:
		return ruleContinuationExpected
	case codec.ErrContinuationUnexpected:
		return ruleContinuationUnexpected
	case codec.ErrCloseCode:
		return ruleCloseCode
	case codec.ErrCloseReason:
		return ruleCloseReason
	}
	return ruleReservedOpcode // not reached: every codec.ErrProtocol reason is above
}

// noteRule records that the proxy closes c under rule, the first time
// only; d is the direction of the frame that broke it (for violations).
// It counts the rule, and makes sure a violation's closing line is logged.
func (c *conn) noteRule(rule closeRule, d direction) {
	if c.obs.rule != ruleNone {
		return
	}
	c.obs.rule, c.obs.ruleDir = rule, uint8(d)
	if rule >= firstViolation {
		c.obs.bits |= obsLog
	}
	if lm := c.l.obs; lm != nil {
		lm.ProxyCloses[rule].Add(1)
	}
}
