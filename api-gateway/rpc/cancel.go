package rpc

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/api-gateway/middleware"
)

// streamTokenHeader carries a stream's token from the handler to the
// transport inside go-micro's metadata; the transport removes it before the
// message leaves, so nodes never see it.
const streamTokenHeader = "X-Microlb-Stream"

// nodeDeadlineHeader carries a unary call's deadline for the node, in
// nanoseconds, from the handler to the transport, which sends it as
// go-micro's Timeout header in place of go-micro's own (the attempt's wait,
// longer by attemptGrace; see Handler.callContext).
const nodeDeadlineHeader = "X-Microlb-Deadline"

// cancelTransport lets a request's context end a go-micro stream. go-micro's
// rpcStream.Recv does not watch the context, so a stream whose client went
// away would stay open until the node's next message. Each connection the
// transport dials learns its stream's context from the first message it
// sends; when that context ends, the connection is closed, Recv fails at
// once, and the node's next Send fails, which ends the handler. Closing the
// connection (not the go-micro stream) is what makes this race-free: the
// http transport's Close is safe during a Recv, while the codec's buffers
// are not.
//
// Unary calls are left alone: go-micro's Call already returns when the
// context ends, and closing their pooled connection would make the selector
// count the client's departure against the node.
type cancelTransport struct {
	transport.Transport
	next    atomic.Uint64
	streams sync.Map // token → context.Context
}

func newCancelTransport(t transport.Transport) *cancelTransport {
	return &cancelTransport{Transport: t}
}

// register makes ctx end the stream that carries the returned token in its
// metadata; release forgets it.
func (t *cancelTransport) register(ctx context.Context) (token string, release func()) {
	token = strconv.FormatUint(t.next.Add(1), 36)
	t.streams.Store(token, ctx)
	return token, func() { t.streams.Delete(token) }
}

// Dial wraps the dialled client.
func (t *cancelTransport) Dial(addr string, opts ...transport.DialOption) (transport.Client, error) {
	c, err := t.Transport.Dial(addr, opts...)
	if err != nil {
		return nil, err
	}
	return &cancelClient{Client: c, t: t, addr: addr}, nil
}

type cancelClient struct {
	transport.Client
	t     *cancelTransport
	addr  string
	mu    sync.Mutex
	bound bool
	stop  func() bool
}

// Send strips the token and, on the stream's first message, arranges for the
// stream's context to close the connection. It also turns a unary call's
// node deadline into go-micro's Timeout header.
func (c *cancelClient) Send(m *transport.Message) error {
	if d, ok := m.Header[nodeDeadlineHeader]; ok {
		delete(m.Header, nodeDeadlineHeader)
		m.Header["Timeout"] = d
	}
	if tok, ok := m.Header[streamTokenHeader]; ok {
		delete(m.Header, streamTokenHeader)
		c.mu.Lock()
		if !c.bound {
			if v, ok := c.t.streams.Load(tok); ok {
				c.bound = true
				if info := middleware.InfoFrom(v.(context.Context)); info != nil {
					info.SetNode(c.addr) // go-micro does not tell a stream's node id
				}
				c.stop = context.AfterFunc(v.(context.Context), func() { c.Client.Close() })
			}
		}
		c.mu.Unlock()
	}
	return c.Client.Send(m)
}

// Close stops watching the context and closes the connection.
func (c *cancelClient) Close() error {
	c.mu.Lock()
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.mu.Unlock()
	return c.Client.Close()
}
