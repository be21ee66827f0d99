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

// compileResilience sets the route's hedging policy and retry budget from
// o, which config.Defaulted filled in.
func (r *Route) compileResilience(o config.RouteOptions) error {
	if h := o.Hedge; h != nil {
		d, p, err := config.ParseHedgeDelay(h.Delay)
		if err != nil {
			return err
		}
		r.Hedge = &Hedge{Delay: d, Percentile: p, Max: h.Max}
	}
	r.Budget = selector.NewRetryBudget(*o.RetryBudget.Ratio, *o.RetryBudget.Min)
	return nil
}
