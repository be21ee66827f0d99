package rpc

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"go-micro.dev/v4/transport"
)

// streamTokenHeader carries a stream's token from the handler to the
// transport inside go-micro's metadata; the transport removes it before the
// message leaves, so nodes never see it.
const streamTokenHeader = "X-Microlb-Stream"

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
// Only streams go through it: unary calls use mucpTransport, whose requests
// end with their context.
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
// stream's context to close the connection.
func (c *cancelClient) Send(m *transport.Message) error {
	if tok, ok := m.Header[streamTokenHeader]; ok {
		delete(m.Header, streamTokenHeader)
		c.mu.Lock()
		if !c.bound {
			if v, ok := c.t.streams.Load(tok); ok {
				c.bound = true
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
