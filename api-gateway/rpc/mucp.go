package rpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/transport/headers"
)

// mucpTransport sends unary go-micro (mucp) requests as plain HTTP/1.1 POSTs
// over a pool of kept-alive connections, which is what go-micro's HTTP
// transport puts on the wire, one request and one response per message.
//
// Reusing connections is safe with unmodified go-micro v4.11.0 servers only
// because every request carries its own Micro-Stream id. The server
// (server/rpc_server.go, ServeConn) routes the messages of one connection to
// pseudo-sockets keyed by Micro-Stream, or, when that is absent, by
// msg.Header["Micro-ID"]. Its HTTP transport stores headers under their
// canonical names ("Micro-Id"), so without Micro-Stream every request of a
// connection gets the id "", and a request sent before the server released
// the previous one's pseudo-socket is handed to that dead socket and never
// answered. A unique Micro-Stream gives each request a pseudo-socket of its
// own; for a unary handler the server's router ignores the stream flag (it
// reads the method's own kind). See docs/go-micro-micro-id.md.
type mucpTransport struct {
	http   *http.Transport
	prefix string        // random per process, so ids never repeat across restarts
	seq    atomic.Uint64 // the request id's counter
}

// mucpIdleConns bounds the idle connections kept per node. It is above any
// concurrency the gateway runs at, so a burst never closes connections on
// the gateway's side (each close would leave a TIME_WAIT socket behind).
const mucpIdleConns = 1024

func newMucpTransport() *mucpTransport {
	var b [6]byte
	rand.Read(b[:])
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	return &mucpTransport{
		prefix: hex.EncodeToString(b[:]) + "-",
		http: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, &dialError{err}
				}
				return c, nil
			},
			MaxIdleConns:        0, // no global cap; mucpIdleConns per node
			MaxIdleConnsPerHost: mucpIdleConns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			// go-micro's transport listener answers HTTP/1 on a hijacked
			// connection; HTTP/2 is only for its streams.
			ForceAttemptHTTP2: false,
		},
	}
}

// dialError marks a failure to connect: the request never left.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// unaryCall is one RPC as the attempt loop sends it to any node.
type unaryCall struct {
	service, endpoint string
	body              []byte
	md                map[string]string // canonical header names
	maxResponse       int64             // bytes; beyond it the answer is refused
}

// errTooLarge is returned (wrapped in a gateway error) for an answer larger
// than the call's maxResponse.
func errTooLarge(service string, limit int64) *merrors.Error {
	return &merrors.Error{Id: responseTooLargeID, Code: http.StatusBadGateway,
		Detail: fmt.Sprintf("upstream %s answered with more than %d bytes", service, limit), Status: http.StatusText(http.StatusBadGateway)}
}

// responseTooLargeID is the id of errTooLarge, so that classify tells it
// from the node's own errors.
const responseTooLargeID = "microlb.gateway.too_large"

// call sends c to the node at addr and returns the response body.
//
// The request carries no Timeout header, so the node's handler gets no
// deadline of its own (the gateway still ends the attempt at its own
// deadline). go-micro v4.11.0's server (server/rpc_server.go, ServeConn)
// defers the cancel of a request's Timeout context inside its
// per-connection loop, so on a kept-alive connection every request that
// carried a Timeout stays in the node's memory (its context and a copy of
// its headers, about 2.5 KB) until the connection closes: 100,000 calls grew
// a stock node from 25 MB to 224 MB, against 26.5 MB without the header.
//
// Errors have the shapes of go-micro's client (see classify): a dial
// failure is a go.micro.client "connection error", a failure after the
// request left is a go.micro.client.transport error, the context's end is a
// 408, and the node's answer with Micro-Error is that error.
func (m *mucpTransport) call(ctx context.Context, addr string, c *unaryCall) ([]byte, error) {
	id := m.prefix + strconv.FormatUint(m.seq.Add(1), 36)
	req := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Scheme: "http", Host: addr, Path: "/"},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(c.md)+7),
		ContentLength: int64(len(c.body)),
		Host:          addr,
	}
	if len(c.body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(c.body))
		body := c.body
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	h := req.Header
	// go-micro's server echoes every request header in its answer, one
	// write system call per line (transport/http_socket.go, sendHTTP1 over
	// the bare connection), so the request carries only what the server
	// reads: the codec, the mucp headers and the metadata.
	for k, v := range c.md {
		h[k] = []string{v}
	}
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{""} // net/http sends none
	h[headers.Request] = []string{c.service}
	h[headers.Endpoint] = []string{c.endpoint}
	h[headers.Method] = []string{c.endpoint}
	h["Micro-Id"] = []string{id}
	h[headers.Stream] = []string{id}
	req = req.WithContext(ctx)

	rsp, err := m.http.RoundTrip(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer rsp.Body.Close()
	data, err := readLimited(rsp.Body, rsp.ContentLength, c.maxResponse)
	if err == errBodyTooLarge {
		return nil, errTooLarge(c.service, c.maxResponse)
	}
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if e := rsp.Header.Get(headers.Error); e != "" {
		return nil, merrors.Parse(e)
	}
	if rsp.StatusCode != http.StatusOK {
		// go-micro's transport answers 500 with a plain body when it could
		// not encode the response.
		return nil, merrors.InternalServerError(clientTransportID, "node answered %d: %s", rsp.StatusCode, truncate(data, 200))
	}
	return data, nil
}

// transportError shapes a failed round trip as go-micro's client would.
func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return merrors.Timeout(clientID, "%v", ctx.Err())
	}
	var de *dialError
	if errors.As(err, &de) {
		return merrors.InternalServerError(clientID, "connection error: %v", de.err)
	}
	return merrors.InternalServerError(clientTransportID, "%v", err)
}

var errBodyTooLarge = errors.New("body too large")

// readLimited reads a response body of at most limit bytes (no limit when
// limit <= 0); a longer one is errBodyTooLarge. size is the announced length
// (-1 when unknown) and sizes the buffer.
func readLimited(r io.Reader, size, limit int64) ([]byte, error) {
	if limit > 0 && size > limit {
		return nil, errBodyTooLarge
	}
	if limit <= 0 {
		limit = 1<<63 - 2
	}
	if size >= 0 {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errBodyTooLarge
	}
	return data, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
