package slogmicro

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go-micro.dev/v4/logger"
)

// records decodes the JSON lines in buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		delete(m, "time")
		out = append(out, m)
	}
	return out
}

func newJSON(level slog.Level) (*bytes.Buffer, slog.Handler) {
	buf := &bytes.Buffer{}
	return buf, slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level})
}

func TestLevel(t *testing.T) {
	tests := []struct {
		name string
		in   logger.Level
		want slog.Level
	}{
		{"trace", logger.TraceLevel, LevelTrace},
		{"debug", logger.DebugLevel, slog.LevelDebug},
		{"info", logger.InfoLevel, slog.LevelInfo},
		{"warn", logger.WarnLevel, slog.LevelWarn},
		{"error", logger.ErrorLevel, slog.LevelError},
		{"fatal", logger.FatalLevel, LevelFatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Level(tt.in); got != tt.want {
				t.Fatalf("Level(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLogWritesToHandler(t *testing.T) {
	tests := []struct {
		name      string
		handler   slog.Level
		log       func(l *Logger)
		want      []map[string]any
		wantLevel logger.Level
	}{
		{
			name:    "info passes an info handler",
			handler: slog.LevelInfo,
			log:     func(l *Logger) { l.Log(logger.InfoLevel, "hello ", 42) },
			want:    []map[string]any{{"level": "INFO", "msg": "hello 42"}},
		},
		{
			name:    "logf formats",
			handler: slog.LevelInfo,
			log:     func(l *Logger) { l.Logf(logger.WarnLevel, "node %s: %d", "n1", 3) },
			want:    []map[string]any{{"level": "WARN", "msg": "node n1: 3"}},
		},
		{
			name:    "debug is dropped by an info handler",
			handler: slog.LevelInfo,
			log: func(l *Logger) {
				l.Log(logger.DebugLevel, "no")
				l.Log(logger.TraceLevel, "no")
				l.Log(logger.ErrorLevel, "yes")
			},
			want: []map[string]any{{"level": "ERROR", "msg": "yes"}},
		},
		{
			name:    "trace and fatal map outside slog's names",
			handler: LevelTrace,
			log: func(l *Logger) {
				l.Log(logger.TraceLevel, "t")
				l.Log(logger.FatalLevel, "f")
			},
			want: []map[string]any{{"level": "DEBUG-4", "msg": "t"}, {"level": "ERROR+4", "msg": "f"}},
		},
		{
			name:    "go-micro level filters too",
			handler: LevelTrace,
			log: func(l *Logger) {
				_ = l.Init(logger.WithLevel(logger.WarnLevel))
				l.Log(logger.InfoLevel, "no")
				l.Log(logger.WarnLevel, "yes")
			},
			want: []map[string]any{{"level": "WARN", "msg": "yes"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, h := newJSON(tt.handler)
			tt.log(New(h))
			got := records(t, buf)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				for k, v := range tt.want[i] {
					if got[i][k] != v {
						t.Fatalf("record %d: %s = %v, want %v (record %v)", i, k, got[i][k], v, got[i])
					}
				}
				if len(got[i]) != len(tt.want[i]) {
					t.Fatalf("record %d = %v, want exactly %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestOptionsLevelFollowsHandler(t *testing.T) {
	tests := []struct {
		name    string
		handler slog.Level
		want    logger.Level
	}{
		{"trace", LevelTrace, logger.TraceLevel},
		{"debug", slog.LevelDebug, logger.DebugLevel},
		{"info", slog.LevelInfo, logger.InfoLevel},
		{"warn", slog.LevelWarn, logger.WarnLevel},
		{"error", slog.LevelError, logger.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := newJSON(tt.handler)
			l := New(h)
			if got := l.Options().Level; got != tt.want {
				t.Fatalf("Options().Level = %v, want %v", got, tt.want)
			}
			if !logger.V(tt.want, l) || (tt.want > logger.TraceLevel && logger.V(tt.want-1, l)) {
				t.Fatalf("logger.V disagrees with level %v", tt.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	buf, h := newJSON(slog.LevelInfo)
	base := New(h, logger.WithFields(map[string]any{"service": "greeter"}))
	child := base.Fields(map[string]any{"node": "n1", "attempt": 2})
	child.Log(logger.InfoLevel, "child")
	base.Log(logger.InfoLevel, "base")

	got := records(t, buf)
	want := []map[string]any{
		{"level": "INFO", "msg": "child", "service": "greeter", "node": "n1", "attempt": float64(2)},
		{"level": "INFO", "msg": "base", "service": "greeter"},
	}
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("record %d = %v, want %v", i, got[i], want[i])
		}
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Fatalf("record %d: %s = %v, want %v", i, k, got[i][k], v)
			}
		}
	}
	if f := base.Options().Fields; len(f) != 1 || f["service"] != "greeter" {
		t.Fatalf("base fields changed: %v", f)
	}
}

func TestFieldsSortedByKey(t *testing.T) {
	buf, h := newJSON(slog.LevelInfo)
	New(h).Fields(map[string]any{"b": 1, "c": 1, "a": 1}).Log(logger.InfoLevel, "m")
	line := buf.String()
	if a, b, c := strings.Index(line, `"a"`), strings.Index(line, `"b"`), strings.Index(line, `"c"`); !(a < b && b < c) {
		t.Fatalf("fields not sorted by key: %s", line)
	}
}

func TestSetDefault(t *testing.T) {
	oldLogger, oldHelper := logger.DefaultLogger, logger.DefaultHelper
	t.Cleanup(func() { logger.DefaultLogger, logger.DefaultHelper = oldLogger, oldHelper })

	buf, h := newJSON(slog.LevelInfo)
	SetDefault(slog.New(h))
	logger.Logf(logger.WarnLevel, "via %s", "logger.Logf")
	logger.Info("via logger.Info")
	logger.DefaultHelper.Errorf("via the helper")

	got := records(t, buf)
	want := []string{"WARN via logger.Logf", "INFO via logger.Info", "ERROR via the helper"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i, w := range want {
		if s := got[i]["level"].(string) + " " + got[i]["msg"].(string); s != w {
			t.Fatalf("record %d = %q, want %q", i, s, w)
		}
	}
	if logger.DefaultLogger.String() != "slog" {
		t.Fatalf("DefaultLogger = %s, want slog", logger.DefaultLogger)
	}
}

func TestConcurrentInitAndLog(t *testing.T) {
	_, h := newJSON(slog.LevelInfo)
	l := New(h)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 0 {
				_ = l.Init(logger.WithFields(map[string]any{"i": i}))
			}
			l.Logf(logger.InfoLevel, "%d", i)
			_ = l.Fields(map[string]any{"k": i})
		}()
	}
	wg.Wait()
}
