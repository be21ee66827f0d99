package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		wantErr    string
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
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseStatCPU error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestProcCPUOfThisProcess(t *testing.T) {
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatalf("procCPU(self): %v", err)
	}
	if _, err := procCPU(1 << 30); err == nil {
		t.Fatal("procCPU of a pid that does not exist: no error")
	}
}

func TestCPUMeter(t *testing.T) {
	var none *cpuMeter
	none.start()(10) // a nil meter measures nothing and does not panic

	m := &cpuMeter{pid: os.Getpid()}
	for range 2 {
		done := m.start()
		done(500)
	}
	u := m.use("t", "p")
	if u.Requests != 1000 || u.Note != "" || u.CPU < 0 || u.PerRequest != u.CPU/1000 {
		t.Fatalf("use = %+v, want 1000 requests, no note, CPU/1000 per request", u)
	}

	gone := &cpuMeter{pid: 1 << 30}
	gone.start()(5)
	if u := gone.use("t", "p"); u.Note == "" || u.Requests != 0 || u.PerRequest != 0 {
		t.Fatalf("use of a gone process = %+v, want a note and no figures", u)
	}
}

func TestTimeWaitOnPort(t *testing.T) {
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	row := func(local, remote, st string) string {
		return "   0: " + local + " " + remote + " " + st + " 00000000:00000000 03:00001544 00000000     0        0 0 3 0000000000000000\n"
	}
	// Port 8000 is 1F40.
	tests := []struct {
		name    string
		table   string
		want    int
		wantErr bool
	}{
		{name: "empty", table: header, want: 0},
		{name: "local and remote, IPv4", table: header +
			row("0100007F:1F40", "0100007F:C350", "06") + // node side
			row("0100007F:C351", "0100007F:1F40", "06") + // client side
			row("0100007F:C352", "0100007F:1F40", "01") + // established: not counted
			row("0100007F:1F40", "00000000:0000", "0A") + // listening: not counted
			row("0100007F:C353", "0100007F:1F41", "06"), // another port
			want: 2},
		{name: "IPv6", table: header +
			row("0000000000000000FFFF00000100007F:1F40", "0000000000000000FFFF00000100007F:D000", "06") +
			row("00000000000000000000000001000000:9C40", "00000000000000000000000001000000:1F40", "06"),
			want: 2},
		{name: "bad address", table: header + row("0100007F", "0100007F:1F40", "06"), wantErr: true},
		{name: "bad port", table: header + row("0100007F:XYZ", "0100007F:1F40", "06"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := timeWaitOnPort([]byte(tt.table), 8000)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("timeWaitOnPort = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCountTimeWaitReadsProc(t *testing.T) {
	if _, err := countTimeWait(1); err != nil {
		t.Fatalf("countTimeWait: %v", err)
	}
}

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		wantErr      string
	}{
		{name: "status", status: "Name:\tstocknode\nVmPeak:\t  1000 kB\nVmRSS:\t   24840 kB\nRssAnon:\t 100 kB\n", want: 24840 << 10},
		{name: "no line", status: "Name:\tx\n", wantErr: "no VmRSS"},
		{name: "no unit", status: "VmRSS:\t24840\n", wantErr: "bad line"},
		{name: "not a number", status: "VmRSS:\tx kB\n", wantErr: "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRSS(tt.status)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRSS error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseRSS = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if n, err := procRSS(os.Getpid()); err != nil || n <= 0 {
		t.Fatalf("procRSS(self) = %d, %v", n, err)
	}
}
