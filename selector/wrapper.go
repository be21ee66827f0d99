package selector

import (
	"context"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// DefaultHashKeyHeader is the metadata key HashKeyWrapper reads by default.
const DefaultHashKeyHeader = "X-Hash-Key"

// HashKeyWrapper returns a client.Wrapper that reads a hash key from the
// call's context metadata under header (DefaultHashKeyHeader when empty) and
// adds WithKey to the call's select options, so Hash routes by it.
//
// The client side is an onion, outermost first:
//
//	HashKeyWrapper (client.Wrapper: once per Call, before the selector)
//	  → selector Select, then per attempt: Next
//	    → LoadReporter (client.CallWrapper: once per attempt, around the node call)
//	      → the RPC to the node; then go-micro calls Mark
//
// Register them with micro.WrapClient(selector.HashKeyWrapper("")) and
// micro.WrapCall(selector.LoadReporter(sel)).
func HashKeyWrapper(header string) client.Wrapper {
	if header == "" {
		header = DefaultHashKeyHeader
	}
	return func(c client.Client) client.Client {
		return &hashKeyClient{Client: c, header: header}
	}
}

type hashKeyClient struct {
	client.Client
	header string
}

func (h *hashKeyClient) withKey(ctx context.Context, opts []client.CallOption) []client.CallOption {
	if key, ok := metadata.Get(ctx, h.header); ok && key != "" {
		return append(opts, client.WithSelectOption(WithKey(key)))
	}
	return opts
}

// Call adds the hash key option and calls the wrapped client.
func (h *hashKeyClient) Call(ctx context.Context, req client.Request, rsp any, opts ...client.CallOption) error {
	return h.Client.Call(ctx, req, rsp, h.withKey(ctx, opts)...)
}

// Stream adds the hash key option and streams through the wrapped client.
func (h *hashKeyClient) Stream(ctx context.Context, req client.Request, opts ...client.CallOption) (client.Stream, error) {
	return h.Client.Stream(ctx, req, h.withKey(ctx, opts)...)
}

// LoadReporter returns a client.CallWrapper that reports each attempt's
// in-flight count and latency to sel, for LeastLoaded and Hash's bounded
// loads. With a selector that is not microlb's it does nothing.
func LoadReporter(sel selector.Selector) client.CallWrapper {
	s, ok := sel.(*Selector)
	return func(next client.CallFunc) client.CallFunc {
		if !ok {
			return next
		}
		return func(ctx context.Context, node *registry.Node, req client.Request, rsp any, opts client.CallOptions) error {
			done := s.Track(req.Service(), node)
			defer done()
			return next(ctx, node, req, rsp, opts)
		}
	}
}
