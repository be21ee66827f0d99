package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/microlb/microlb/bench/internal/gobench"
	"github.com/microlb/microlb/bench/internal/pairs"
	"github.com/microlb/microlb/bench/internal/sysload"
)

// sample is a run with every stage filled in, and a NaN ratio.
func sample() *Results {
	sel := func(strat string, nodes int, ns, speedup, allocs float64) gobench.SelectRow {
		return gobench.SelectRow{Strategy: strat, Nodes: nodes, Speedup: speedup,
			Stat: gobench.Stat{Name: "x", N: 1, NsOp: ns, AllocsOp: allocs, BytesOp: 96}}
	}
	return &Results{
		Mode: "full", Command: "make bench", Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Machine:  Machine{CPU: "Test CPU", Cores: 2, MemGiB: 24, GoVersion: "go1.26.8", Commit: "abc123"},
		Settings: Settings{Duration: 10 * time.Second, Reps: 3, Conns: 64, Threads: 1, Workers: 1, BenchCount: 5, BenchTime: "1s"},
		Stages: []Stage{
			{ID: 1, Name: "selector", Status: StatusOK, Load: sysload.Load{Wall: time.Second, Busy: 0.5, Ours: 0.3, Others: 0.2}},
			{ID: 2, Name: "proxy", Status: StatusOK, Notes: []string{"caddy skipped: not installed"}},
			{ID: 3, Name: "rpc", Status: StatusSkipped, Reason: "./services/producer does not build"},
			{ID: 4, Name: "failover", Status: StatusFailed, Reason: "boom | pipe"},
			{ID: 5, Name: "propagation", Status: StatusOK},
		},
		Selector: []gobench.SelectRow{
			sel(gobench.Baseline, 3, 1700, 1, 11), sel("roundrobin", 3, 100, 17, 2), sel("hash", 3, 200, 8.5, 2),
			sel(gobench.Baseline, 1000, 90000, 1, 1008), sel("roundrobin", 1000, 100, 900, 3),
		},
		Proxy: []Target{
			{Name: NameDirect, Status: StatusOK, Ratio: pairs.Ratio{N: 3, RPS: 2.4, RPSMin: 2.2, RPSMax: 2.5, P99: 0.5}},
			{Name: NameGateway, Status: StatusOK, Ratio: pairs.Ratio{N: 3, RPS: 0.85, RPSMin: 0.8, RPSMax: 0.9, P99: 1.2}},
			{Name: NameNginx, Base: true, Status: StatusOK, Ratio: pairs.Ratio{N: 6, RPS: 1, Other: pairs.Sample{RPS: 20000, P99: time.Millisecond}}},
			{Name: NameCaddy, Status: StatusSkipped, Reason: "caddy not found"},
			{Name: NameHAProxy, Status: StatusOK, Ratio: pairs.Ratio{N: 3, RPS: math.NaN(), RPSMin: math.NaN(), RPSMax: math.NaN(), P99: math.NaN()}},
		},
		Propagation: []Propagation{
			{Selector: NameMicrolb, Samples: []time.Duration{time.Millisecond, 3 * time.Millisecond}, P50: time.Millisecond, P99: 3 * time.Millisecond, Limit: 5 * time.Second},
			{Selector: NameGoMicroSel, Samples: []time.Duration{5 * time.Second}, Censored: 1, P50: 5 * time.Second, P99: 5 * time.Second, Limit: 5 * time.Second},
		},
	}
}

func TestGoals(t *testing.T) {
	got := map[string]Goal{}
	for _, g := range Goals(sample()) {
		got[g.What] = g
	}
	tests := []struct {
		what         string
		known, met   bool
		measuredPart string
	}{
		{"selector pick, 3 nodes", true, false, "8.50× (slowest: hash)"},
		{"selector pick, 1000 nodes", true, true, "900×"},
		{"selector allocs", true, false, "3 (most: roundrobin)"},
		{"HTTP proxy req/s", true, true, "0.85×"},
		{"HTTP proxy p99", true, true, "1.20×"},
		{"HTTP proxy req/s vs Caddy", false, false, ""},
		{"HTTP → RPC req/s", false, false, ""},
		{"failover", false, false, ""},
		{"propagation", true, true, "p99 3.00 ms"},
	}
	for _, tt := range tests {
		g, ok := got[tt.what]
		if !ok {
			t.Errorf("no goal %q", tt.what)
			continue
		}
		if g.Known != tt.known || g.Met != tt.met || !strings.Contains(g.Measured, tt.measuredPart) {
			t.Errorf("%s: known %v met %v measured %q; want %v %v %q", tt.what, g.Known, g.Met, g.Measured, tt.known, tt.met, tt.measuredPart)
		}
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# microlb benchmark results\n",
		"| date | 2026-01-02 03:04 UTC |",
		"| 1. selector | ok | 1s | 50% | 30% | 20% |",
		"**Taken on a busy machine:** other processes used up to 20%",
		"| selector pick, 3 nodes | ≥ 10× go-micro default | 8.50× (slowest: hash) | **missed** |",
		"| HTTP → RPC req/s | ≥ 2× go-micro v4 api | — | not measured |",
		"| microlb api-gateway | 0 | 0 | 0 | 0 | 0.85× (0.80×–0.90×) | 1.20× | 3 |",
		"| caddy | skipped: caddy not found |",
		"| haproxy | 0 | 0 | 0 | 0 | n/a (n/a–n/a) | n/a | 3 |",
		"| nginx | 20000 | 0 | 1.00 ms | 0 | 1 (base) |",
		"skipped: ./services/producer does not build",
		"failed: boom | pipe",
		"| go-micro default | 1 | 5.00 s | 5.00 s | 5.00 s | 1 (limit 5s) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestJSONWritesNaNAsNull(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Proxy []struct {
			Name  string
			Ratio struct{ RPS *float64 }
		}
		Date time.Time
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Proxy) != 5 || v.Proxy[4].Ratio.RPS != nil || *v.Proxy[1].Ratio.RPS != 0.85 || v.Date.Year() != 2026 {
		t.Fatalf("decoded %+v", v)
	}
}

func TestMarkdownPointsToTheMeaning(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if strings.Count(md, meaningNote) != 1 {
		t.Fatalf("want the pointer %q once in:\n%s", meaningNote, md)
	}
	if g, i, s := strings.Index(md, "## Targets"), strings.Index(md, meaningNote), strings.Index(md, "## 1. "); g < 0 || s < 0 || !(g < i && i < s) {
		t.Fatalf("pointer at %d, want it between the targets (at %d) and the stages (at %d)", i, g, s)
	}
}
