package rpc

import (
	"context"
	"time"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/selector"
)

// NewClient returns the go-micro client the gateway calls services with. Its
// onion, outermost first:
//
//	selector.HashKeyWrapper   (client.Wrapper: X-Hash-Key metadata → WithKey)
//	  → go-micro Call: one Select, then per attempt Next (a new node each try)
//	    → selector.LoadReporter (client.CallWrapper: in-flight and latency)
//	      → recordNode          (client.CallWrapper: node into the access log)
//	        → the attempt; then go-micro calls Mark with its outcome
//
// Retries and timeouts are set per call by the Handler; the client's own
// defaults are none and no backoff (the next try goes to another node).
// Connections are not pooled; see the PoolSize comment.
func NewClient(sel *selector.Selector, tr transport.Transport) (client.Client, *cancelTransport) {
	if tr == nil {
		tr = transport.NewHTTPTransport()
	}
	ct := newCancelTransport(tr)
	c := client.NewClient(
		client.Selector(sel),
		client.Transport(ct),
		client.Wrap(selector.HashKeyWrapper(selector.DefaultHashKeyHeader)),
		client.WrapCall(selector.LoadReporter(sel), recordNode),
		client.Retries(0),
		client.Backoff(func(context.Context, client.Request, int) (time.Duration, error) { return 0, nil }),
		// No connection reuse: go-micro v4.11.0's server keys a connection's
		// in-flight requests by the "Micro-ID" header, which its HTTP
		// transport canonicalizes to "Micro-Id", so every unary request on a
		// connection gets id "" and one sent on a reused connection before
		// the server released the previous one is routed to the dead
		// pseudo-socket and never answered (a hang until the attempt's
		// timeout; see server/rpc_server.go ServeConn and
		// transport/headers). One connection per attempt avoids it.
		client.PoolSize(0),
		client.ContentType("application/json"),
	)
	return c, ct
}

// recordNode notes each attempt's node in the request's Info.
func recordNode(next client.CallFunc) client.CallFunc {
	return func(ctx context.Context, node *registry.Node, req client.Request, rsp any, opts client.CallOptions) error {
		if info := middleware.InfoFrom(ctx); info != nil && node != nil {
			info.SetNode(node.Id)
		}
		return next(ctx, node, req, rsp, opts)
	}
}

var _ gselector.Selector = (*selector.Selector)(nil)
