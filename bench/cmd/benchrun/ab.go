package main

import (
	"fmt"
	"time"

	"github.com/microlb/microlb/bench/internal/pairs"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/wrk"
)

// abTarget is one thing to load in an A/B comparison.
type abTarget struct {
	name string
	url  string    // empty when skipped
	skip string    // why it is skipped
	cpu  *cpuMeter // optional: the serving process's CPU over the measured runs
}

// abCompare warms up every available target, then runs the A/B pair
// schedule against base and returns one report.Target per target, in
// order. script is an optional wrk Lua script (POST bodies).
func (h *harness) abCompare(base string, ts []abTarget, script string) ([]report.Target, error) {
	urls, meters := map[string]string{}, map[string]*cpuMeter{}
	var others []string
	for _, t := range ts {
		if t.url == "" {
			continue
		}
		urls[t.name], meters[t.name] = t.url, t.cpu
		if t.name != base {
			others = append(others, t.name)
		}
	}
	if urls[base] == "" {
		return nil, fmt.Errorf("base target %s is not available", base)
	}
	load := func(url string, d time.Duration) wrk.Load {
		return wrk.Load{URL: url, Threads: h.o.threads, Conns: h.o.conns, Duration: d, Script: script}
	}
	if h.o.warmup > 0 {
		for _, t := range ts {
			if t.url != "" {
				h.logf("warm-up %s (%v)", t.name, h.o.warmup)
				if _, err := wrk.Run(h.ctx, h.g, h.o.wrk, "warmup", load(t.url, h.o.warmup)); err != nil {
					return nil, fmt.Errorf("warm-up of %s: %w", t.name, err)
				}
			}
		}
	}
	measure := func(name string) (pairs.Sample, error) {
		done := meters[name].start()
		r, err := wrk.Run(h.ctx, h.g, h.o.wrk, "run", load(urls[name], h.o.duration))
		done(r.Requests)
		if err != nil {
			return pairs.Sample{}, fmt.Errorf("%s: %w", name, err)
		}
		return pairs.Sample{RPS: r.RPS, P50: r.P50, P99: r.P99, Errors: r.Errors()}, nil
	}
	var ps []pairs.Pair
	var baseRuns []pairs.Sample
	if len(others) == 0 { // nothing to compare with: still measure the base
		for range h.o.reps {
			s, err := measure(base)
			if err != nil {
				return nil, err
			}
			baseRuns = append(baseRuns, s)
			h.logf("%s: %.0f req/s, p99 %v, %d errors", base, s.RPS, s.P99, s.Errors)
		}
	}
	slots := pairs.Schedule(base, others, h.o.reps)
	for i, slot := range slots {
		first, second := base, slot.Other
		if !slot.BaseFirst {
			first, second = second, first
		}
		a, err := measure(first)
		if err != nil {
			return nil, err
		}
		b, err := measure(second)
		if err != nil {
			return nil, err
		}
		p := pairs.Pair{Rep: slot.Rep, Target: slot.Other, Base: a, Other: b}
		if !slot.BaseFirst {
			p.Base, p.Other = b, a
		}
		ps = append(ps, p)
		baseRuns = append(baseRuns, p.Base)
		h.logf("pair %d/%d: %s %.0f req/s p99 %v | %s %.0f req/s p99 %v, %d errors → %.2f× %s",
			i+1, len(slots), base, p.Base.RPS, p.Base.P99, slot.Other, p.Other.RPS, p.Other.P99, p.Other.Errors,
			safeDiv(p.Other.RPS, p.Base.RPS), base)
	}
	ratios := map[string]pairs.Ratio{}
	for _, r := range pairs.Ratios(ps) {
		ratios[r.Target] = r
	}
	var out []report.Target
	for _, t := range ts {
		rt := report.Target{Name: t.name, Status: report.StatusOK, Base: t.name == base}
		switch {
		case t.url == "":
			rt.Status, rt.Reason = report.StatusSkipped, t.skip
		case rt.Base:
			rt.Ratio = baseSummary(baseRuns)
		default:
			rt.Ratio = ratios[t.name]
		}
		out = append(out, rt)
	}
	return out, nil
}

// baseSummary is the base's own medians over all its runs.
func baseSummary(runs []pairs.Sample) pairs.Ratio {
	var rps, p50, p99 []float64
	var errs int64
	for _, s := range runs {
		rps = append(rps, s.RPS)
		p50 = append(p50, float64(s.P50))
		p99 = append(p99, float64(s.P99))
		errs += s.Errors
	}
	return pairs.Ratio{N: len(runs), RPS: 1, RPSMin: 1, RPSMax: 1, P50: 1, P99: 1, Errors: errs,
		Other: pairs.Sample{RPS: pairs.Median(rps), P50: time.Duration(pairs.Median(p50)), P99: time.Duration(pairs.Median(p99))}}
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
