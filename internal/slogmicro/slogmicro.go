// Package slogmicro adapts log/slog to go-micro's logger.Logger, so that
// go-micro and the microlb selector log through a binary's slog handler
// (stderr) rather than through go-micro's default logger, which prints plain
// text to stdout.
//
//	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
//	slogmicro.SetDefault(log) // before any go-micro server, client or selector is built
package slogmicro

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"

	"go-micro.dev/v4/logger"
)

// Levels of go-micro that slog does not name: trace sits below debug and
// fatal above error, 4 apart as slog's own levels are.
const (
	LevelTrace = slog.LevelDebug - 4
	LevelFatal = slog.LevelError + 4
)

// Level maps a go-micro level to a slog level.
func Level(l logger.Level) slog.Level {
	switch {
	case l <= logger.TraceLevel:
		return LevelTrace
	case l == logger.DebugLevel:
		return slog.LevelDebug
	case l == logger.InfoLevel:
		return slog.LevelInfo
	case l == logger.WarnLevel:
		return slog.LevelWarn
	case l == logger.ErrorLevel:
		return slog.LevelError
	default:
		return LevelFatal
	}
}

// Logger is a go-micro logger.Logger that writes every entry to a slog
// handler: the message as the record's message, the go-micro level mapped by
// Level, and the fields as attributes sorted by key. An entry is written when
// both the go-micro level of Options (which starts at the lowest level the
// handler accepts) and the handler allow it. The Out and CallerSkipCount
// options are kept in Options but not used: the handler decides the output.
// A Logger is safe for concurrent use.
type Logger struct {
	h     slog.Handler
	state atomic.Pointer[state]
}

// state is what Init replaces at once: the options and the slog logger that
// carries their fields.
type state struct {
	opts logger.Options
	log  *slog.Logger
}

var _ logger.Logger = (*Logger)(nil)

// New returns a Logger over h with opts applied.
func New(h slog.Handler, opts ...logger.Option) *Logger {
	l := &Logger{h: h}
	o := logger.Options{Level: lowest(h), Fields: map[string]any{}, Context: context.Background()}
	l.store(o, opts)
	return l
}

// SetDefault makes a Logger over log's handler go-micro's default logger
// (logger.DefaultLogger and logger.DefaultHelper). go-micro reads the default
// when a server, client, registry or selector is built, so call it first.
func SetDefault(log *slog.Logger) {
	logger.DefaultLogger = New(log.Handler())
	logger.DefaultHelper = logger.NewHelper(logger.DefaultLogger)
}

// lowest is the lowest go-micro level that h accepts.
func lowest(h slog.Handler) logger.Level {
	for l := logger.TraceLevel; l < logger.FatalLevel; l++ {
		if h.Enabled(context.Background(), Level(l)) {
			return l
		}
	}
	return logger.FatalLevel
}

// store applies opts to a copy of o and swaps the result in.
func (l *Logger) store(o logger.Options, opts []logger.Option) {
	o.Fields = maps.Clone(o.Fields)
	for _, f := range opts {
		f(&o)
	}
	if o.Fields == nil {
		o.Fields = map[string]any{}
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	attrs := make([]any, 0, len(o.Fields))
	for _, k := range slices.Sorted(maps.Keys(o.Fields)) {
		attrs = append(attrs, slog.Any(k, o.Fields[k]))
	}
	l.state.Store(&state{opts: o, log: slog.New(l.h).With(attrs...)})
}

// Init applies opts to the logger's options, as go-micro's loggers do.
func (l *Logger) Init(opts ...logger.Option) error {
	l.store(l.state.Load().opts, opts)
	return nil
}

// Options returns a copy of the logger's options.
func (l *Logger) Options() logger.Options {
	o := l.state.Load().opts
	o.Fields = maps.Clone(o.Fields)
	return o
}

// Fields returns a new Logger over the same handler with fields added to
// this logger's fields; this logger is unchanged.
func (l *Logger) Fields(fields map[string]any) logger.Logger {
	o := l.Options()
	maps.Copy(o.Fields, fields)
	n := &Logger{h: l.h}
	n.store(o, nil)
	return n
}

// Log writes fmt.Sprint(v...) at level.
func (l *Logger) Log(level logger.Level, v ...any) {
	s := l.state.Load()
	if !s.opts.Level.Enabled(level) {
		return
	}
	s.log.Log(s.opts.Context, Level(level), fmt.Sprint(v...))
}

// Logf writes fmt.Sprintf(format, v...) at level.
func (l *Logger) Logf(level logger.Level, format string, v ...any) {
	s := l.state.Load()
	if !s.opts.Level.Enabled(level) {
		return
	}
	s.log.Log(s.opts.Context, Level(level), fmt.Sprintf(format, v...))
}

// String returns "slog".
func (l *Logger) String() string { return "slog" }
