package rpc

import (
	"context"
	"time"

	"go-micro.dev/v4/client"
	gselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/transport"

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

var _ gselector.Selector = (*selector.Selector)(nil)
