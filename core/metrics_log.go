package core

import (
	"context"
	"log/slog"
	"time"

	"wsproxy/core/metrics"
	"wsproxy/internal/closerule"
)

// Per-connection log lines. A tunnel is logged twice, when it is upgraded
// and when it closes, if it is sampled in (log.sample); an answer of 5xx
// from the proxy is always logged. They are formatted on the loop's
// goroutine and handed to the Logger's writer: wsproxy run gives it an
// asynchronous one (internal/asynclog) that drops lines rather than make
// the loop wait for a slow destination. Sample busy sites all the same:
// formatting costs the loop too.

// sampleTunnel decides whether a new tunnel's lines are written: a credit of
// log.sample per tunnel, a line whenever it reaches 1, so exactly that
// fraction is kept, evenly spread.
func (s *Server) sampleTunnel(l *Loop, rate float64) bool {
	switch {
	case rate <= 0 || !s.log.Enabled(context.Background(), slog.LevelInfo):
		return false
	case rate >= 1:
		return true
	}
	l.sampled += rate
	if l.sampled < 1 {
		return false
	}
	l.sampled--
	return true
}

// logUpgraded writes the line of a tunnel that just opened; latency is the
// time from its request head to the 101.
func (c *conn) logUpgraded(latency time.Duration) {
	c.cl.l.srv.log.LogAttrs(context.Background(), slog.LevelInfo, "websocket upgraded",
		slog.String("client", c.peer().String()),
		slog.String("route", c.rt.name),
		slog.String("upstream", c.rt.up.name),
		slog.String("server", c.up.srv.name),
		slog.Duration("handshake", latency))
}

// logClosed writes the line of a tunnel that is closing.
func (c *conn) logClosed(who uint8) {
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("client", c.peer().String()),
		slog.String("route", c.rt.name),
		slog.String("upstream", c.rt.up.name))
	if c.up != nil {
		attrs = append(attrs, slog.String("server", c.up.srv.name))
	}
	attrs = append(attrs,
		slog.Duration("duration", time.Duration(c.cl.l.Now.UnixNano()-c.obs.start)),
		slog.String("closed_by", closerNames[who]))
	if r := c.obs.rule; r != closerule.None {
		attrs = append(attrs, slog.String("rule", r.Text()))
		if r.Violation() {
			attrs = append(attrs, slog.String("violated_by", peerNames[c.obs.ruleDir&1]))
		}
	}
	attrs = append(attrs, c.dirAttr(toUpstream), c.dirAttr(toClient))
	c.cl.l.srv.log.LogAttrs(context.Background(), slog.LevelInfo, "websocket closed", attrs...)
}

// dirAttr groups what went in direction d: to_upstream.bytes=… to_upstream.messages=… to_upstream.close=…
func (c *conn) dirAttr(d direction) slog.Attr {
	name := directionNames[d]
	if code := c.obs.code[d]; code != 0 {
		return slog.Group(name, "bytes", c.obs.bytes[d], "messages", c.obs.msgs[d], "close", code)
	}
	return slog.Group(name, "bytes", c.obs.bytes[d], "messages", c.obs.msgs[d])
}

// logFailed writes the line of a request the proxy answered with a 5xx.
func (c *conn) logFailed(status int, err error, routed, upgrade bool) {
	attrs := []slog.Attr{slog.String("client", c.peer().String()), slog.Int("status", status)}
	if routed {
		attrs = append(attrs, slog.String("route", c.rt.name))
		if c.rt.up != nil {
			attrs = append(attrs, slog.String("upstream", c.rt.up.name))
		}
		if c.up != nil && c.up.srv != nil {
			attrs = append(attrs, slog.String("server", c.up.srv.name))
		}
	}
	if upgrade {
		attrs = append(attrs, slog.Bool("websocket", true))
	}
	attrs = append(attrs, slog.String("err", err.Error()))
	c.cl.l.srv.log.LogAttrs(context.Background(), slog.LevelError, "request failed", attrs...)
}

// Names used in log lines and metric labels.
var (
	directionNames = metrics.DirectionNames
	closerNames    = [metrics.NumClosers]string{"unknown", "client", "upstream", "proxy"}
	peerNames      = [2]string{"client", "upstream"} // the sender of frames travelling in a direction
)
