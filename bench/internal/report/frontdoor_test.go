package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/microlb/microlb/bench/internal/pairs"
)

// frontDoorSample is a run of the stock and timewait stages only.
func frontDoorSample() *Results {
	return &Results{
		Mode: "full", Command: "scripts/bench.sh --stages 6,7", Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Settings: Settings{Duration: 10 * time.Second, Reps: 3, Conns: 64, Threads: 1, Workers: 1},
		Stages:   []Stage{{ID: 6, Name: "stock", Status: StatusOK}, {ID: 7, Name: "timewait", Status: StatusOK}},
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

func TestFrontDoorGoals(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *Results)
		what   string
		known  bool
		met    bool
		meas   string
	}{
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
		t.Run(tt.name, func(t *testing.T) {
			r := frontDoorSample()
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

func TestFrontDoorMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, frontDoorSample()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
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
	if t.Failed() {
		t.Log(md)
	}
}

func TestFrontDoorJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, frontDoorSample()); err != nil {
		t.Fatal(err)
	}
	var v struct {
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
	if len(v.Stock.Targets) != 3 || len(v.Stock.CPU) != 3 || v.Stock.CPU[2].PerRequest != 300*time.Microsecond ||
		v.Stock.CPU[0].Requests != 162000 || len(v.Stock.Paths) != 2 {
		t.Errorf("Stock = %+v", v.Stock)
	}
	if v.TimeWait.MaxTimeWait != 40 || v.TimeWait.Samples != 121 || v.TimeWait.Requests != 600000 || v.TimeWait.TwReuse != "2" {
		t.Errorf("TimeWait = %+v", v.TimeWait)
	}
}
