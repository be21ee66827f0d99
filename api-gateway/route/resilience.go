package route

import (
	"time"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/selector"
)

// Hedge is a compiled hedging policy: after Delay, or after the route's
// recent Percentile latency when Delay is 0, another attempt is sent; at
// most Max hedges per request.
type Hedge struct {
	Delay      time.Duration
	Percentile float64
	Max        int
}

// compileResilience sets the route's hedging policy and retry budget.
func (r *Route) compileResilience(o config.RouteOptions) error {
	if h := o.Hedge; h != nil {
		d, p, err := config.ParseHedgeDelay(h.Delay)
		if err != nil {
			return err
		}
		r.Hedge = &Hedge{Delay: d, Percentile: p, Max: max(h.Max, 1)}
	}
	ratio, minRetries := selector.DefaultRetryBudgetRatio, selector.DefaultRetryBudgetMin
	if b := o.RetryBudget; b != nil {
		if b.Ratio != nil {
			ratio = *b.Ratio
		}
		if b.Min != nil {
			minRetries = *b.Min
		}
	}
	r.Budget = selector.NewRetryBudget(ratio, minRetries)
	return nil
}
