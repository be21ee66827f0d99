package report

import (
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

// Goals checks the results against the targets of the benchmark issue.
func Goals(r *Results) []Goal {
	var g []Goal
	g = append(g, selectorGoals(r.Selector)...)
	g = append(g, proxyGoals(r.Proxy)...)
	g = append(g, rpcGoal(r.RPC))
	g = append(g, failoverGoal(r.Failover))
	g = append(g, propagationGoal(r.Propagation))
	g = append(g, frontDoorGoals(r)...)
	g = append(g, tailGoals(r.Tail)...)
	return g
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

func proxyGoals(ts []Target) []Goal {
	gw, ok := find(ts, NameGateway)
	caddy, cok := find(ts, NameCaddy)
	vsCaddy := math.NaN()
	if ok && cok {
		vsCaddy = gw.Ratio.RPS / caddy.Ratio.RPS
	}
	return []Goal{
		{What: "HTTP proxy req/s", Target: "≥ 0.8× nginx", Measured: ratio(gw.Ratio.RPS), Known: ok && !math.IsNaN(gw.Ratio.RPS), Met: gw.Ratio.RPS >= 0.8},
		{What: "HTTP proxy p99", Target: "≤ 1.5× nginx p99", Measured: ratio(gw.Ratio.P99), Known: ok && !math.IsNaN(gw.Ratio.P99), Met: gw.Ratio.P99 <= 1.5},
		{What: "HTTP proxy req/s vs Caddy", Target: "≥ 1.0× Caddy", Measured: ratio(vsCaddy), Known: !math.IsNaN(vsCaddy), Met: vsCaddy >= 1.0},
	}
}

func rpcGoal(ts []Target) Goal {
	gw, ok := find(ts, NameGateway)
	return Goal{What: "HTTP → RPC req/s", Target: "≥ 2× go-micro v4 api", Measured: ratio(gw.Ratio.RPS),
		Known: ok && !math.IsNaN(gw.Ratio.RPS), Met: gw.Ratio.RPS >= 2}
}

func failoverGoal(f *Failover) Goal {
	g := Goal{What: "failover", Target: "0 client errors, killed node unpicked within 1 s"}
	if f == nil {
		return g
	}
	g.Known = true
	unpicked := "unknown"
	if f.UnpickedKnown {
		unpicked = dur(f.Unpicked)
	}
	g.Measured = num(float64(f.Errors)) + " errors, unpicked after " + unpicked
	g.Met = f.Errors == 0 && f.UnpickedKnown && f.Unpicked <= time.Second
	return g
}

func propagationGoal(ps []Propagation) Goal {
	g := Goal{What: "propagation", Target: "p99 ≤ 1 s on real Consul"}
	for _, p := range ps {
		if p.Selector == NameMicrolb && len(p.Samples) > 0 {
			g.Known = true
			g.Measured = "p99 " + dur(p.P99)
			g.Met = p.P99 <= time.Second && p.Censored == 0
		}
	}
	return g
}
