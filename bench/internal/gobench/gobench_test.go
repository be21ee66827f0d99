package gobench

import (
	"math"
	"strings"
	"testing"
)

const out = `goos: linux
goarch: amd64
pkg: github.com/microlb/microlb/selector
cpu: AMD EPYC
BenchmarkSelect/gomicro-default/3-2         	  200000	      1600 ns/op	     416 B/op	      11 allocs/op
BenchmarkSelect/roundrobin/3-2              	 9000000	       160 ns/op	      96 B/op	       2 allocs/op
BenchmarkSelect/gomicro-default/3-2         	  200000	      1800 ns/op	     416 B/op	      11 allocs/op
BenchmarkSelect/roundrobin/3-2              	 9000000	       200 ns/op	      96 B/op	       2 allocs/op
BenchmarkSelect/gomicro-default/3-2         	  200000	      1700 ns/op	     416 B/op	      11 allocs/op
BenchmarkSelect/roundrobin/3-2              	 9000000	       170 ns/op	      96 B/op	       2 allocs/op
BenchmarkSelect/roundrobin/1000-2           	 9000000	       100 ns/op	      96 B/op	       2 allocs/op
BenchmarkRebuild/3-2                        	  500000	      2000 ns/op
PASS
ok  	github.com/microlb/microlb/selector	12.3s
`

func TestParse(t *testing.T) {
	runs, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 8 {
		t.Fatalf("got %d runs, want 8", len(runs))
	}
	first := runs[0]
	if first.Name != "BenchmarkSelect/gomicro-default/3" || first.Iters != 200000 || first.NsOp != 1600 ||
		first.BytesOp != 416 || first.AllocsOp != 11 {
		t.Fatalf("first run = %+v", first)
	}
	last := runs[7]
	if last.Name != "BenchmarkRebuild/3" || last.NsOp != 2000 || !math.IsNaN(last.AllocsOp) || !math.IsNaN(last.BytesOp) {
		t.Fatalf("run without -benchmem = %+v", last)
	}
	if _, err := Parse("BenchmarkX-2 notanumber 5 ns/op\n"); err == nil {
		t.Fatal("Parse accepted a bad iteration count")
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkSelect/hash/3-2":          "BenchmarkSelect/hash/3",
		"BenchmarkSelect/gomicro-default/3": "BenchmarkSelect/gomicro-default/3",
		"BenchmarkX":                        "BenchmarkX",
		"BenchmarkSelect/gomicro-default":   "BenchmarkSelect/gomicro-default",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummariseAndSelectRows(t *testing.T) {
	runs, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	stats := Summarise(runs)
	if len(stats) != 4 {
		t.Fatalf("got %d stats, want 4", len(stats))
	}
	base := stats[0]
	if base.N != 3 || base.NsOp != 1700 || math.Abs(base.Spread-100.0/1700) > 1e-12 || base.AllocsOp != 11 {
		t.Fatalf("baseline stat = %+v", base)
	}
	rows := SelectRows(stats)
	tests := []struct {
		strategy string
		nodes    int
		speedup  float64
	}{
		{Baseline, 3, 1},
		{"roundrobin", 3, 10},
		{"roundrobin", 1000, math.NaN()}, // no baseline at 1000 nodes
	}
	if len(rows) != len(tests) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(tests), rows)
	}
	for i, tt := range tests {
		r := rows[i]
		same := r.Speedup == tt.speedup || (math.IsNaN(r.Speedup) && math.IsNaN(tt.speedup))
		if r.Strategy != tt.strategy || r.Nodes != tt.nodes || !same {
			t.Errorf("row %d = %s/%d %v×, want %s/%d %v×", i, r.Strategy, r.Nodes, r.Speedup, tt.strategy, tt.nodes, tt.speedup)
		}
	}
	text := Text(rows)
	if !strings.Contains(text, "Select/roundrobin/3") || !strings.Contains(text, "10.00x") {
		t.Fatalf("Text =\n%s", text)
	}
}
