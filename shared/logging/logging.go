// Package logging builds the zerolog logger every ghnotify service uses.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

// Config selects the log level and format.
type Config struct {
	// Level is trace, debug, info, warn or error.
	Level string
	// Format is "json" (one object a line) or "console" (human-readable).
	Format string
}

// FromEnv reads GHNOTIFY_LOG_LEVEL (default info) and GHNOTIFY_LOG_FORMAT
// (default defaultFormat).
func FromEnv(e *config.Env, defaultFormat string) Config {
	return Config{
		Level:  e.String("GHNOTIFY_LOG_LEVEL", "info"),
		Format: e.String("GHNOTIFY_LOG_FORMAT", defaultFormat),
	}
}

// init sets zerolog's process-wide formats once, before any logger can
// read them: RFC 3339 times, and durations as "1.5s", not as a bare number
// of milliseconds.
func init() {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
}

// New returns a logger writing to w at the configured level and format.
func New(w io.Writer, cfg Config) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if cfg.Level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(cfg.Level))
		if err != nil {
			return zerolog.Nop(), fmt.Errorf("parsing log level %q: %w", cfg.Level, err)
		}
		lvl = l
	}
	switch strings.ToLower(cfg.Format) {
	case "", "json":
	case "console", "text":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)}
	default:
		return zerolog.Nop(), fmt.Errorf("unknown log format %q (json or console)", cfg.Format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a terminal: colour codes are for people
// at a terminal, not for files, pipes and log collectors.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
