package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
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

// stages are each stage's title and table writer, by stage name.
var stages = map[string]struct {
	title string
	write func(*md, *Results)
}{
	"selector":    {"Selector micro-benchmarks (Select + Next)", (*md).selector},
	"proxy":       {"HTTP proxy route, round robin over 3 backends", func(b *md, r *Results) { b.targets(r.Proxy, NameNginx) }},
	"rpc":         {"HTTP → RPC route, round robin over 3 producers", func(b *md, r *Results) { b.targets(r.RPC, NameGoMicro) }},
	"failover":    {"Failover under load", (*md).failover},
	"propagation": {"Registry propagation (Consul deregistration → last pick)", (*md).propagation},
	"stock":       {"HTTP → RPC to stock go-micro v4.11.0 services (mucp and gRPC)", (*md).stock},
	"timewait":    {"No port exhaustion: tcp_tw_reuse=0, maximum load to one stock node", (*md).timeWait},
	"tail":        {"Tail latency under a stalling node and under unequal nodes (open loop)", (*md).tail},
}

// md is the markdown being written.
type md struct{ strings.Builder }

// f appends a formatted line (or lines).
func (b *md) f(format string, a ...any) { fmt.Fprintf(b, format, a...) }

// table writes a table with the header cols and then rows; an empty cell
// is written as "| |".
func (b *md) table(cols []string, rows ...[]string) {
	b.f("%s\n|%s\n", row(cols), strings.Repeat("---|", len(cols)))
	for _, r := range rows {
		b.f("%s\n", row(r))
	}
}

// rowsOf is one table row per x.
func rowsOf[T any](xs []T, row func(T) []string) (rows [][]string) {
	for _, x := range xs {
		rows = append(rows, row(x))
	}
	return rows
}

func row(cells []string) string {
	s := "|"
	for _, c := range cells {
		if c != "" {
			s += " " + c
		}
		s += " |"
	}
	return s
}

// Markdown writes r as the results file.
func Markdown(w io.Writer, r *Results) error {
	var b md
	title := "microlb benchmark results"
	if r.Mode != "full" {
		title += " (" + r.Mode + " run: tiny durations, numbers not meaningful)"
	}
	m, s := r.Machine, r.Settings
	b.f("# %s\n\n", title)
	b.table([]string{"", ""},
		[]string{"date", r.Date.UTC().Format("2006-01-02 15:04 MST")},
		[]string{"machine", fmt.Sprintf("%s, %d cores, %.0f GiB, %s", m.CPU, m.Cores, m.MemGiB, m.Kernel)},
		[]string{"go", m.GoVersion}, []string{"commit", m.Commit}, []string{"command", "`" + r.Command + "`"},
		[]string{"load", fmt.Sprintf("wrk, %d thread(s), %d connections, %v per run after a %v warm-up, %d repetition(s) of each A/B pair",
			s.Threads, s.Conns, s.Duration, s.Warmup, s.Reps)},
		[]string{"budget", fmt.Sprintf("%d worker process / thread / GOMAXPROCS for every proxy; backends and producers GOMAXPROCS=%d", s.Workers, s.Workers)},
		[]string{"selector", fmt.Sprintf("`go test -bench '^BenchmarkSelect$' -benchmem -count %d -benchtime %s github.com/microlb/microlb/selector`", s.BenchCount, s.BenchTime)},
		[]string{"before the run", fmt.Sprintf("machine %s busy, load average %.2f", pct(r.Before.Busy), r.Before.LoadAvg[1])})

	b.f("\n## Load while measuring\n\nShare of the machine's %d cores in use during each stage: by this benchmark's processes, and by everything else.\n\n", m.Cores)
	var rows [][]string
	var worst float64
	for _, st := range r.Stages {
		l := st.Load
		rows = append(rows, []string{fmt.Sprintf("%d. %s", st.ID, st.Name), st.Status, l.Wall.Round(100 * time.Millisecond).String(),
			pct(l.Busy), pct(l.Ours), pct(l.Others), fmt.Sprintf("%.2f → %.2f", l.LoadAvg[0], l.LoadAvg[1])})
		if st.Status == StatusOK {
			worst = max(worst, l.Others)
		}
	}
	b.table([]string{"stage", "status", "wall", "machine busy", "this benchmark", "others", "load avg (start → end)"}, rows...)
	if worst > busyThreshold {
		b.f("\n**Taken on a busy machine:** other processes used up to %s of the cores during a stage, so absolute numbers are low and ratios noisier than usual.\n", pct(worst))
	} else {
		b.f("\nOther processes used at most %s of the cores during any stage.\n", pct(worst))
	}

	b.f("\n## Targets\n\n")
	b.table([]string{"what", "target", "measured", ""}, rowsOf(Goals(r), func(g Goal) []string {
		return []string{g.What, g.Target, map[bool]string{true: g.Measured, false: "—"}[g.Known], verdict(g.Known, g.Met)}
	})...)
	b.f("\n%s", meaningNote)

	for _, st := range r.Stages {
		b.f("## %d. %s\n\n", st.ID, stages[st.Name].title)
		if st.Status != StatusOK {
			b.f("%s: %s\n\n", st.Status, st.Reason)
		}
		for _, n := range st.Notes {
			b.f("- %s\n", n)
		}
		if len(st.Notes) > 0 {
			b.f("\n")
		}
		if w := stages[st.Name].write; w != nil {
			w(&b, r)
		}
	}
	b.f("%s", method)
	_, err := io.WriteString(w, b.String())
	return err
}

func (b *md) selector(r *Results) {
	if len(r.Selector) == 0 {
		return
	}
	b.table([]string{"nodes", "strategy", "ns/op", "±", "B/op", "allocs/op", "speed-up vs go-micro default"}, rowsOf(r.Selector, func(s gobench.SelectRow) []string {
		return []string{fmt.Sprint(s.Nodes), s.Strategy, fmt.Sprintf("%.1f", s.Stat.NsOp), fmt.Sprintf("%.0f%%", s.Stat.Spread*100),
			num(s.Stat.BytesOp), num(s.Stat.AllocsOp), ratio(s.Speedup)}
	})...)
	b.f("\n")
}

func (b *md) targets(ts []Target, base string) {
	if len(ts) == 0 {
		return
	}
	b.table([]string{"target", "req/s", "p50", "p99", "errors", "req/s ÷ " + base + " (median, min–max)", "p99 ÷ " + base, "pairs"}, rowsOf(ts, func(t Target) []string {
		o, q := t.Ratio.Other, t.Ratio
		switch {
		case t.Status != StatusOK:
			return []string{t.Name, t.Status + ": " + t.Reason, "", "", "", "", "", ""}
		case t.Base:
			return []string{t.Name, num(o.RPS), dur(o.P50), dur(o.P99), fmt.Sprint(q.Errors), "1 (base)", "1 (base)", fmt.Sprint(q.N)}
		}
		return []string{t.Name, num(o.RPS), dur(o.P50), dur(o.P99), fmt.Sprint(q.Errors),
			fmt.Sprintf("%s (%s–%s)", ratio(q.RPS), ratio(q.RPSMin), ratio(q.RPSMax)), ratio(q.P99), fmt.Sprint(q.N)}
	})...)
	b.f("\nAbsolute columns are medians over all runs of the target; ratios are medians of the ratios taken within each back-to-back pair.\n\n")
}

func (b *md) failover(r *Results) {
	f := r.Failover
	if f == nil {
		return
	}
	unpicked := "unknown: " + f.UnpickedNote
	if f.UnpickedKnown {
		unpicked = fmt.Sprintf("%s after the kill (%d picks after the kill)", dur(f.Unpicked), f.PicksAfterKill)
	}
	b.table([]string{"", ""},
		[]string{"run", fmt.Sprintf("%v of load, `kill -9` of producer %s at %v", f.Duration, f.Killed, f.KillAt.Round(time.Millisecond))},
		[]string{"client requests / errors", fmt.Sprintf("%d / %d (%d after the kill) %s", f.Requests, f.Errors, f.ErrorsAfterKill, kinds(f.ErrorKinds))},
		[]string{"killed node last picked", unpicked},
		[]string{"p99 before the kill", dur(f.P99Before)},
		[]string{fmt.Sprintf("p99 during the event (%v from the kill)", f.Window), fmt.Sprintf("%s (max %s)", dur(f.P99Event), dur(f.MaxEvent))},
		[]string{"p99 whole run", dur(f.P99All)},
		[]string{"answers per node before the kill", counts(f.NodesBefore)},
		[]string{"answers per node after the kill", counts(f.NodesAfter)})
	b.f("\n")
}

func (b *md) propagation(r *Results) {
	if len(r.Propagation) == 0 {
		return
	}
	b.table([]string{"selector", "repetitions", "p50", "p99", "max", "still picked at the limit"}, rowsOf(r.Propagation, func(p Propagation) []string {
		return []string{p.Selector, fmt.Sprint(len(p.Samples)), dur(p.P50), dur(p.P99), dur(slices.Max(append([]time.Duration{0}, p.Samples...))),
			fmt.Sprintf("%d (limit %v)", p.Censored, p.Limit)}
	})...)
	b.f("\np99 is nearest-rank: with 20 repetitions it is the slowest one.\n\n")
}

func (b *md) stock(r *Results) {
	s := r.Stock
	if s == nil {
		return
	}
	b.targets(s.Targets, NameGoMicroStock)
	if len(s.CPU) > 0 {
		b.table([]string{"target", "process", "CPU over its measured runs", "requests", "CPU per request"}, rowsOf(s.CPU, func(c CPUUse) []string {
			if c.Note != "" {
				return []string{c.Target, c.Process, "unknown: " + c.Note, "", ""}
			}
			perReq := "n/a"
			if c.PerRequest > 0 {
				perReq = fmt.Sprintf("%.1f µs", float64(c.PerRequest)/float64(time.Microsecond))
			}
			return []string{c.Target, c.Process, fmt.Sprintf("%.2f s", c.CPU.Seconds()), fmt.Sprint(c.Requests), perReq}
		})...)
		b.f("\n")
	}
	b.f("The services are unmodified go-micro v4.11.0 (`bench/stocknode`, no Micro-Id fix): 3 mucp nodes and 3 gRPC-server-plugin nodes in Consul; "+
		"CPU is the serving process's utime + stime from `/proc/<pid>/stat` over the runs of that target, divided by the requests wrk completed in them. "+
		"Checked to answer 200 through the gateway first: `%s`.\n\n", strings.Join(s.Paths, "`, `"))
}

func (b *md) timeWait(r *Results) {
	t := r.TimeWait
	if t == nil {
		return
	}
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	b.table([]string{"", ""},
		[]string{"run", fmt.Sprintf("%v of wrk (%d thread(s), %d connections) through the gateway to one stock mucp node (%s), `net.ipv4.tcp_tw_reuse=0` (was %s, restored)",
			t.Duration, t.Threads, t.Conns, t.Node, t.TwReuse)},
		[]string{"requests", fmt.Sprintf("%d (%s req/s, p99 %s)", t.Requests, num(t.RPS), dur(t.P99))},
		[]string{"errors", fmt.Sprintf("%d (%d non-2xx, %d socket errors)", t.Errors(), t.Non2xx, t.SocketErrors)},
		[]string{fmt.Sprintf("TIME_WAIT with the node's port, max of %d samples", t.Samples), fmt.Sprint(t.MaxTimeWait)},
		[]string{"the node's resident memory", mib(t.NodeRSSBefore) + " before the load → " + mib(t.NodeRSSAfter) + " after"})
	b.f("\nWith `tcp_tw_reuse=0` Linux cannot reuse a port in TIME_WAIT for a new connection, as on a real network, so a gateway that dialled once per call would run out of ports; " +
		"TIME_WAIT is counted every second from `/proc/net/tcp{,6}` (state 06) at either end of a connection to the node. Target: 0 errors and fewer than 1,000 TIME_WAIT over 120 s. " +
		"The node's memory is the cost of reuse to a stock node: go-micro v4.11.0's server (`ServeConn` in server/rpc_server.go) keeps a request's timeout context, " +
		"through a `defer cancel()` inside its read loop, until the connection closes, for every request that carries a `Timeout` header.\n\n")
}

// tail writes the tail stage's two tables.
func (b *md) tail(r *Results) {
	t := r.Tail
	if t == nil {
		return
	}
	b.f("Open-loop load at %.0f req/s (each request sent at its scheduled time whatever the answers; latency counts from then; the client gives up %v after it).\n\n",
		t.Rate, t.ClientTimeout)
	cols := []string{"front door", "settings", "success", "p50", "p99", "p99.9", "max"}
	rows := func(rs []TailRow, extra func(TailRow) []string) (out [][]string) {
		for _, r := range rs {
			if r.Err != "" {
				out = append(out, append([]string{r.Name, r.Config, "failed: " + OneLine(r.Err)}, make([]string, len(cols)-3+len(extra(r)))...))
				continue
			}
			f := r.Run
			out = append(out, append([]string{r.Name, r.Config, pct3(f.Success), dur(f.P50), dur(f.P99), dur(f.P999), dur(f.Max)}, extra(r)...))
		}
		return out
	}
	if len(t.Stalled) > 0 {
		b.f("**(a) One of 10 stock mucp nodes stalling.** %s Runs of %v; the baseline is the same run without the fault (%v).\n\n", t.Fault, t.Duration, t.BaseDuration)
		b.table(append(cols, "p99 without the fault", "p99 ÷ no-fault", "sent ≥ 10 ms late (run / no-fault)", "failures"), rows(t.Stalled, func(r TailRow) []string {
			base, late := "—", lateCell(r.Run)
			if r.Base != nil {
				base, late = dur(r.Base.P99), late+" / "+lateCell(*r.Base)
			}
			return []string{base, ratio(r.p99Ratio()), late, fmt.Sprintf("%d %s", r.Run.Failed, kinds(r.Run.Errors))}
		})...)
		if best, ok := t.bestDefault(); ok {
			b.f("\nBest strategy with default settings: %s — success %s (target ≥ 99.9 %%: %s), p99 %s of the no-fault run (target ≤ 2×: %s).\n",
				best.Strategy, pct3(best.Run.Success), verdict(true, best.Run.Success >= tailSuccessTarget),
				ratio(best.p99Ratio()), verdict(!math.IsNaN(best.p99Ratio()), best.p99Ratio() <= tailP99Target))
		}
		b.f("\n")
	}
	if len(t.Speeds) > 0 {
		b.f("**(b) Nodes of unequal speed.** %s Runs of %v.\n\n", t.Unequal, t.UnequalDuration)
		b.table(append(cols, "sent ≥ 10 ms late", "failures"), rows(t.Speeds, func(r TailRow) []string {
			return []string{lateCell(r.Run), fmt.Sprintf("%d %s", r.Run.Failed, kinds(r.Run.Errors))}
		})...)
		if v, ok := t.unequalRatio(); ok {
			b.f("\nrandom p99 ÷ leastloaded p99 = %s (target ≥ 3×: %s).\n", ratio(v), verdict(true, v >= tailUnequalTarget))
		} else {
			b.f("\nrandom p99 ÷ leastloaded p99: not measured (this run did not have both strategies).\n")
		}
		b.f("\n")
	}
}

const method = `## Method

- Everything runs on one machine over loopback. Other work may share the machine; the load table above says how much of it did.
- Stage 2 and 3 targets are compared in back-to-back pairs, alternating which runs first (A B, B A, …); the ratios are taken within each pair and the median is reported. Absolute requests/s are context only.
- Peers are configured in ` + "`bench/peers/`" + `: keepalive to the upstreams, access logs off, the same worker budget.
- Stage 4 uses a Go closed-loop client (every request timed) instead of wrk, to see the seconds after the kill on their own; it sends a read, ` + "`GET /greeter/Greeter/Hello?name=bench`" + `, which the gateway may retry on another node (the route's default of one retry) when the killed node cuts a call short. "Last picked" comes from the gateway's admin pick counters, read every 50 ms.
- Stage 5 deregisters one of three nodes through Consul's HTTP API and picks from each selector every ~0.2 ms until the node has not been picked for a quiet period.
`

// LoadNote summarises l in one line, for progress output.
func LoadNote(l sysload.Load) string {
	return fmt.Sprintf("%.1fs, machine %s busy (ours %s, others %s)", l.Wall.Seconds(), pct(l.Busy), pct(l.Ours), pct(l.Others))
}

// ratio formats a ratio as "0.93×", or "n/a".
func ratio(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v >= 100:
		return fmt.Sprintf("%.0f×", v)
	}
	return fmt.Sprintf("%.2f×", v)
}

// dur formats a latency with a unit that keeps three significant digits.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// num formats a count or rate without decimals, or "n/a".
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

// pct formats a fraction as a percentage; pct3 with two decimals.
func pct(v float64) string  { return fmt.Sprintf("%.0f%%", v*100) }
func pct3(v float64) string { return fmt.Sprintf("%.2f %%", v*100) }

// verdict is the cell for a target that is met, missed or unmeasured.
func verdict(measured, met bool) string {
	switch {
	case !measured:
		return "not measured"
	case met:
		return "met"
	}
	return "**missed**"
}

// counts formats answers per node, by node id.
func counts(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// kinds formats error counts by kind, most frequent first.
func kinds(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	ks := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	for i, k := range ks {
		ks[i] = fmt.Sprintf("%d× %s", m[k], strings.ReplaceAll(k, "|", "/"))
	}
	return "(" + strings.Join(ks, "; ") + ")"
}

// lateCell is the share of f's requests the generator sent 10 ms or more
// late, and the most any was: when it is large, the machine (not the
// front door) made those requests slow.
func lateCell(f TailFigures) string {
	if f.Requests == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (max %s)", pct3(float64(f.Late)/float64(f.Requests)), dur(f.MaxLag))
}

// OneLine keeps the first line of s, without "|" and shortened, for a
// table cell.
func OneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}
