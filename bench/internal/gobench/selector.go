package gobench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Baseline is the sub-benchmark name of go-micro's default selector in
// selector.BenchmarkSelect.
const Baseline = "gomicro-default"

// SelectRow is one strategy at one node count, against the baseline.
type SelectRow struct {
	Strategy string
	Nodes    int
	Stat     Stat
	// Speedup is the baseline's ns/op divided by this row's (NaN when
	// the baseline is missing at this node count).
	Speedup float64
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
	if err != nil {
		return "", 0, false
	}
	return parts[1], n, true
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
