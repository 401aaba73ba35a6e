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
	return NewLoggerVar(w, lc, level, new(slog.LevelVar))
}

// NewLoggerVar is NewLogger with the level kept in lv, which the caller
// may change later (a reload changes log.level in place).
func NewLoggerVar(w io.Writer, lc config.Log, level string, lv *slog.LevelVar) (*slog.Logger, error) {
	if err := SetLevel(lv, lc, level); err != nil {
		return nil, err
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

// SetLevel sets lv to the level lc names, or level when not empty (the
// -log-level flag).
func SetLevel(lv *slog.LevelVar, lc config.Log, level string) error {
	if level == "" {
		level = lc.Level
	}
	var l slog.Level
	if level != "" {
		if err := l.UnmarshalText([]byte(level)); err != nil {
			return fmt.Errorf("log level %q: want debug, info, warn or error", level)
		}
	}
	lv.Set(l)
	return nil
}
