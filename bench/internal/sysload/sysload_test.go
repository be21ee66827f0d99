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

func TestParseProc(t *testing.T) {
	tests := []struct {
		name, text, wantErr string
		parse               func(string) (int64, error)
		want                int64
	}{
		{name: "stat", text: "1234 (api-gateway) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0",
			parse: statCPU, want: int64(3250 * time.Millisecond)},
		{name: "stat: name with spaces and parentheses", text: "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 0 0",
			parse: statCPU, want: int64(30 * time.Millisecond)},
		{name: "stat: no name", text: "1234 S 1", parse: statCPU, wantErr: "no command name"},
		{name: "stat: short", text: "1 (x) S 1 2 3", parse: statCPU, wantErr: "fields after the name"},
		{name: "stat: not a number", text: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 2 0 0", parse: statCPU, wantErr: "invalid syntax"},
		{name: "status", text: "Name:\tstocknode\nVmPeak:\t  1000 kB\nVmRSS:\t   24840 kB\nRssAnon:\t 100 kB\n", parse: parseRSS, want: 24840 << 10},
		{name: "status: no line", text: "Name:\tx\n", parse: parseRSS, wantErr: "no VmRSS"},
		{name: "status: no unit", text: "VmRSS:\t24840\n", parse: parseRSS, wantErr: "bad line"},
		{name: "status: not a number", text: "VmRSS:\tx kB\n", parse: parseRSS, wantErr: "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.text)
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && (err != nil || got != tt.want) {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := ProcCPU(os.Getpid()); err != nil {
		t.Fatalf("ProcCPU(self): %v", err)
	}
	if _, err := ProcCPU(1 << 30); err == nil {
		t.Fatal("ProcCPU of a pid that does not exist: no error")
	}
	if n, err := ProcRSS(os.Getpid()); err != nil || n <= 0 {
		t.Fatalf("ProcRSS(self) = %d, %v", n, err)
	}
}

func statCPU(s string) (int64, error) { d, err := parseStatCPU(s); return int64(d), err }
