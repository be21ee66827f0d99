package sysload

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	busy, total, err := CPUTimes()
	if err != nil || busy <= 0 || total < busy {
		t.Fatalf("CPUTimes = %v, %v, %v", busy, total, err)
	}
	m := Start(func() map[int]bool { return nil })
	end := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(end) { // burn CPU so Ours is measurable
	}
	l := m.Stop()
	if l.Wall < 200*time.Millisecond || l.Busy < 0 || l.Busy > 1 || l.Ours <= 0 || l.Ours > l.Busy || l.Others < 0 {
		t.Fatalf("Load = %+v", l)
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat, wantErr string
		want                time.Duration
	}{
		{name: "plain", stat: "1234 (api-gateway) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0",
			want: 3250 * time.Millisecond},
		{name: "name with spaces and parentheses", stat: "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 0 0",
			want: 30 * time.Millisecond},
		{name: "no name", stat: "1234 S 1", wantErr: "no command name"},
		{name: "short", stat: "1 (x) S 1 2 3", wantErr: "fields after the name"},
		{name: "not a number", stat: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 2 0 0", wantErr: "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("parseStatCPU error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && (err != nil || got != tt.want) {
				t.Fatalf("parseStatCPU = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := ProcCPU(os.Getpid()); err != nil {
		t.Fatalf("ProcCPU(self): %v", err)
	}
	if _, err := ProcCPU(1 << 30); err == nil {
		t.Fatal("ProcCPU of a pid that does not exist: no error")
	}
}
