package report

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Tail-stage names and targets (issue 12, item 10).
const (
	tailStageName = "tail"
	// TailGoMicro is the row of go-micro's api with its default selector.
	TailGoMicro       = "go-micro api (default selector)"
	tailSuccessTarget = 0.999
	tailP99Target     = 2 // faulted p99 ≤ 2× the run without the fault
	tailUnequalTarget = 3 // random p99 ÷ leastloaded p99 ≥ 3
)

// Tail is the "tail" stage's outcome: open-loop load at a fixed rate
// through each front door, (a) to 10 stock mucp nodes one of which is
// stalled (SIGSTOP) again and again, and (b) to 3 nodes of unequal speed.
type Tail struct {
	// Rate is the offered load in requests/s; ClientTimeout bounds each
	// request from its scheduled start.
	Rate          float64
	ClientTimeout time.Duration
	// Fault says what the stall was; Duration and BaseDuration are the
	// lengths of a faulted run and of its baseline without the fault.
	Fault                  string
	Duration, BaseDuration time.Duration
	// Stalled are scenario (a)'s rows.
	Stalled []TailRow
	// Unequal describes scenario (b)'s nodes; UnequalDuration is a run's
	// length; Speeds are its rows.
	Unequal         string
	UnequalDuration time.Duration
	Speeds          []TailRow
}

// TailRow is one front door and configuration under one scenario.
type TailRow struct {
	// Name is "microlb api-gateway, <strategy>" or TailGoMicro;
	// Strategy the gateway's strategy ("" for go-micro's api); Config
	// the settings that differ from the defaults; Default is true when
	// the gateway ran with its default timeouts and retries (only
	// strategy and timeout set).
	Name, Strategy, Config string
	Default                bool
	// Run is the measured run; Base the same run without the fault
	// (scenario a only).
	Run  TailFigures
	Base *TailFigures `json:",omitempty"`
	// Err says why the row has no numbers.
	Err string `json:",omitempty"`
}

// TailFigures are one open-loop run's figures; latencies count from each
// request's scheduled start, and failed requests count at their failure.
type TailFigures struct {
	Requests, Failed int64
	Success          float64
	// Late counts requests the generator sent 10 ms or more after their
	// scheduled time (its own lag, included in their latency); MaxLag is
	// the most any was.
	Late                int64
	MaxLag              time.Duration
	P50, P99, P999, Max time.Duration
	Errors              map[string]int64 `json:",omitempty"`
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

// speed returns scenario (b)'s row of the gateway's strategy s.
func (t *Tail) speed(s string) (TailRow, bool) {
	for _, r := range t.Speeds {
		if r.Strategy == s && r.Default && r.Err == "" && r.Run.Requests > 0 {
			return r, true
		}
	}
	return TailRow{}, false
}

// p99Ratio is a faulted row's p99 over its baseline's, NaN when unknown.
func (r TailRow) p99Ratio() float64 {
	if r.Base == nil || r.Base.P99 <= 0 {
		return math.NaN()
	}
	return float64(r.Run.P99) / float64(r.Base.P99)
}

// unequalRatio is random's p99 over leastloaded's in scenario (b).
func (t *Tail) unequalRatio() (float64, bool) {
	rnd, ok1 := t.speed("random")
	ll, ok2 := t.speed("leastloaded")
	if !ok1 || !ok2 || ll.Run.P99 <= 0 {
		return math.NaN(), false
	}
	return float64(rnd.Run.P99) / float64(ll.Run.P99), true
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

// pct3 formats a fraction as a percentage with two decimals.
func pct3(v float64) string { return fmt.Sprintf("%.2f %%", v*100) }

// writeTail writes the tail stage's two tables.
func writeTail(b *strings.Builder, t *Tail) {
	if t == nil {
		return
	}
	fmt.Fprintf(b, "Open-loop load at %.0f req/s (each request sent at its scheduled time whatever the answers; latency counts from then; the client gives up %v after it).\n\n",
		t.Rate, t.ClientTimeout)
	if len(t.Stalled) > 0 {
		fmt.Fprintf(b, "**(a) One of 10 stock mucp nodes stalling.** %s Runs of %v; the baseline is the same run without the fault (%v).\n\n", t.Fault, t.Duration, t.BaseDuration)
		fmt.Fprintf(b, "| front door | settings | success | p50 | p99 | p99.9 | max | p99 without the fault | p99 ÷ no-fault | sent ≥ 10 ms late (run / no-fault) | failures |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range t.Stalled {
			if r.Err != "" {
				fmt.Fprintf(b, "| %s | %s | failed: %s | | | | | | | | |\n", r.Name, r.Config, oneCell(r.Err))
				continue
			}
			base, late := "—", lateCell(r.Run)
			if r.Base != nil {
				base, late = dur(r.Base.P99), late+" / "+lateCell(*r.Base)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d %s |\n", r.Name, r.Config, pct3(r.Run.Success),
				dur(r.Run.P50), dur(r.Run.P99), dur(r.Run.P999), dur(r.Run.Max), base, ratio(r.p99Ratio()), late, r.Run.Failed, kinds(r.Run.Errors))
		}
		if best, ok := t.bestDefault(); ok {
			fmt.Fprintf(b, "\nBest strategy with default settings: %s — success %s (target ≥ 99.9 %%: %s), p99 %s of the no-fault run (target ≤ 2×: %s).\n",
				best.Strategy, pct3(best.Run.Success), verdict(true, best.Run.Success >= tailSuccessTarget),
				ratio(best.p99Ratio()), verdict(!math.IsNaN(best.p99Ratio()), best.p99Ratio() <= tailP99Target))
		}
		b.WriteString("\n")
	}
	if len(t.Speeds) > 0 {
		fmt.Fprintf(b, "**(b) Nodes of unequal speed.** %s Runs of %v.\n\n", t.Unequal, t.UnequalDuration)
		fmt.Fprintf(b, "| front door | settings | success | p50 | p99 | p99.9 | max | sent ≥ 10 ms late | failures |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range t.Speeds {
			if r.Err != "" {
				fmt.Fprintf(b, "| %s | %s | failed: %s | | | | | | |\n", r.Name, r.Config, oneCell(r.Err))
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d %s |\n", r.Name, r.Config, pct3(r.Run.Success),
				dur(r.Run.P50), dur(r.Run.P99), dur(r.Run.P999), dur(r.Run.Max), lateCell(r.Run), r.Run.Failed, kinds(r.Run.Errors))
		}
		if v, ok := t.unequalRatio(); ok {
			fmt.Fprintf(b, "\nrandom p99 ÷ leastloaded p99 = %s (target ≥ 3×: %s).\n", ratio(v), verdict(true, v >= tailUnequalTarget))
		} else {
			b.WriteString("\nrandom p99 ÷ leastloaded p99: not measured (this run did not have both strategies).\n")
		}
		b.WriteString("\n")
	}
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

// oneCell keeps s to one table cell.
func oneCell(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.ReplaceAll(s, "|", "/")
}
