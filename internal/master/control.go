package master

import (
	"context"
	"sync"

	"wsproxy/internal/control"
)

// Message types the master sends its workers over the control channel
// (internal/control). Each is a request: the worker answers, or refuses
// with an error.
const (
	// MsgApply carries a configuration (an ApplyRequest, JSON) to apply
	// in place; the reply is what changed, for the log. A worker that
	// cannot apply it keeps what it serves and answers an error.
	MsgApply = "apply"
)

// answer is one worker's reply to a request sent to several.
type answer struct {
	w   *worker
	msg control.Message
	err error
}

// callAll sends the same request to every worker of ws at once and
// returns their answers in the order of ws. A worker without a control
// channel answers an error.
func callAll(ctx context.Context, ws []*worker, msgType string, body []byte) []answer {
	out := make([]answer, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		out[i].w = w
		wg.Go(func() { out[i].msg, out[i].err = w.ctl.Call(ctx, msgType, body) })
	}
	wg.Wait()
	return out
}
