package main

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microlb/microlb/bench/internal/load"
)

func TestSmokeDefaults(t *testing.T) {
	o := parseFlags([]string{"--smoke", "--reps", "2", "--work", t.TempDir(), "--repo", t.TempDir(), "--stages", "1,5"})
	if o.duration != time.Second || o.reps != 2 || o.benchCount != 1 || o.propReps != 1 || o.base() != "smoke" ||
		o.warmup != 0 || o.benchTime != "200x" || o.propQuiet != 500*time.Millisecond || o.conns != 64 {
		t.Fatalf("smoke options = %+v", o)
	}
	if !o.wants(5) || o.wants(2) {
		t.Fatalf("stages = %v", o.stages)
	}
	full := parseFlags([]string{"--work", t.TempDir()})
	if full.duration != 10*time.Second || full.reps != 3 || full.propReps != 20 || full.base() != "latest" || full.mode() != "full" ||
		full.warmup != 2*time.Second || full.benchTime != "1s" || full.failDur != 20*time.Second {
		t.Fatalf("full options = %+v", full)
	}
}

func TestFirstError(t *testing.T) {
	for _, c := range [][2]string{ // go build's output, its first error
		{"# github.com/x/y\n./a.go:3:2: undefined: z\n./a.go:4:2: more\n", "./a.go:3:2: undefined: z"},
		{"no Go files in /work/main/api-gateway\n", "no Go files in /work/main/api-gateway"},
		{"\n# only headers\n", ""},
	} {
		if got := firstError(c[0]); got != c[1] {
			t.Errorf("firstError(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

func TestAnalyseFailover(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	t0 := time.Unix(1000, 0)
	recs := []load.Record{
		{Start: ms(100), Latency: ms(2), Status: 200, Node: "a"},
		{Start: ms(900), Latency: ms(150), Status: 502, Err: "HTTP 502"}, // ends after the kill at 1 s
		{Start: ms(1100), Latency: ms(40), Status: 200, Node: "b"},
		{Start: ms(4000), Latency: ms(3), Status: 200, Node: "b"},
	}
	picks := []timedPicks{{t0.Add(ms(950)), 10}, {t0.Add(ms(1000)), 11}, {t0.Add(ms(1050)), 13}, {t0.Add(ms(1100)), 13}}
	f := analyseFailover(recs, picks, ms(1000), ms(500), t0)
	if f.Requests != 4 || f.Errors != 1 || f.ErrorsAfterKill != 1 || f.ErrorKinds["HTTP 502"] != 1 {
		t.Fatalf("counts = %+v", f)
	}
	if !f.UnpickedKnown || f.Unpicked != ms(50) || f.PicksAfterKill != 3 {
		t.Fatalf("unpicked = %v known %v picks %d; want 50ms, true, 3", f.Unpicked, f.UnpickedKnown, f.PicksAfterKill)
	}
	if f.P99Event != ms(150) || f.P99Before != ms(2) || f.NodesAfter["b"] != 2 || f.NodesBefore["a"] != 1 {
		t.Fatalf("latencies/nodes = %+v", f)
	}
	if g := analyseFailover(recs, nil, ms(1000), ms(500), t0); g.UnpickedKnown {
		t.Fatal("no pick readings but UnpickedKnown")
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

func TestEvery(t *testing.T) {
	var n atomic.Int32
	stop := every(time.Millisecond, func() { n.Add(1) })
	time.Sleep(20 * time.Millisecond)
	stop()
	got := n.Load()
	time.Sleep(5 * time.Millisecond)
	if got < 2 || n.Load() != got {
		t.Fatalf("%d calls before stop, %d after; want at least 2, then none", got, n.Load()-got)
	}
}
