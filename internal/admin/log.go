package admin

import (
	"fmt"
	"io"
	"log/slog"

	"wsproxy/config"
)

// NewLogger returns the logger lc describes (format and level), writing to
// w. level, when not empty, overrides lc.Level: it is the -log-level flag.
// lc.Sample is the core's business: it decides which connections log.
func NewLogger(w io.Writer, lc config.Log, level string) (*slog.Logger, error) {
	if level == "" {
		level = lc.Level
	}
	var lv slog.Level
	if level != "" {
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
		}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch lc.Format {
	case "", config.LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case config.LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", lc.Format)
}
