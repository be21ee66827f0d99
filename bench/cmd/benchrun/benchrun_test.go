package main

import (
	"testing"
	"time"

	"github.com/microlb/microlb/bench/internal/load"
)

func TestSmokeDefaults(t *testing.T) {
	o := parseFlags([]string{"--smoke", "--reps", "2", "--work", t.TempDir(), "--repo", t.TempDir(), "--stages", "1,5"})
	if o.duration != time.Second || o.reps != 2 || o.benchCount != 1 || o.propReps != 1 || o.base() != "smoke" {
		t.Fatalf("smoke options = %+v", o)
	}
	if !o.wants(5) || o.wants(2) {
		t.Fatalf("stages = %v", o.stages)
	}
	full := parseFlags([]string{"--work", t.TempDir()})
	if full.duration != 10*time.Second || full.reps != 3 || full.propReps != 20 || full.base() != "latest" || full.mode() != "full" {
		t.Fatalf("full options = %+v", full)
	}
}

func TestFirstError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"# github.com/x/y\n./a.go:3:2: undefined: z\n./a.go:4:2: more\n", "./a.go:3:2: undefined: z"},
		{"no Go files in /work/main/api-gateway\n", "no Go files in /work/main/api-gateway"},
		{"\n# only headers\n", ""},
	}
	for _, tt := range tests {
		if got := firstError(tt.in); got != tt.want {
			t.Errorf("firstError(%q) = %q, want %q", tt.in, got, tt.want)
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
