package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/gobench"
	"github.com/microlb/microlb/bench/internal/sysload"
)

// busyThreshold is the share of the cores used by other processes above
// which a stage's numbers are flagged as taken on a busy machine.
const busyThreshold = 0.10

// meaningNote points from the results file to the prose that explains them.
const meaningNote = "What the numbers mean, and what limits each target a run misses: see `bench/README.md`.\n\n"

// Markdown writes r as the results file.
func Markdown(w io.Writer, r *Results) error {
	var b strings.Builder
	title := "microlb benchmark results"
	if r.Mode != "full" {
		title += " (" + r.Mode + " run: tiny durations, numbers not meaningful)"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	m := r.Machine
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n", r.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| machine | %s, %d cores, %.0f GiB, %s |\n", m.CPU, m.Cores, m.MemGiB, m.Kernel)
	fmt.Fprintf(&b, "| go | %s |\n", m.GoVersion)
	fmt.Fprintf(&b, "| commit | %s |\n", m.Commit)
	fmt.Fprintf(&b, "| command | `%s` |\n", r.Command)
	s := r.Settings
	fmt.Fprintf(&b, "| load | wrk, %d thread(s), %d connections, %v per run after a %v warm-up, %d repetition(s) of each A/B pair |\n",
		s.Threads, s.Conns, s.Duration, s.Warmup, s.Reps)
	fmt.Fprintf(&b, "| budget | %d worker process / thread / GOMAXPROCS for every proxy; backends and producers GOMAXPROCS=%d |\n", s.Workers, s.Workers)
	fmt.Fprintf(&b, "| selector | `go test -bench '^BenchmarkSelect$' -benchmem -count %d -benchtime %s github.com/microlb/microlb/selector` |\n", s.BenchCount, s.BenchTime)
	fmt.Fprintf(&b, "| before the run | machine %s busy, load average %.2f |\n\n", pct(r.Before.Busy), r.Before.LoadAvg[1])

	writeLoad(&b, r)
	writeGoals(&b, r)
	b.WriteString(meaningNote)
	writeStages(&b, r)
	writeMethod(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeLoad writes the per-stage load table and a warning when others were
// busy.
func writeLoad(b *strings.Builder, r *Results) {
	fmt.Fprintf(b, "## Load while measuring\n\n")
	fmt.Fprintf(b, "Share of the machine's %d cores in use during each stage: by this benchmark's processes, and by everything else.\n\n", r.Machine.Cores)
	fmt.Fprintf(b, "| stage | status | wall | machine busy | this benchmark | others | load avg (start → end) |\n|---|---|---|---|---|---|---|\n")
	var worst float64
	for _, st := range r.Stages {
		l := st.Load
		fmt.Fprintf(b, "| %d. %s | %s | %s | %s | %s | %s | %.2f → %.2f |\n", st.ID, st.Name, st.Status,
			l.Wall.Round(100*time.Millisecond), pct(l.Busy), pct(l.Ours), pct(l.Others), l.LoadAvg[0], l.LoadAvg[1])
		if st.Status == StatusOK {
			worst = max(worst, l.Others)
		}
	}
	if worst > busyThreshold {
		fmt.Fprintf(b, "\n**Taken on a busy machine:** other processes used up to %s of the cores during a stage, so absolute numbers are low and ratios noisier than usual.\n", pct(worst))
	} else {
		fmt.Fprintf(b, "\nOther processes used at most %s of the cores during any stage.\n", pct(worst))
	}
	b.WriteString("\n")
}

func writeGoals(b *strings.Builder, r *Results) {
	fmt.Fprintf(b, "## Targets\n\n| what | target | measured | |\n|---|---|---|---|\n")
	for _, g := range Goals(r) {
		m := g.Measured
		if !g.Known {
			m = "—"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", g.What, g.Target, m, verdict(g.Known, g.Met))
	}
	b.WriteString("\n")
}

func writeStages(b *strings.Builder, r *Results) {
	for _, st := range r.Stages {
		fmt.Fprintf(b, "## %d. %s\n\n", st.ID, stageTitle(st.Name))
		if st.Status != StatusOK {
			fmt.Fprintf(b, "%s: %s\n\n", st.Status, st.Reason)
		}
		for _, n := range st.Notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
		if len(st.Notes) > 0 {
			b.WriteString("\n")
		}
		switch st.Name {
		case "selector":
			writeSelector(b, r.Selector)
		case "proxy":
			writeTargets(b, r.Proxy, NameNginx)
		case "rpc":
			writeTargets(b, r.RPC, NameGoMicro)
		case "failover":
			writeFailover(b, r.Failover)
		case "propagation":
			writePropagation(b, r.Propagation)
		case "stock", timeWaitStageName:
			writeFrontDoor(b, r, st.Name)
		case tailStageName:
			writeTail(b, r.Tail)
		}
	}
}

func stageTitle(name string) string {
	return map[string]string{
		"selector":    "Selector micro-benchmarks (Select + Next)",
		"proxy":       "HTTP proxy route, round robin over 3 backends",
		"rpc":         "HTTP → RPC route, round robin over 3 producers",
		"failover":    "Failover under load",
		"propagation": "Registry propagation (Consul deregistration → last pick)",
		"stock":       "HTTP → RPC to stock go-micro v4.11.0 services (mucp and gRPC)",
		"timewait":    "No port exhaustion: tcp_tw_reuse=0, maximum load to one stock node",
		"tail":        "Tail latency under a stalling node and under unequal nodes (open loop)",
	}[name]
}

func writeSelector(b *strings.Builder, rows []gobench.SelectRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "| nodes | strategy | ns/op | ± | B/op | allocs/op | speed-up vs go-micro default |\n|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(b, "| %d | %s | %.1f | %.0f%% | %s | %s | %s |\n", row.Nodes, row.Strategy, row.Stat.NsOp,
			row.Stat.Spread*100, num(row.Stat.BytesOp), num(row.Stat.AllocsOp), ratio(row.Speedup))
	}
	b.WriteString("\n")
}

func writeTargets(b *strings.Builder, ts []Target, base string) {
	if len(ts) == 0 {
		return
	}
	fmt.Fprintf(b, "| target | req/s | p50 | p99 | errors | req/s ÷ %s (median, min–max) | p99 ÷ %s | pairs |\n|---|---|---|---|---|---|---|---|\n", base, base)
	for _, t := range ts {
		if t.Status != StatusOK {
			fmt.Fprintf(b, "| %s | %s: %s | | | | | | |\n", t.Name, t.Status, t.Reason)
			continue
		}
		o := t.Ratio.Other
		if t.Base {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %d | 1 (base) | 1 (base) | %d |\n", t.Name, num(o.RPS), dur(o.P50), dur(o.P99), t.Ratio.Errors, t.Ratio.N)
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s (%s–%s) | %s | %d |\n", t.Name, num(o.RPS), dur(o.P50), dur(o.P99),
			t.Ratio.Errors, ratio(t.Ratio.RPS), ratio(t.Ratio.RPSMin), ratio(t.Ratio.RPSMax), ratio(t.Ratio.P99), t.Ratio.N)
	}
	b.WriteString("\nAbsolute columns are medians over all runs of the target; ratios are medians of the ratios taken within each back-to-back pair.\n\n")
}

func writeFailover(b *strings.Builder, f *Failover) {
	if f == nil {
		return
	}
	unpicked := "unknown: " + f.UnpickedNote
	if f.UnpickedKnown {
		unpicked = fmt.Sprintf("%s after the kill (%d picks after the kill)", dur(f.Unpicked), f.PicksAfterKill)
	}
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| run | %v of load, `kill -9` of producer %s at %v |\n", f.Duration, f.Killed, f.KillAt.Round(time.Millisecond))
	fmt.Fprintf(b, "| client requests / errors | %d / %d (%d after the kill) %s |\n", f.Requests, f.Errors, f.ErrorsAfterKill, kinds(f.ErrorKinds))
	fmt.Fprintf(b, "| killed node last picked | %s |\n", unpicked)
	fmt.Fprintf(b, "| p99 before the kill | %s |\n", dur(f.P99Before))
	fmt.Fprintf(b, "| p99 during the event (%v from the kill) | %s (max %s) |\n", f.Window, dur(f.P99Event), dur(f.MaxEvent))
	fmt.Fprintf(b, "| p99 whole run | %s |\n", dur(f.P99All))
	fmt.Fprintf(b, "| answers per node before the kill | %s |\n", counts(f.NodesBefore))
	fmt.Fprintf(b, "| answers per node after the kill | %s |\n\n", counts(f.NodesAfter))
}

func writePropagation(b *strings.Builder, ps []Propagation) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "| selector | repetitions | p50 | p99 | max | still picked at the limit |\n|---|---|---|---|---|---|\n")
	for _, p := range ps {
		var mx time.Duration
		for _, s := range p.Samples {
			mx = max(mx, s)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %d (limit %v) |\n", p.Selector, len(p.Samples), dur(p.P50), dur(p.P99), dur(mx), p.Censored, p.Limit)
	}
	b.WriteString("\np99 is nearest-rank: with 20 repetitions it is the slowest one.\n\n")
}

func writeMethod(b *strings.Builder) {
	b.WriteString(`## Method

- Everything runs on one machine over loopback. Other work may share the machine; the load table above says how much of it did.
- Stage 2 and 3 targets are compared in back-to-back pairs, alternating which runs first (A B, B A, …); the ratios are taken within each pair and the median is reported. Absolute requests/s are context only.
- Peers are configured in ` + "`bench/peers/`" + `: keepalive to the upstreams, access logs off, the same worker budget.
- Stage 4 uses a Go closed-loop client (every request timed) instead of wrk, to see the seconds after the kill on their own; it sends a read, ` + "`GET /greeter/Greeter/Hello?name=bench`" + `, which the gateway may retry on another node (the route's default of one retry) when the killed node cuts a call short. "Last picked" comes from the gateway's admin pick counters, read every 50 ms.
- Stage 5 deregisters one of three nodes through Consul's HTTP API and picks from each selector every ~0.2 ms until the node has not been picked for a quiet period.
`)
}

// LoadNote summarises l in one line, for progress output.
func LoadNote(l sysload.Load) string {
	return fmt.Sprintf("%.1fs, machine %s busy (ours %s, others %s)", l.Wall.Seconds(), pct(l.Busy), pct(l.Ours), pct(l.Others))
}

// counts formats answers per node, by node id.
func counts(m map[string]int64) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// kinds formats error counts by kind, most frequent first.
func kinds(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%d× %s", m[k], strings.ReplaceAll(k, "|", "/")))
	}
	return "(" + strings.Join(parts, "; ") + ")"
}
