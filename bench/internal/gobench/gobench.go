// Package gobench parses `go test -bench` output and summarises repeated
// runs (-count N) the way benchstat does: median and spread per benchmark.
package gobench

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/microlb/microlb/bench/internal/pairs"
)

// Run is one benchmark result line: Name without the -GOMAXPROCS suffix,
// Iters (b.N), ns/op, B/op and allocs/op (the last two NaN without
// -benchmem).
type Run struct {
	Name                    string
	Iters                   int64
	NsOp, BytesOp, AllocsOp float64
}

// Parse returns every benchmark result line of out, in order.
func Parse(out string) ([]Run, error) {
	var runs []Run
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		r := Run{Name: trimProcs(f[0]), BytesOp: math.NaN(), AllocsOp: math.NaN()}
		dst := map[string]*float64{"ns/op": &r.NsOp, "B/op": &r.BytesOp, "allocs/op": &r.AllocsOp}
		var err error
		r.Iters, err = strconv.ParseInt(f[1], 10, 64)
		for i := 2; err == nil && i+1 < len(f); i += 2 {
			if d := dst[f[i+1]]; d != nil {
				*d, err = strconv.ParseFloat(f[i], 64)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("gobench: %q: %w", sc.Text(), err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// trimProcs removes the "-N" GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// Stat is the summary of one benchmark over its N runs: median ns/op,
// allocs/op and B/op; Spread is the largest deviation of a run's ns/op from
// the median, as a fraction of it (benchstat's "± x%").
type Stat struct {
	Name                            string
	N                               int
	NsOp, Spread, AllocsOp, BytesOp float64
}

// Summarise groups runs by name, in order of first appearance.
func Summarise(runs []Run) []Stat {
	var out []Stat
	for name, rs := range pairs.Group(runs, func(r Run) string { return r.Name }) {
		var ns, allocs, bytes []float64
		for _, r := range rs {
			ns, allocs, bytes = append(ns, r.NsOp), append(allocs, r.AllocsOp), append(bytes, r.BytesOp)
		}
		s := Stat{Name: name, N: len(rs), NsOp: pairs.Median(ns), AllocsOp: pairs.Median(allocs), BytesOp: pairs.Median(bytes)}
		if s.NsOp > 0 {
			s.Spread = math.Max(s.NsOp-slices.Min(ns), slices.Max(ns)-s.NsOp) / s.NsOp
		}
		out = append(out, s)
	}
	return out
}

// Baseline is the sub-benchmark name of go-micro's default selector in
// selector.BenchmarkSelect.
const Baseline = "gomicro-default"

// SelectRow is one strategy at one node count; Speedup is the baseline's
// ns/op divided by this row's (NaN without a baseline at this node count).
type SelectRow struct {
	Strategy string
	Nodes    int
	Stat     Stat
	Speedup  float64
}

// SelectRows turns BenchmarkSelect/<strategy>/<nodes> stats into rows with
// their speedup over the baseline at the same node count. Other benchmarks
// are ignored. Rows keep the order of stats.
func SelectRows(stats []Stat) []SelectRow {
	base := map[int]float64{}
	var rows []SelectRow
	for _, s := range stats {
		strat, nodes, ok := splitSelect(s.Name)
		if !ok {
			continue
		}
		if strat == Baseline {
			base[nodes] = s.NsOp
		}
		rows = append(rows, SelectRow{Strategy: strat, Nodes: nodes, Stat: s})
	}
	for i := range rows {
		rows[i].Speedup = math.NaN()
		if b, ok := base[rows[i].Nodes]; ok && rows[i].Stat.NsOp > 0 {
			rows[i].Speedup = b / rows[i].Stat.NsOp
		}
	}
	return rows
}

// splitSelect parses "BenchmarkSelect/<strategy>/<nodes>".
func splitSelect(name string) (string, int, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != "BenchmarkSelect" {
		return "", 0, false
	}
	n, err := strconv.Atoi(parts[2])
	return parts[1], n, err == nil
}

// Text formats rows like benchstat: one line per benchmark with median
// ns/op ± spread, allocs/op and the speedup over the baseline.
func Text(rows []SelectRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-40s %14s %6s %10s %10s %12s\n", "name", "ns/op", "±", "B/op", "allocs/op", "vs "+Baseline)
	for _, r := range rows {
		fmt.Fprintf(&b, "%-40s %14.1f %5.0f%% %10.0f %10.0f %11.2fx\n",
			fmt.Sprintf("Select/%s/%d", r.Strategy, r.Nodes), r.Stat.NsOp, r.Stat.Spread*100,
			r.Stat.BytesOp, r.Stat.AllocsOp, r.Speedup)
	}
	return b.String()
}
