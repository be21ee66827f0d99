package pairs

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	got := Schedule("nginx", []string{"direct", "nginx", "caddy"}, 3)
	want := []Slot{
		{0, "direct", true}, {0, "caddy", true},
		{1, "direct", false}, {1, "caddy", false},
		{2, "direct", true}, {2, "caddy", true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Schedule =\n %v\nwant\n %v", got, want)
	}
	if got := Schedule("nginx", nil, 3); len(got) != 0 {
		t.Fatalf("Schedule with no others = %v, want none", got)
	}
}

func sample(rps float64, p99ms int64) Sample {
	return Sample{RPS: rps, P50: time.Duration(p99ms) * time.Millisecond / 2, P99: time.Duration(p99ms) * time.Millisecond}
}

func TestRatios(t *testing.T) {
	ps := []Pair{
		{Rep: 0, Target: "gw", Base: sample(1000, 10), Other: sample(800, 20)},
		{Rep: 0, Target: "caddy", Base: sample(1000, 10), Other: sample(500, 10)},
		{Rep: 1, Target: "gw", Base: sample(2000, 10), Other: sample(1800, 10)},
		{Rep: 2, Target: "gw", Base: sample(1000, 20), Other: sample(1000, 10)},
	}
	ps[2].Other.Errors, ps[0].Other.Errors = 3, 4
	got := Ratios(ps)
	if len(got) != 2 || got[0].Target != "gw" || got[1].Target != "caddy" {
		t.Fatalf("Ratios targets = %+v, want gw then caddy", got)
	}
	gw := got[0]
	tests := []struct {
		name      string
		got, want float64
	}{
		{"gw N", float64(gw.N), 3},
		{"gw RPS median of 0.8, 0.9, 1.0", gw.RPS, 0.9},
		{"gw RPS min", gw.RPSMin, 0.8},
		{"gw RPS max", gw.RPSMax, 1.0},
		{"gw P99 median of 2, 1, 0.5", gw.P99, 1},
		{"gw P50 median of 2, 1, 0.5", gw.P50, 1},
		{"gw errors", float64(gw.Errors), 7},
		{"gw other RPS median", gw.Other.RPS, 1000},
		{"gw base RPS median", gw.Base.RPS, 1000},
		{"gw other P99 median", float64(gw.Other.P99), float64(10 * time.Millisecond)},
		{"caddy RPS", got[1].RPS, 0.5},
		{"caddy P99", got[1].P99, 1},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestRatiosZeroBase(t *testing.T) {
	got := Ratios([]Pair{{Target: "x", Base: Sample{}, Other: sample(100, 1)}})
	if len(got) != 1 || !math.IsNaN(got[0].RPS) || !math.IsNaN(got[0].P99) || !math.IsNaN(got[0].RPSMin) {
		t.Fatalf("Ratios with a zero base = %+v, want NaN ratios", got)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := Median(tt.in); got != tt.want {
				t.Fatalf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Fatalf("Median sorted its input")
			}
		})
	}
	if !math.IsNaN(Median(nil)) {
		t.Fatal("Median(nil) is not NaN")
	}
}

func TestPercentile(t *testing.T) {
	twenty := make([]float64, 20)
	for i := range twenty {
		twenty[i] = float64(20 - i) // 20..1
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(1000 - i)
	}
	tests := []struct {
		name     string
		in       []float64
		perMille int
		want     float64
	}{
		{name: "p50 of 20", in: twenty, perMille: 500, want: 10},
		{name: "p95 of 20", in: twenty, perMille: 950, want: 19},
		{name: "p99 of 20 is the largest", in: twenty, perMille: 990, want: 20},
		{name: "p100", in: twenty, perMille: 1000, want: 20},
		{name: "tiny p is the smallest", in: twenty, perMille: 1, want: 1},
		{name: "p99 of one", in: []float64{7}, perMille: 990, want: 7},
		{name: "none", perMille: 500, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.in, tt.perMille); got != tt.want {
				t.Fatalf("Percentile(%d‰) = %v, want %v", tt.perMille, got, tt.want)
			}
		})
	}
	if got := Percentile(thousand, 999); got != 999 {
		t.Fatalf("p99.9 of 1..1000 = %v, want the 999th", got)
	}
}
