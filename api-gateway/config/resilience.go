package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Hedge asks for hedged requests on a route: when an idempotent request's
// attempt has not answered after Delay, another attempt goes to another
// node; the first answer wins and the others are cancelled. Hedges count
// against the route's retry budget.
type Hedge struct {
	// Delay is a duration ("50ms") or a percentile of the route's recent
	// attempt latencies ("p95", "p99"; 50 to 99.9).
	Delay string `yaml:"delay"`
	// Max is how many hedges one request may send (1 to 3; default 1).
	Max int `yaml:"max"`
}

// RetryBudget bounds a route's retries and hedges in flight, as Envoy's
// retry budget does: at most Ratio × the requests in flight, and always at
// least Min. The default is 20 % and 3.
type RetryBudget struct {
	Ratio *float64 `yaml:"ratio"`
	Min   *int     `yaml:"min"`
}

// ParseHedgeDelay reads a hedge delay: a positive duration, or "pNN" with
// NN from 50 to 99.9 (the percentile, returned with d = 0).
func ParseHedgeDelay(s string) (d time.Duration, percentile float64, err error) {
	if p, ok := strings.CutPrefix(s, "p"); ok {
		q, err := strconv.ParseFloat(p, 64)
		if err != nil || q < 50 || q > 99.9 {
			return 0, 0, fmt.Errorf("hedge delay %q: want a duration or a percentile from p50 to p99.9", s)
		}
		return 0, q, nil
	}
	d, err = time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("hedge delay %q: want a positive duration (50ms) or a percentile (p95)", s)
	}
	return d, 0, nil
}

// validateResilience checks the hedge and retry budget of o.
func (o *RouteOptions) validateResilience(add func(format string, a ...any)) {
	if h := o.Hedge; h != nil {
		if _, _, err := ParseHedgeDelay(h.Delay); err != nil {
			add("%v", err)
		}
		if h.Max < 0 || h.Max > 3 {
			add("hedge max must be between 1 and 3")
		}
	}
	if b := o.RetryBudget; b != nil {
		if b.Ratio != nil && (*b.Ratio < 0 || *b.Ratio > 1) {
			add("retry_budget ratio must be between 0 and 1")
		}
		if b.Min != nil && (*b.Min < 0 || *b.Min > 10000) {
			add("retry_budget min must be between 0 and 10000")
		}
	}
}
