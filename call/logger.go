package call

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// slogFactory routes pion's logs to the engine's slog logger, so the TUI's
// terminal stays clean (docs/style.md §8). pion's Trace level maps to Debug.
type slogFactory struct{ log *slog.Logger }

// NewLogger returns a leveled logger for one pion scope.
func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLeveled{log: f.log.With("pion", scope), info: infoLevel(scope)}
}

// infoLevel is where a scope's Info lines go. The pacer and the congestion
// controller log at Info for every packet or estimate (dozens of lines a
// second during a call), which would fill a clinic workstation's disk; their
// Info is demoted to Debug.
func infoLevel(scope string) slog.Level {
	if scope == "pacer" || strings.HasPrefix(scope, "gcc") {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

type slogLeveled struct {
	log  *slog.Logger
	info slog.Level
}

func (l slogLeveled) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l slogLeveled) Trace(msg string)                  { l.logf(slog.LevelDebug-4, "%s", msg) }
func (l slogLeveled) Tracef(format string, args ...any) { l.logf(slog.LevelDebug-4, format, args...) }
func (l slogLeveled) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l slogLeveled) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l slogLeveled) Info(msg string)                   { l.logf(l.info, "%s", msg) }
func (l slogLeveled) Infof(format string, args ...any)  { l.logf(l.info, format, args...) }
func (l slogLeveled) Warn(msg string)                   { l.logf(slog.LevelWarn, "%s", msg) }
func (l slogLeveled) Warnf(format string, args ...any)  { l.logf(slog.LevelWarn, format, args...) }
func (l slogLeveled) Error(msg string)                  { l.logf(slog.LevelError, "%s", msg) }
func (l slogLeveled) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
