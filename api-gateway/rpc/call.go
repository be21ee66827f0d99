package rpc

import (
	"context"
	"errors"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/route"
)

// attemptTimedOut is what the selector is told when a node did not answer
// in time, whichever deadline ended the attempt (the attempt's own, or the
// route's): a 408 that IsFailure counts, unlike a client that left.
var attemptTimedOut = merrors.Timeout(clientID, "attempt timed out: %v", context.DeadlineExceeded)

// unary calls c on the service's nodes: one Select, then one node per
// attempt, each a different one, for at most 1 + rt.Retries attempts. It
// returns the first answer and the node that gave it, or the last error. The node is told its deadline
// (the attempt's, at most the route's), and each attempt's outcome is
// reported to the selector (see mark).
func (h *Handler) unary(ctx context.Context, rt *route.Route, c *unaryCall, idempotent bool, sopts []gselector.SelectOption) ([]byte, *registry.Node, error) {
	next, err := h.sel.Select(c.service, sopts...)
	if err != nil {
		return nil, nil, selectError(c.service, err)
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
		data, err := h.attempt(ctx, rt, node, c)
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

// attempt sends c to node once.
func (h *Handler) attempt(ctx context.Context, rt *route.Route, node *registry.Node, c *unaryCall) ([]byte, error) {
	if info := middleware.InfoFrom(ctx); info != nil {
		info.SetNode(node.Id)
	}
	actx := ctx
	deadline := rt.Timeout
	if rt.PerTryTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, rt.PerTryTimeout)
		defer cancel()
		deadline = rt.PerTryTimeout
	}
	if d, ok := actx.Deadline(); ok {
		if left := time.Until(d); deadline <= 0 || left < deadline {
			deadline = max(left, time.Millisecond)
		}
	}
	done := h.sel.Track(c.service, node)
	var (
		data []byte
		err  error
	)
	if isGRPC(node) {
		data, err = h.grpc.call(actx, node, c)
	} else {
		data, err = h.mucp.call(actx, node.Address, c, deadline)
	}
	done()
	h.mark(ctx, actx, c.service, node, err)
	if err != nil && actx != ctx && actx.Err() != nil && ctx.Err() == nil {
		// The attempt's own deadline: a timeout of this attempt only.
		err = attemptTimedOut
	}
	return data, err
}

// mark reports an attempt's outcome to the selector. A node that did not
// answer in time is a failure whichever deadline ended the attempt; a
// client that left says nothing about the node and is not reported; an
// answer too large for the gateway is the node's answer, not its failure.
func (h *Handler) mark(ctx, actx context.Context, service string, node *registry.Node, err error) {
	switch {
	case err == nil:
		h.sel.Mark(service, node, nil)
	case ctx.Err() != nil && !middleware.TimedOut(ctx):
		// the client left
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
