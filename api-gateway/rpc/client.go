package rpc

import (
	"context"
	"time"

	grpcc "github.com/go-micro/plugins/v4/client/grpc"
	"go-micro.dev/v4/client"
	raw "go-micro.dev/v4/codec/bytes"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/transport"
	"google.golang.org/grpc"

	"github.com/microlb/microlb/selector"
)

// newStreamClient returns the go-micro client that opens the streams of
// mucp nodes. The handler picks the node itself and names it with
// client.WithAddress, so the client neither selects nor retries; tr (nil:
// go-micro's HTTP transport) is wrapped so that a client that leaves closes
// its stream's connection (see cancelTransport).
//
// Connections are not pooled: a stream holds its connection to the end, and
// go-micro v4.11.0's server keys the unary requests of a connection by a
// header its own HTTP transport renames (see mucpTransport), so a pooled
// connection is no place for go-micro's client. Unary calls do not come
// here: mucpTransport sends them over connections of its own.
func newStreamClient(sel *selector.Selector, tr transport.Transport) (client.Client, *cancelTransport) {
	if tr == nil {
		tr = transport.NewHTTPTransport()
	}
	ct := newCancelTransport(tr)
	c := client.NewClient(
		client.Selector(sel),
		client.Transport(ct),
		client.Retries(0),
		client.Backoff(func(context.Context, client.Request, int) (time.Duration, error) { return 0, nil }),
		client.PoolSize(0),
		client.ContentType("application/json"),
	)
	return c, ct
}

// newGRPCClient returns go-micro's gRPC client plugin set up for the
// gateway: JSON frames in and out (the node's gRPC server decodes them with
// protojson), HTTP/2 connections pooled and shared per node by the plugin,
// no retries of its own, and gRPC status codes mapped to go-micro errors
// with their HTTP status (see grpcStatus). The gateway always names the
// node (client.WithAddress); sel only receives the plugin's own Mark calls,
// which name no node id and are ignored.
func newGRPCClient(sel gselector.Selector) client.Client {
	return grpcc.NewClient(
		client.Selector(sel),
		client.ContentType("application/json"),
		client.Retries(0),
		func(o *client.Options) {
			grpcc.DialOptions(grpc.WithChainUnaryInterceptor(grpcStatus), grpc.WithChainStreamInterceptor(grpcStreamStatus))(&o.CallOptions)
		},
	)
}

// jsonRequest is a request of c for endpoint of service whose body is
// already JSON: the raw codec's frame, sent as application/json; a
// streaming one when stream is set.
func jsonRequest(c client.Client, service, endpoint string, body []byte, stream bool) client.Request {
	frame, ct := &raw.Frame{Data: body}, client.WithContentType("application/json")
	if stream {
		return c.NewRequest(service, endpoint, frame, ct, client.StreamingRequest())
	}
	return c.NewRequest(service, endpoint, frame, ct)
}

// onNode are the call options of one attempt: on node, which the handler
// picked, and never retried by the client itself.
func onNode(node *registry.Node) []client.CallOption {
	return []client.CallOption{client.WithAddress(node.Address), client.WithRetries(0)}
}

var _ gselector.Selector = (*selector.Selector)(nil)
