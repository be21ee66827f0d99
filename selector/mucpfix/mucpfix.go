// Package mucpfix works around a go-micro v4.11.0 server bug that loses
// requests sent on reused connections. Wrap the server's transport:
//
//	import "github.com/microlb/microlb/selector/mucpfix"
//
//	service := micro.NewService(
//		micro.Name("greeter"),
//		micro.Transport(mucpfix.Transport(transport.NewHTTPTransport())),
//	)
//
// The bug: the server (server/rpc_server.go, ServeConn) routes the messages
// of one connection to pseudo-sockets keyed by the Micro-Stream header or,
// for a unary request, by msg.Header["Micro-ID"]. The HTTP transport hands
// the server canonical header keys ("Micro-Id"), so every unary request of a
// connection gets the id "". A client that reuses a pooled connection (as
// go-micro's own client does, with its default pool) can send its next
// request before the server has released the previous request's
// pseudo-socket; the server then takes the new request for more data of the
// old one and never serves it, and the client waits until its timeout
// (about 1 call in 1000 with 4 concurrent callers on loopback). Copying the
// id to the key the server reads gives every request its own pseudo-socket.
// docs/go-micro-micro-id.md describes the bug for go-micro's maintainers.
//
// Only the server side changes: Dial is the wrapped transport's own, so the
// same wrapped transport serves a service's client too.
package mucpfix

import (
	"net/textproto"

	"go-micro.dev/v4/transport"
	"go-micro.dev/v4/transport/headers"
)

// Transport returns t with the fix applied to every connection it accepts.
func Transport(t transport.Transport) transport.Transport { return idTransport{t} }

type idTransport struct{ transport.Transport }

// Listen listens with the wrapped transport and fixes the id of every
// message received.
func (t idTransport) Listen(addr string, opts ...transport.ListenOption) (transport.Listener, error) {
	l, err := t.Transport.Listen(addr, opts...)
	if err != nil {
		return nil, err
	}
	return idListener{l}, nil
}

type idListener struct{ transport.Listener }

// Accept serves every connection through an idSocket.
func (l idListener) Accept(fn func(transport.Socket)) error {
	return l.Listener.Accept(func(s transport.Socket) { fn(idSocket{s}) })
}

type idSocket struct{ transport.Socket }

// canonicalID is the key the HTTP transport stores the request id under.
var canonicalID = textproto.CanonicalMIMEHeaderKey(headers.ID)

// Recv receives a message and copies its request id to the key go-micro's
// server reads.
func (s idSocket) Recv(m *transport.Message) error {
	if err := s.Socket.Recv(m); err != nil {
		return err
	}
	if id := m.Header[canonicalID]; id != "" && m.Header[headers.ID] == "" {
		m.Header[headers.ID] = id
	}
	return nil
}
