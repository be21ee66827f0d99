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

// sample is a run with every stage but 3 and 4 filled in, and a NaN ratio.
func sample() *Results {
	tailBase := TailFigures{Requests: 100, Success: 1, P99: 2 * time.Millisecond}
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
			{ID: 6, Name: "stock", Status: StatusOK}, {ID: 7, Name: "timewait", Status: StatusOK}, {ID: 8, Name: "tail", Status: StatusOK},
		},
		Tail: &Tail{Rate: 300, ClientTimeout: 2 * time.Second, Fault: "Stalls.", Duration: 45 * time.Second, BaseDuration: 20 * time.Second,
			Stalled: []TailRow{
				{Name: "gw, leastloaded", Strategy: "leastloaded", Config: "defaults", Default: true, Base: &tailBase,
					Run: TailFigures{Requests: 1000, Failed: 2, Success: 0.998, P50: time.Millisecond, P99: 8 * time.Millisecond,
						P999: time.Second, Max: time.Second, Late: 10, MaxLag: 30 * time.Millisecond, Errors: map[string]int64{"HTTP 504": 2}}},
				{Name: TailGoMicro, Err: "boom | pipe"},
			},
			Unequal: "1×, 2×, 4×.", Speeds: []TailRow{{Name: "gw, random", Strategy: "random", Default: true, Run: tailBase}}},
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
		Stock: &Stock{
			Targets: []Target{
				{Name: NameGatewayStock, Status: StatusOK, Ratio: pairs.Ratio{N: 3, RPS: 1.8, RPSMin: 1.6, RPSMax: 2.1, P99: 0.7,
					Other: pairs.Sample{RPS: 5400, P50: 9 * time.Millisecond, P99: 20 * time.Millisecond}}},
				{Name: NameGatewayGRPC, Status: StatusOK, Ratio: pairs.Ratio{N: 3, RPS: 1.2, RPSMin: 1.1, RPSMax: 1.3, P99: 1.1,
					Other: pairs.Sample{RPS: 3600, P50: 15 * time.Millisecond, P99: 31 * time.Millisecond}}},
				{Name: NameGoMicroStock, Base: true, Status: StatusOK, Ratio: pairs.Ratio{N: 6, RPS: 1, Errors: 2,
					Other: pairs.Sample{RPS: 3000, P50: 18 * time.Millisecond, P99: 29 * time.Millisecond}}},
			},
			CPU: []CPUUse{
				{Target: NameGatewayStock, Process: "microlb api-gateway", CPU: 27 * time.Second, Requests: 162000, PerRequest: 166666 * time.Nanosecond},
				{Target: NameGatewayGRPC, Process: "microlb api-gateway", Note: "open /proc/1/stat: no such file"},
				{Target: NameGoMicroStock, Process: "go-micro api", CPU: 54 * time.Second, Requests: 180000, PerRequest: 300 * time.Microsecond},
			},
			Paths: []string{"/stockgreeter/Greeter/Hello", "/stockgreeter/greeter/hello"},
		},
		TimeWait: &TimeWait{Duration: 120 * time.Second, Conns: 64, Threads: 1, Node: "127.0.0.1:9000", TwReuse: "2",
			Requests: 600000, RPS: 5000, P99: 25 * time.Millisecond, MaxTimeWait: 40, Samples: 121,
			NodeRSSBefore: 25 << 20, NodeRSSAfter: 230 << 20},
	}
}

func TestGoals(t *testing.T) {
	tests := []struct {
		name, what, meas string
		change           func(r *Results)
		known, met       bool
	}{
		{what: "selector pick, 3 nodes", known: true, meas: "8.50× (slowest: hash)"},
		{what: "selector pick, 1000 nodes", known: true, met: true, meas: "900×"},
		{what: "selector allocs", known: true, meas: "3 (most: roundrobin)"},
		{what: "HTTP proxy req/s", known: true, met: true, meas: "0.85×"},
		{what: "HTTP proxy p99", known: true, met: true, meas: "1.20×"},
		{what: "HTTP proxy req/s vs Caddy"},
		{what: "HTTP → RPC req/s"},
		{what: "failover"},
		{what: "propagation", known: true, met: true, meas: "p99 3.00 ms"},
		{name: "req/s met", what: "HTTP → RPC req/s, stock mucp", known: true, met: true, meas: "1.80×"},
		{name: "req/s missed", change: func(r *Results) { r.Stock.Targets[0].Ratio.RPS = 1.49 }, what: "HTTP → RPC req/s, stock mucp", known: true, met: false, meas: "1.49×"},
		{name: "req/s unmeasured", change: func(r *Results) { r.Stock = nil }, what: "HTTP → RPC req/s, stock mucp"},
		{name: "gateway skipped", change: func(r *Results) { r.Stock.Targets[0].Status = StatusSkipped }, what: "HTTP → RPC req/s, stock mucp"},
		{name: "p99 met", what: "HTTP → RPC p99, stock mucp", known: true, met: true, meas: "0.70×"},
		{name: "p99 missed", change: func(r *Results) { r.Stock.Targets[0].Ratio.P99 = 1.01 }, what: "HTTP → RPC p99, stock mucp", known: true, met: false, meas: "1.01×"},
		{name: "timewait met", what: "no port exhaustion", known: true, met: true, meas: "0 errors, max 40 TIME_WAIT over 2m0s"},
		{name: "timewait errors", change: func(r *Results) { r.TimeWait.Non2xx, r.TimeWait.SocketErrors = 2, 1 }, what: "no port exhaustion", known: true, met: false, meas: "3 errors"},
		{name: "timewait 1000 sockets", change: func(r *Results) { r.TimeWait.MaxTimeWait = 1000 }, what: "no port exhaustion", known: true, met: false, meas: "max 1000 TIME_WAIT"},
		{name: "timewait too short", change: func(r *Results) { r.TimeWait.Duration = 3 * time.Second }, what: "no port exhaustion", known: true, met: false, meas: "over 3s"},
		{name: "timewait unmeasured", change: func(r *Results) { r.TimeWait = nil }, what: "no port exhaustion"},
	}
	for _, tt := range tests {
		t.Run(tt.what+" "+tt.name, func(t *testing.T) {
			r := sample()
			if tt.change != nil {
				tt.change(r)
			}
			var got *Goal
			for _, g := range Goals(r) {
				if g.What == tt.what {
					got = &g
				}
			}
			if got == nil {
				t.Fatalf("no goal %q", tt.what)
			}
			if got.Known != tt.known || got.Met != tt.met || !strings.Contains(got.Measured, tt.meas) {
				t.Fatalf("goal = %+v; want known %v met %v measured containing %q", *got, tt.known, tt.met, tt.meas)
			}
		})
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
		"Open-loop load at 300 req/s",
		"| gw, leastloaded | defaults | 99.80 % | 1.00 ms | 8.00 ms | 1.00 s | 1.00 s | 2.00 ms | 4.00× | 1.00 % (max 30 ms) / 0.00 % (max 0) | 2 (2× HTTP 504) |",
		"| go-micro api (default selector) | | failed: boom / pipe |",
		"target ≥ 99.9 %: **missed**",
		"target ≤ 2×: **missed**",
		"random p99 ÷ leastloaded p99: not measured",
		"## 6. HTTP → RPC to stock go-micro v4.11.0 services (mucp and gRPC)\n",
		"| target | req/s | p50 | p99 | errors | req/s ÷ go-micro api → stock mucp (median, min–max) | p99 ÷ go-micro api → stock mucp | pairs |",
		"| microlb api-gateway → stock mucp | 5400 | 9.00 ms | 20 ms | 0 | 1.80× (1.60×–2.10×) | 0.70× | 3 |",
		"| microlb api-gateway → stock gRPC | 3600 | 15 ms | 31 ms | 0 | 1.20× (1.10×–1.30×) | 1.10× | 3 |",
		"| go-micro api → stock mucp | 3000 | 18 ms | 29 ms | 2 | 1 (base) | 1 (base) | 6 |",
		"| microlb api-gateway → stock mucp | microlb api-gateway | 27.00 s | 162000 | 166.7 µs |",
		"| microlb api-gateway → stock gRPC | microlb api-gateway | unknown: open /proc/1/stat: no such file | | |",
		"| go-micro api → stock mucp | go-micro api | 54.00 s | 180000 | 300.0 µs |",
		"Checked to answer 200 through the gateway first: `/stockgreeter/Greeter/Hello`, `/stockgreeter/greeter/hello`.",
		"## 7. No port exhaustion: tcp_tw_reuse=0, maximum load to one stock node\n",
		"| run | 2m0s of wrk (1 thread(s), 64 connections) through the gateway to one stock mucp node (127.0.0.1:9000), `net.ipv4.tcp_tw_reuse=0` (was 2, restored) |",
		"| requests | 600000 (5000 req/s, p99 25 ms) |",
		"| errors | 0 (0 non-2xx, 0 socket errors) |",
		"| TIME_WAIT with the node's port, max of 121 samples | 40 |",
		"| the node's resident memory | 25.0 MiB before the load → 230.0 MiB after |",
		"| HTTP → RPC req/s, stock mucp | ≥ 1.5× go-micro v4 api (moonshot 2×) | 1.80× | met |",
		"| no port exhaustion | tcp_tw_reuse=0, 120 s: 0 errors, < 1,000 TIME_WAIT | 0 errors, max 40 TIME_WAIT over 2m0s | met |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Count(md, meaningNote) != 1 {
		t.Errorf("want the pointer %q to bench/README.md once", meaningNote)
	}
	if g, i, s := strings.Index(md, "## Targets"), strings.Index(md, meaningNote), strings.Index(md, "## 1. "); g < 0 || s < 0 || !(g < i && i < s) {
		t.Errorf("pointer at %d, want it between the targets (at %d) and the stages (at %d)", i, g, s)
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Proxy []struct {
			Name  string
			Ratio struct{ RPS *float64 }
		}
		Date  time.Time
		Stock struct {
			Targets []struct{ Name string }
			CPU     []struct {
				Target     string
				PerRequest time.Duration
				Requests   int64
			}
			Paths []string
		}
		TimeWait struct {
			MaxTimeWait, Samples int
			Requests             int64
			TwReuse              string
		}
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Proxy) != 5 || v.Proxy[4].Ratio.RPS != nil || *v.Proxy[1].Ratio.RPS != 0.85 || v.Date.Year() != 2026 {
		t.Errorf("decoded %+v, want NaN as null", v)
	}
	if len(v.Stock.Targets) != 3 || len(v.Stock.CPU) != 3 || v.Stock.CPU[2].PerRequest != 300*time.Microsecond ||
		v.Stock.CPU[0].Requests != 162000 || len(v.Stock.Paths) != 2 {
		t.Errorf("Stock = %+v", v.Stock)
	}
	if v.TimeWait.MaxTimeWait != 40 || v.TimeWait.Samples != 121 || v.TimeWait.Requests != 600000 || v.TimeWait.TwReuse != "2" {
		t.Errorf("TimeWait = %+v", v.TimeWait)
	}
}

func TestTailGoals(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	fig := func(success float64, p99 time.Duration) TailFigures {
		return TailFigures{Requests: 1000, Success: success, P99: p99}
	}
	row := func(strategy string, dflt bool, run TailFigures, base time.Duration) TailRow {
		b := fig(1, base)
		return TailRow{Name: "gw, " + strategy, Strategy: strategy, Default: dflt, Run: run, Base: &b}
	}
	tests := []struct {
		name                string
		tail                *Tail
		wantKnown, wantMet  [3]bool
		wantSucc, wantRatio string
	}{
		{name: "not run", tail: nil},
		{
			// leastloaded is best at its defaults; the retry variant
			// does better but is not a default and does not count.
			name: "met",
			tail: &Tail{
				Stalled: []TailRow{
					row("random", true, fig(0.98, ms(900)), ms(3)),
					row("leastloaded", true, fig(0.9995, ms(5)), ms(3)),
					row("leastloaded", false, fig(1, ms(4)), ms(3)),
				},
				Speeds: []TailRow{
					row("random", true, fig(1, ms(60)), 0),
					row("leastloaded", true, fig(1, ms(15)), 0),
				},
			},
			wantKnown: [3]bool{true, true, true}, wantMet: [3]bool{true, true, true},
			wantSucc: "99.95 % (leastloaded)", wantRatio: "4.00× (random p99 ÷ leastloaded p99)",
		},
		{
			name: "missed",
			tail: &Tail{
				Stalled: []TailRow{row("roundrobin", true, fig(0.99, ms(1000)), ms(3))},
				Speeds:  []TailRow{row("random", true, fig(1, ms(20)), 0), row("leastloaded", true, fig(1, ms(10)), 0)},
			},
			wantKnown: [3]bool{true, true, true},
			wantSucc:  "99.00 % (roundrobin)", wantRatio: "2.00× (random p99 ÷ leastloaded p99)",
		},
		{
			// smoke: one strategy, so (b)'s ratio is unknown.
			name:      "one strategy",
			tail:      &Tail{Stalled: []TailRow{row("leastloaded", true, fig(1, ms(4)), ms(2))}, Speeds: []TailRow{row("leastloaded", true, fig(1, ms(10)), 0)}},
			wantKnown: [3]bool{true, true, false}, wantMet: [3]bool{true, true, false},
			wantSucc: "100.00 % (leastloaded)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tailGoals(tt.tail)
			if len(g) != 3 {
				t.Fatalf("%d goals, want 3", len(g))
			}
			for i := range g {
				if g[i].Known != tt.wantKnown[i] || g[i].Met != tt.wantMet[i] {
					t.Errorf("goal %d %q: known %v met %v, want %v %v", i, g[i].What, g[i].Known, g[i].Met, tt.wantKnown[i], tt.wantMet[i])
				}
			}
			if tt.wantSucc != "" && g[0].Measured != tt.wantSucc {
				t.Errorf("success measured = %q, want %q", g[0].Measured, tt.wantSucc)
			}
			if g[2].Measured != tt.wantRatio {
				t.Errorf("(b) measured = %q, want %q", g[2].Measured, tt.wantRatio)
			}
		})
	}
}
