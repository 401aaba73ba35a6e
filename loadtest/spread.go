package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// runChildren spreads cfg (defaults applied) over as few child processes
// as MaxPerProcess allows, relays the ready/start handshake so that
// cfg.OnReady sees all of them up at once, and merges their tallies. The
// parent holds no connections itself.
func runChildren(ctx context.Context, cfg *Config, start time.Time) (*tally, error) {
	// Resolve and check the URL here, so a typo fails once, not per child.
	if _, err := newPlan(ctx, cfg); err != nil {
		return nil, err
	}
	n := (cfg.Conns + cfg.MaxPerProcess - 1) / cfg.MaxPerProcess
	msgs := make(chan indexed, n)
	kids := make([]*child, 0, n)
	for i := range n {
		k, err := startChild(i, splitConfig(cfg, i, n), msgs)
		if err != nil {
			for _, k := range kids {
				k.stdin.Close() // end of input: the child stops
			}
			drainChildren(kids, msgs)
			return nil, err
		}
		kids = append(kids, k)
	}

	var tick <-chan time.Time
	if cfg.Progress != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	t := newTally()
	ph, until := phaseRamp, time.Time{}
	done, stopped := ctx.Done(), false
	endRun := func() {}
	tell := func(line string) {
		for _, k := range kids {
			io.WriteString(k.stdin, line+"\n") // a dead child's EPIPE is fine
		}
	}
	for open := n; open > 0; {
		select {
		case im := <-msgs:
			if im.m == nil {
				open--
			}
			kids[im.i].take(im.m)
			if ph == phaseRamp && allReady(kids) && !stopped {
				t.Ramp, ph = time.Since(start), phaseReady
				if cfg.OnReady != nil {
					cfg.OnReady(sumChildren(kids).Up)
				}
				// Duration 0 starts too: the children then close at once,
				// which is a normal end rather than a cancellation.
				if ctx.Err() == nil {
					ph, until = phaseRun, time.Now().Add(cfg.Duration)
					tell(cmdStart)
					if cfg.Duration > 0 {
						endRun = afterOnce(cfg.OnRunEnd, cfg.Duration)
					}
				}
			}
		case <-tick:
			s := sumChildren(kids)
			s.Elapsed, s.Phase = time.Since(start), ph.String()
			if ph == phaseRun && time.Now().After(until) {
				s.Phase = phaseClose.String()
			}
			cfg.Progress(s)
		case <-done:
			done, stopped = nil, true
			endRun()
			tell(cmdStop)
		}
	}
	endRun()
	ramp := t.Ramp
	var errs []error
	for i, k := range kids {
		k.stdin.Close()
		werr := k.cmd.Wait()
		switch {
		case k.res != nil:
			t.addChild(k.res)
		case k.err != "":
			errs = append(errs, fmt.Errorf("%w %d: %s", ErrChild, i, k.err))
		default:
			errs = append(errs, fmt.Errorf("%w %d: no result (%v)", ErrChild, i, werr))
		}
	}
	if ramp > 0 {
		t.Ramp = ramp
	}
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	return t, ctx.Err()
}

// take records one message of the child; nil means its output ended, so
// it will not get ready any more.
func (k *child) take(m *childMsg) {
	switch {
	case m == nil:
		k.ready = true
	case m.Snapshot != nil:
		k.last = *m.Snapshot
	case m.Ready != nil:
		// Every connection of the child is up or failed by now; the next
		// snapshot may be a second away.
		k.ready = true
		k.last.Dialed, k.last.Up, k.last.Failed = k.conns, *m.Ready, k.conns-*m.Ready
	case m.Result != nil:
		k.res = m.Result
		k.last.Up, k.last.Failed, k.last.Dropped = m.Result.Up, m.Result.Failed, m.Result.Dropped
	case m.Error != "":
		k.err = m.Error
	}
}

func allReady(kids []*child) bool {
	for _, k := range kids {
		if !k.ready {
			return false
		}
	}
	return true
}

// sumChildren adds up the children's latest snapshots.
func sumChildren(kids []*child) Snapshot {
	var s Snapshot
	for _, k := range kids {
		s.Dialed += k.last.Dialed
		s.Up += k.last.Up
		s.Failed += k.last.Failed
		s.Dropped += k.last.Dropped
		s.Messages += k.last.Messages
		s.Bytes += k.last.Bytes
	}
	return s
}

// drainChildren waits for children that were told to stop, discarding
// their output, after a failed start of another.
func drainChildren(kids []*child, msgs <-chan indexed) {
	for open := len(kids); open > 0; {
		if im := <-msgs; im.m == nil {
			open--
		}
	}
	for _, k := range kids {
		k.cmd.Wait()
	}
}
