package closerule_test

import (
	"errors"
	"testing"

	"wsproxy/codec"
	"wsproxy/core/metrics"
	"wsproxy/internal/closerule"
)

// TestRules: each rule's label in metrics (metrics.CloseReasons in the
// order of the rules, so that no rule's counter goes unexported), that
// it has a text, whether a frame breaks it, and the codec error that maps
// to it.
func TestRules(t *testing.T) {
	tests := []struct {
		rule      closerule.Rule
		label     string
		violation bool
		err       error // codec's protocol error of the rule; nil: none
	}{
		{closerule.Idle, "idle_timeout", false, nil},
		{closerule.Ping, "ping_timeout", false, nil},
		{closerule.Drain, "drain", false, nil},
		{closerule.ServerDrained, "server_drained", false, nil},
		{closerule.ServerRemoved, "server_removed", false, nil},
		{closerule.MaxFrame, "max_frame", true, nil},
		{closerule.MaxMessage, "max_message", true, nil},
		{closerule.ReservedOpcode, "reserved_opcode", true, codec.ErrReservedOpCode},
		{closerule.Rsv, "rsv_without_extension", true, codec.ErrReservedBits},
		{closerule.RsvPlacement, "rsv1_placement", true, codec.ErrRsvPlacement},
		{closerule.Unmasked, "unmasked_client_frame", true, codec.ErrMaskRequired},
		{closerule.Masked, "masked_server_frame", true, codec.ErrMaskUnexpected},
		{closerule.ControlTooLong, "control_too_long", true, codec.ErrControlTooLong},
		{closerule.ControlFragmented, "control_fragmented", true, codec.ErrControlFragmented},
		{closerule.CloseLength, "close_length", true, codec.ErrCloseLength},
		{closerule.FrameLength, "frame_length", true, codec.ErrFrameLength},
		{closerule.ContinuationExpected, "continuation_expected", true, codec.ErrContinuationExpected},
		{closerule.ContinuationUnexpected, "continuation_unexpected", true, codec.ErrContinuationUnexpected},
		{closerule.CloseCode, "close_code", true, codec.ErrCloseCode},
		{closerule.CloseReason, "close_reason", true, codec.ErrCloseReason},
	}
	if len(tests) != len(metrics.CloseReasons) { // and NumRules-1 (closerule.go)
		t.Fatalf("%d rules tested; want the %d of metrics.CloseReasons", len(tests), len(metrics.CloseReasons))
	}
	for i, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			if tt.rule != closerule.Rule(i+1) || tt.rule.Label() != tt.label {
				t.Errorf("rule %d labelled %q; want rule %d labelled %q", tt.rule, tt.rule.Label(), i+1, tt.label)
			}
			if tt.rule.Text() == "" || tt.rule.Violation() != tt.violation {
				t.Errorf("text %q, violation %v; want a text, violation %v", tt.rule.Text(), tt.rule.Violation(), tt.violation)
			}
			if tt.err != nil && closerule.For(tt.err) != tt.rule {
				t.Errorf("For(%v) = %s; want %s", tt.err, closerule.For(tt.err).Label(), tt.label)
			}
		})
	}
	if closerule.None.Label() != "none" || closerule.None.Text() != "" || closerule.None.Violation() {
		t.Error("None: want label none, no text, no violation")
	}
	// The Close-reason error is a rule of its own, not a malformed frame.
	if errors.Is(codec.ErrCloseReason, codec.ErrMalformed) {
		t.Error("codec.ErrCloseReason is codec.ErrMalformed; want a sentinel of its own")
	}
}
