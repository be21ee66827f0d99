package report

import (
	"fmt"
	"math"
	"time"

	"github.com/microlb/microlb/bench/internal/gobench"
)

// Goal is one row of the targets table, checked against a run.
type Goal struct {
	What, Target, Measured string
	// Known is false when the run did not measure it.
	Known, Met bool
}

// Targets of the tail stage (issue 12, item 10).
const (
	tailSuccessTarget = 0.999
	tailP99Target     = 2 // faulted p99 ≤ 2× the run without the fault
	tailUnequalTarget = 3 // random p99 ÷ leastloaded p99 ≥ 3
)

// Goals checks the results against the targets of the benchmark issues.
func Goals(r *Results) []Goal {
	var g []Goal
	g = append(g, selectorGoals(r.Selector)...)
	gw, ok := find(r.Proxy, NameGateway)
	caddy, cok := find(r.Proxy, NameCaddy)
	vsCaddy := math.NaN()
	if ok && cok {
		vsCaddy = gw.Ratio.RPS / caddy.Ratio.RPS
	}
	rpc, rok := find(r.RPC, NameGateway)
	var stock Target
	sok := false
	if r.Stock != nil {
		stock, sok = find(r.Stock.Targets, NameGatewayStock)
	}
	g = append(g,
		ratioGoal("HTTP proxy req/s", "≥ 0.8× nginx", gw.Ratio.RPS, ok, gw.Ratio.RPS >= 0.8),
		ratioGoal("HTTP proxy p99", "≤ 1.5× nginx p99", gw.Ratio.P99, ok, gw.Ratio.P99 <= 1.5),
		ratioGoal("HTTP proxy req/s vs Caddy", "≥ 1.0× Caddy", vsCaddy, true, vsCaddy >= 1.0),
		ratioGoal("HTTP → RPC req/s", "≥ 2× go-micro v4 api", rpc.Ratio.RPS, rok, rpc.Ratio.RPS >= 2),
		failoverGoal(r.Failover), propagationGoal(r.Propagation),
		ratioGoal("HTTP → RPC req/s, stock mucp", "≥ 1.5× go-micro v4 api (moonshot 2×)", stock.Ratio.RPS, sok, stock.Ratio.RPS >= 1.5),
		ratioGoal("HTTP → RPC p99, stock mucp", "≤ 1× go-micro v4 api p99", stock.Ratio.P99, sok, stock.Ratio.P99 <= 1),
		timeWaitGoal(r.TimeWait))
	return append(g, tailGoals(r.Tail)...)
}

// ratioGoal is a goal on one measured ratio v (known when ok and not NaN).
func ratioGoal(what, target string, v float64, ok, met bool) Goal {
	return Goal{What: what, Target: target, Measured: ratio(v), Known: ok && !math.IsNaN(v), Met: met}
}

func selectorGoals(rows []gobench.SelectRow) []Goal {
	worst := func(nodes int) (float64, string) {
		v, name := math.NaN(), ""
		for _, row := range rows {
			if row.Nodes == nodes && row.Strategy != gobench.Baseline && !(row.Speedup >= v) {
				v, name = row.Speedup, row.Strategy
			}
		}
		return v, name
	}
	allocs, aname := math.NaN(), ""
	for _, row := range rows {
		if row.Strategy != gobench.Baseline && !(row.Stat.AllocsOp <= allocs) {
			allocs, aname = row.Stat.AllocsOp, row.Strategy
		}
	}
	s3, n3 := worst(3)
	s1k, n1k := worst(1000)
	return []Goal{
		{What: "selector pick, 3 nodes", Target: "≥ 10× go-micro default", Measured: ratio(s3) + " (slowest: " + n3 + ")", Known: !math.IsNaN(s3), Met: s3 >= 10},
		{What: "selector pick, 1000 nodes", Target: "≥ 300× go-micro default", Measured: ratio(s1k) + " (slowest: " + n1k + ")", Known: !math.IsNaN(s1k), Met: s1k >= 300},
		{What: "selector allocs", Target: "≤ 2 allocs/op", Measured: num(allocs) + " (most: " + aname + ")", Known: !math.IsNaN(allocs), Met: allocs <= 2},
	}
}

// find returns the target named name, if it was measured.
func find(ts []Target, name string) (Target, bool) {
	for _, t := range ts {
		if t.Name == name && t.Status == StatusOK {
			return t, true
		}
	}
	return Target{}, false
}

func failoverGoal(f *Failover) Goal {
	g := Goal{What: "failover", Target: "0 client errors, killed node unpicked within 1 s"}
	if f == nil {
		return g
	}
	unpicked := "unknown"
	if f.UnpickedKnown {
		unpicked = dur(f.Unpicked)
	}
	g.Known, g.Measured = true, num(float64(f.Errors))+" errors, unpicked after "+unpicked
	g.Met = f.Errors == 0 && f.UnpickedKnown && f.Unpicked <= time.Second
	return g
}

func propagationGoal(ps []Propagation) Goal {
	g := Goal{What: "propagation", Target: "p99 ≤ 1 s on real Consul"}
	for _, p := range ps {
		if p.Selector == NameMicrolb && len(p.Samples) > 0 {
			g.Known, g.Measured, g.Met = true, "p99 "+dur(p.P99), p.P99 <= time.Second && p.Censored == 0
		}
	}
	return g
}

func timeWaitGoal(t *TimeWait) Goal {
	g := Goal{What: "no port exhaustion", Target: "tcp_tw_reuse=0, 120 s: 0 errors, < 1,000 TIME_WAIT"}
	if t != nil {
		g.Known = true
		g.Measured = fmt.Sprintf("%d errors, max %d TIME_WAIT over %v", t.Errors(), t.MaxTimeWait, t.Duration)
		g.Met = t.Errors() == 0 && t.MaxTimeWait < 1000 && t.Duration >= 120*time.Second
	}
	return g
}

// tailGoals are the tail stage's targets.
func tailGoals(t *Tail) []Goal {
	succ := Goal{What: "tail (a): success, one node stalling, best strategy's defaults", Target: "≥ 99.9 %"}
	p99 := Goal{What: "tail (a): p99 under the stall, best strategy's defaults", Target: "≤ 2× p99 without the fault"}
	un := Goal{What: "tail (b): p99 with 1×/2×/4× nodes", Target: "leastloaded ≥ 3× better than random"}
	if t == nil {
		return []Goal{succ, p99, un}
	}
	if b, ok := t.bestDefault(); ok {
		succ.Known, succ.Met = true, b.Run.Success >= tailSuccessTarget
		succ.Measured = fmt.Sprintf("%s (%s)", pct3(b.Run.Success), b.Strategy)
		if r := b.p99Ratio(); !math.IsNaN(r) {
			p99.Known, p99.Met = true, r <= tailP99Target
			p99.Measured = fmt.Sprintf("%s (%s → %s, %s)", ratio(r), dur(b.Base.P99), dur(b.Run.P99), b.Strategy)
		}
	}
	if r, ok := t.unequalRatio(); ok {
		un.Known, un.Met = true, r >= tailUnequalTarget
		un.Measured = ratio(r) + " (random p99 ÷ leastloaded p99)"
	}
	return []Goal{succ, p99, un}
}

// bestDefault returns the gateway row with default settings that did
// best under the stall: highest success, then lowest p99.
func (t *Tail) bestDefault() (TailRow, bool) {
	var best TailRow
	found := false
	for _, r := range t.Stalled {
		if !r.Default || r.Err != "" || r.Run.Requests == 0 {
			continue
		}
		if !found || r.Run.Success > best.Run.Success || (r.Run.Success == best.Run.Success && r.Run.P99 < best.Run.P99) {
			best, found = r, true
		}
	}
	return best, found
}

// p99Ratio is a faulted row's p99 over its baseline's, NaN when unknown.
func (r TailRow) p99Ratio() float64 {
	if r.Base == nil || r.Base.P99 <= 0 {
		return math.NaN()
	}
	return float64(r.Run.P99) / float64(r.Base.P99)
}

// unequalRatio is random's p99 over leastloaded's in scenario (b), from
// the rows of those strategies at their defaults.
func (t *Tail) unequalRatio() (float64, bool) {
	p99 := map[string]time.Duration{}
	for _, r := range t.Speeds {
		if r.Default && r.Err == "" && r.Run.Requests > 0 {
			p99[r.Strategy] = r.Run.P99
		}
	}
	rnd, ok := p99["random"]
	if ll := p99["leastloaded"]; ok && ll > 0 {
		return float64(rnd) / float64(ll), true
	}
	return math.NaN(), false
}
