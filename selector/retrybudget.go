package selector

import (
	"context"
	"slices"
	"sync/atomic"

	"go-micro.dev/v4/client"
)

// Defaults of DefaultRetryBudget, as Envoy's retry budget.
const (
	DefaultRetryBudgetRatio = 0.2
	DefaultRetryBudgetMin   = 3
)

// RetryBudget bounds retries with Envoy's retry budget: at most ratio × the
// requests in flight may be retries in flight, but at least minRetries
// concurrent retries are always allowed, so that a quiet service can still
// retry. When every node is slow, retries then add at most ratio to the load
// instead of multiplying it (a retry storm). It is lock-free (two atomic
// counters) and safe for concurrent use; share one per route or service.
//
// A caller calls Begin once per request and TryRetry before each retry
// (hedges count as retries), and calls each returned done function exactly
// once when that request or retry attempt ends.
type RetryBudget struct {
	ratio      float64
	minRetries int64
	requests   atomic.Int64
	retries    atomic.Int64
	endRequest func() // b.requests.Add(-1), built once so Begin allocates nothing
	endRetry   func()
}

// NewRetryBudget returns a budget allowing retries in flight up to
// max(minRetries, ⌊ratio × requests in flight⌋). A ratio below 0 is 0 and
// above 1 is 1; a negative minRetries is 0. NewRetryBudget(0, 0) refuses
// every retry.
func NewRetryBudget(ratio float64, minRetries int) *RetryBudget {
	b := &RetryBudget{ratio: min(max(ratio, 0), 1), minRetries: int64(max(minRetries, 0))}
	b.endRequest = func() { b.requests.Add(-1) }
	b.endRetry = func() { b.retries.Add(-1) }
	return b
}

// DefaultRetryBudget returns Envoy's default budget: 20 % of the requests in
// flight, at least 3 concurrent retries.
func DefaultRetryBudget() *RetryBudget {
	return NewRetryBudget(DefaultRetryBudgetRatio, DefaultRetryBudgetMin)
}

// Begin counts one request in flight; call done when it ends.
func (b *RetryBudget) Begin() (done func()) {
	b.requests.Add(1)
	return b.endRequest
}

// TryRetry takes one retry from the budget. It reports false, with a no-op
// done, when the retries in flight are already at the limit; otherwise call
// done when the retry attempt ends.
func (b *RetryBudget) TryRetry() (ok bool, done func()) {
	for {
		r := b.retries.Load()
		limit := max(b.minRetries, int64(b.ratio*float64(b.requests.Load())))
		if r >= limit {
			return false, noop
		}
		if b.retries.CompareAndSwap(r, r+1) {
			return true, b.endRetry
		}
	}
}

// InFlight returns the requests and the retries currently in flight.
func (b *RetryBudget) InFlight() (requests, retries int64) {
	return b.requests.Load(), b.retries.Load()
}

func noop() {}

// RetryBudgetWrapper returns a client.Wrapper that puts every Call and Stream
// of the client under budget b: each counts as a request in flight while it
// runs, and the call's retry function (client.Retry, default go-micro's
// RetryOnError) is wrapped so that a retry it asks for is refused, and the
// call returns its last error, when the budget is exhausted. A granted retry
// holds its place in the budget until the next retry decision or the end of
// the call, whichever comes first. Register it with
// micro.WrapClient(selector.RetryBudgetWrapper(selector.DefaultRetryBudget())).
func RetryBudgetWrapper(b *RetryBudget) client.Wrapper {
	return func(c client.Client) client.Client { return &budgetClient{Client: c, b: b} }
}

type budgetClient struct {
	client.Client
	b *RetryBudget
}

// budgetRetry is the retry state of one call: the caller's retry function and
// the retry it holds.
type budgetRetry struct {
	b     *RetryBudget
	inner client.RetryFunc
	held  func()
}

// withRetry returns opts plus a retry option wrapping the call's own.
func (c *budgetClient) withRetry(opts []client.CallOption) ([]client.CallOption, *budgetRetry) {
	var co client.CallOptions // a fresh struct: the options' appends share nothing
	for _, o := range opts {
		o(&co)
	}
	if co.Retry == nil {
		co.Retry = c.Client.Options().CallOptions.Retry
	}
	r := &budgetRetry{b: c.b, inner: co.Retry, held: noop}
	return append(slices.Clip(opts), client.WithRetry(r.retry)), r
}

// retry asks the call's retry function, then the budget.
func (r *budgetRetry) retry(ctx context.Context, req client.Request, n int, err error) (bool, error) {
	if r.inner == nil {
		return false, nil
	}
	ok, rerr := r.inner(ctx, req, n, err)
	if !ok || rerr != nil {
		return ok, rerr
	}
	r.release() // the previous retry attempt, if any, has ended
	ok, r.held = r.b.TryRetry()
	return ok, nil
}

// release gives back the retry the call holds, if any.
func (r *budgetRetry) release() {
	r.held()
	r.held = noop
}

// Call runs the call as one request of the budget.
func (c *budgetClient) Call(ctx context.Context, req client.Request, rsp any, opts ...client.CallOption) error {
	defer c.b.Begin()()
	opts, r := c.withRetry(opts)
	defer r.release()
	return c.Client.Call(ctx, req, rsp, opts...)
}

// Stream opens the stream as one request of the budget, until it is open.
func (c *budgetClient) Stream(ctx context.Context, req client.Request, opts ...client.CallOption) (client.Stream, error) {
	defer c.b.Begin()()
	opts, r := c.withRetry(opts)
	defer r.release()
	return c.Client.Stream(ctx, req, opts...)
}
