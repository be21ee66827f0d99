package rpc

import (
	"context"
	"errors"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/api-gateway/tracing"
	"github.com/microlb/microlb/selector"
)

// attemptTimedOut is what the selector is told when a node did not answer
// in time, whichever deadline ended the attempt (the attempt's own, or the
// route's): a 408 that IsFailure counts, unlike a client that left.
var attemptTimedOut = selector.ErrAttemptTimeout

// errAttemptLost is the cause that cancels a hedged request's attempts
// that lost the race: they say nothing about their node.
var errAttemptLost = errors.New("another attempt answered first")

// unary calls c on the service's nodes: one Select, then one node per
// attempt, each a different one, for at most 1 + rt.Retries attempts, plus
// up to rt.Hedge.Max hedges for an idempotent request on a hedging route.
// Every retry and hedge takes a share of the route's retry budget; when the
// budget is spent the request ends with its last error. It returns the first
// answer and the node that gave it, or the last error. Each attempt's outcome is
// reported to the selector (see mark).
func (h *Handler) unary(ctx context.Context, rt *route.Route, c *unaryCall, idempotent bool, sopts []gselector.SelectOption) ([]byte, *registry.Node, error) {
	next, err := h.sel.Select(c.service, sopts...)
	if err != nil {
		return nil, nil, selectError(c.service, err)
	}
	if rt.Budget != nil {
		defer rt.Budget.Begin()()
	}
	if rt.Hedge != nil && idempotent {
		return h.hedged(ctx, rt, c, next)
	}
	retry := Retry(idempotent)
	var last error
	for i := 0; i <= rt.Retries; i++ {
		node, err := next()
		if err != nil {
			if last != nil {
				return nil, nil, last
			}
			return nil, nil, selectError(c.service, err)
		}
		done := noop
		if i > 0 {
			var ok bool
			if ok, done = retryAfter(rt, last); !ok {
				return nil, nil, last
			}
		}
		data, err := h.attempt(ctx, ctx, rt, node, c, i+1)
		done()
		if err == nil {
			return data, node, nil
		}
		last = err
		if ok, _ := retry(ctx, nil, i, err); !ok {
			return nil, nil, err
		}
	}
	return nil, nil, last
}

func noop() {}

// retryAfter decides whether a retry after err may go: one after a timeout
// takes a share of the route's budget (the service may be overloaded, and a
// retry adds load to it); one after a refused or broken connection is free,
// because it only moves a request whose node is gone to a live one. So a
// node that dies with many requests in flight costs none of them, while a
// slow service does not get a retry storm.
func retryAfter(rt *route.Route, err error) (bool, func()) {
	if c, _ := classify(err); c == classRefused || c == classReset {
		return true, noop
	}
	return tryRetry(rt)
}

// tryRetry takes a retry (or hedge) from the route's budget.
func tryRetry(rt *route.Route) (bool, func()) {
	if rt.Budget == nil {
		return true, noop
	}
	return rt.Budget.TryRetry()
}

// outcome is one attempt's result in a hedged request.
type outcome struct {
	data []byte
	node *registry.Node
	err  error
}

// hedged runs an idempotent request on a hedging route: an attempt starts
// on the first node; whenever no answer has come after the hedge delay, a
// hedge starts on the next node (at most rt.Hedge.Max of them), and a failed
// attempt that Retry allows is retried at once (at most rt.Retries times).
// The first answer wins; the other attempts are cancelled and not reported
// to the selector.
func (h *Handler) hedged(ctx context.Context, rt *route.Route, c *unaryCall, next gselector.Next) ([]byte, *registry.Node, error) {
	results := make(chan outcome, 1+rt.Retries+rt.Hedge.Max)
	var cancels []context.CancelCauseFunc
	defer func() {
		for _, cancel := range cancels {
			cancel(errAttemptLost)
		}
	}()
	var last error
	attempts := 0
	launch := func(done func()) bool {
		node, err := next()
		if err != nil {
			done()
			if last == nil {
				last = selectError(c.service, err)
			}
			return false
		}
		actx, cancel := context.WithCancelCause(ctx)
		cancels = append(cancels, cancel)
		attempts++
		n := attempts
		go func() {
			data, err := h.attempt(ctx, actx, rt, node, c, n)
			done()
			results <- outcome{data, node, err}
		}()
		return true
	}
	if !launch(noop) {
		return nil, nil, last
	}
	pending, retries, hedges := 1, 0, 0
	retry := Retry(true)
	timer := time.NewTimer(h.hedgeDelay(rt))
	defer timer.Stop()
	for pending > 0 {
		select {
		case <-timer.C:
			if hedges < rt.Hedge.Max && ctx.Err() == nil {
				if ok, done := tryRetry(rt); ok && launch(done) {
					pending++
					hedges++
					timer.Reset(h.hedgeDelay(rt))
				}
			}
		case o := <-results:
			pending--
			if o.err == nil {
				return o.data, o.node, nil
			}
			last = o.err
			if ok, _ := retry(ctx, nil, retries, o.err); ok && retries < rt.Retries {
				if ok, done := retryAfter(rt, o.err); ok && launch(done) {
					pending++
					retries++
				}
			}
		}
	}
	return nil, nil, last
}

// hedgeDelay is how long a hedged request waits for an answer before it
// sends a hedge: the route's fixed delay, or its recent latency percentile
// (never, until enough attempts were seen).
func (h *Handler) hedgeDelay(rt *route.Route) time.Duration {
	if rt.Hedge.Delay > 0 {
		return rt.Hedge.Delay
	}
	if d, ok := h.latencies(rt).quantile(rt.Hedge.Percentile); ok {
		return d
	}
	return 1<<63 - 1
}

// latencies returns the route's latency histogram, creating it on first
// use.
func (h *Handler) latencies(rt *route.Route) *latencies {
	if l, ok := h.lat.Load(rt); ok {
		return l.(*latencies)
	}
	l, _ := h.lat.LoadOrStore(rt, newLatencies())
	return l.(*latencies)
}

// attempt sends c to node once, within actx (ctx, or an attempt context
// below it that a hedged request cancels when another attempt won); n is
// the attempt's number, from 1. With tracing on, the attempt is a client
// span and the node gets it as the parent in the metadata's Traceparent.
func (h *Handler) attempt(ctx, actx context.Context, rt *route.Route, node *registry.Node, c *unaryCall, n int) (data []byte, err error) {
	if info := reqinfo.FromContext(ctx); info != nil {
		info.SetNode(node.Id)
	}
	if tracing.Enabled() {
		var span trace.Span
		actx, span = tracing.StartAttempt(actx, c.service+"/"+c.endpoint, c.service, node.Id, n, string(rt.Strategy))
		defer func() { tracing.End(span, err) }()
		tc := *c
		tc.md, c = tracing.Metadata(actx, c.md), &tc
	}
	if rt.PerTryTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(actx, rt.PerTryTimeout)
		defer cancel()
	}
	done := h.sel.Track(c.service, node)
	start := time.Now()
	if isGRPC(node) {
		data, err = h.grpc.call(actx, node, c)
	} else {
		data, err = h.mucp.call(actx, node.Address, c)
	}
	done()
	if rt.Hedge != nil && rt.Hedge.Delay == 0 && err == nil {
		h.latencies(rt).observe(time.Since(start))
	}
	h.mark(ctx, actx, c.service, node, err)
	if err != nil && actx.Err() != nil && ctx.Err() == nil && context.Cause(actx) != errAttemptLost {
		// The attempt's own deadline: a timeout of this attempt only.
		err = attemptTimedOut
	}
	return data, err
}

// mark reports an attempt's outcome to the selector. A node that did not
// answer in time is a failure whichever deadline ended the attempt; a
// client that left, or an attempt cancelled because another one of a hedged
// request answered first, says nothing about the node and is not reported; an
// answer too large for the gateway is the node's answer, not its failure.
func (h *Handler) mark(ctx, actx context.Context, service string, node *registry.Node, err error) {
	switch {
	case err == nil:
		h.sel.Mark(service, node, nil)
	case ctx.Err() != nil && !middleware.TimedOut(ctx):
		// the client left
	case context.Cause(actx) == errAttemptLost:
		// a hedged request's slower attempt
	case actx.Err() != nil:
		h.sel.Mark(service, node, attemptTimedOut)
	case isTooLarge(err):
		h.sel.Mark(service, node, nil)
	default:
		h.sel.Mark(service, node, err)
	}
}

func isTooLarge(err error) bool {
	var me *merrors.Error
	return errors.As(err, &me) && me.Id == responseTooLargeID
}

// selectError shapes a selector error as go-micro's client does, so that
// classify tells an unknown service from one without a usable node.
func selectError(service string, err error) error {
	if errors.Is(err, gselector.ErrNotFound) {
		return merrors.InternalServerError(clientID, "service %s: %s", service, err.Error())
	}
	return merrors.InternalServerError(clientID, "error selecting %s node: %s", service, err.Error())
}
