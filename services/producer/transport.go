package main

import (
	"net/textproto"

	"go-micro.dev/v4/transport"
	"go-micro.dev/v4/transport/headers"
)

// idTransport wraps the RPC server's transport to work around a go-micro
// v4.11 bug that loses requests on reused connections.
//
// The server keys the requests of one connection by msg.Header["Micro-ID"],
// but the HTTP transport hands it canonical header keys ("Micro-Id"), so
// every request of a connection gets the id "". A client that reuses a
// pooled connection can send its next request before the server has
// released the previous request's pseudo-socket; the server then takes the
// new request for more data of the old one and never serves it, and the
// client waits until its timeout (about 1 call in 1000 here with 4
// concurrent callers). Copying the id to the key the server reads gives every
// request its own pseudo-socket.
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
