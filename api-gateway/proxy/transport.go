package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/tracing"
	"github.com/microlb/microlb/selector"
)

// retryTransport makes each attempt of a proxied request: it reports the
// attempt to the selector (Track for in-flight and latency until the body
// is closed, Mark with the outcome) and, when an attempt fails before any
// response arrived, tries the next node of the same Select, which never
// repeats a node. A request that never left the gateway (connection refused)
// is retried whatever its method; one that may have reached the node only
// when the route deems the method idempotent. Retries stop after the route's
// count, when every node was tried, or when the context ends.
//
// A node whose metadata says protocol h2 gets cleartext HTTP/2 with prior
// knowledge (h2c), over a clone of base made on first use; https nodes
// negotiate HTTP/2 by ALPN on base itself (NewTransport sets
// ForceAttemptHTTP2). A base that is not an *http.Transport serves h2 nodes
// as it is.
type retryTransport struct {
	base http.RoundTripper
	sel  *selector.Selector

	h2cOnce sync.Once
	h2c     http.RoundTripper
}

// baseFor returns the transport for an attempt on node.
func (t *retryTransport) baseFor(node *registry.Node) http.RoundTripper {
	if node == nil || node.Metadata["protocol"] != ProtocolH2C {
		return t.base
	}
	t.h2cOnce.Do(func() { t.h2c = h2cTransport(t.base) })
	return t.h2c
}

// ProtocolH2C is the node metadata value of protocol that makes the proxy
// speak cleartext HTTP/2 with prior knowledge to the node.
const ProtocolH2C = "h2"

// h2cTransport is base speaking only cleartext HTTP/2 to http:// URLs, when
// base is an *http.Transport; base itself otherwise.
func h2cTransport(base http.RoundTripper) http.RoundTripper {
	tr, ok := base.(*http.Transport)
	if !ok {
		return base
	}
	c := tr.Clone()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c.Protocols = &p
	return c
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	a := attemptFrom(req.Context())
	if a == nil {
		return t.base.RoundTrip(req)
	}
	if b := a.route.Budget; b != nil {
		defer b.Begin()()
	}
	for n := 0; ; n++ {
		if a.info != nil {
			a.info.SetNode(a.node.Id)
		}
		done := t.sel.Track(a.service, a.node)
		treq, span := tracing.StartRequest(req, a.service, a.node.Id, n+1, string(a.route.Strategy))
		areq, stop := perTry(treq, a.route.PerTryTimeout)
		resp, err := t.baseFor(a.node).RoundTrip(areq)
		tracing.EndRequest(span, resp, err)
		if err == nil && stop() {
			t.sel.Mark(a.service, a.node, statusError(resp.StatusCode))
			resp.Body = trackBody(resp.Body, done)
			return resp, nil
		}
		if err == nil { // the answer came as the per-try deadline fired
			resp.Body.Close()
			err = errPerTryTimeout
		}
		stop()
		done()
		if req.Context().Err() == nil && context.Cause(areq.Context()) == errPerTryTimeout {
			err = errPerTryTimeout
		}
		t.sel.Mark(a.service, a.node, markError(req.Context(), err))
		if n >= a.route.Retries || !t.retriable(a, req, err) {
			return nil, err
		}
		retryDone := func() {}
		// Only a retry after a timeout takes from the budget; one after a
		// refused or broken connection moves a request off a dead node
		// (see rpc's retryAfter).
		if b := a.route.Budget; b != nil && isTimeout(err) {
			var ok bool
			if ok, retryDone = b.TryRetry(); !ok {
				return nil, err
			}
		}
		defer retryDone()
		node, nerr := a.next()
		if nerr != nil || slices.Contains(a.tried, node.Id) {
			return nil, err
		}
		a.node, a.tried = node, append(a.tried, node.Id)
		req = req.Clone(req.Context())
		u := nodeURL(node)
		req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, ""
		if a.body != nil {
			req.Body = io.NopCloser(bytes.NewReader(a.body))
		}
	}
}

// isTimeout reports whether err ended an attempt by a deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return err == errPerTryTimeout || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// errPerTryTimeout ends an attempt that did not get its response headers
// within the route's per_try_timeout: a timeout of the node (Mark counts
// it), retried on another node when the method is idempotent.
var errPerTryTimeout = merrors.Timeout("microlb.proxy", "attempt timed out: %v", context.DeadlineExceeded)

// perTry returns req bounded by d until its response headers arrive (req
// itself when d is 0), and stop, which ends the bound and reports whether it
// ended before it fired. The attempt's context is released when the request
// ends.
func perTry(req *http.Request, d time.Duration) (*http.Request, func() bool) {
	if d <= 0 {
		return req, func() bool { return true }
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(d, func() { cancel(errPerTryTimeout) })
	context.AfterFunc(req.Context(), func() { cancel(nil) })
	return req.WithContext(ctx), timer.Stop
}

// retriable decides whether a failed attempt may be tried on another node.
func (t *retryTransport) retriable(a *attempt, req *http.Request, err error) bool {
	if req.Context().Err() != nil || !a.replay {
		return false
	}
	if refused(err) {
		return true
	}
	if err == errPerTryTimeout {
		return a.route.Idempotent(req.Method)
	}
	return a.route.Idempotent(req.Method) && !errors.Is(err, context.DeadlineExceeded)
}

// refused reports an error of connecting: the request was not sent.
func refused(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// statusError turns a response status into the error Mark should see: the
// node's 5xx answers (except 501 and 505, which say nothing of its health)
// count against it.
func statusError(code int) error {
	if code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported {
		return merrors.New("microlb.proxy", http.StatusText(code), int32(code))
	}
	return nil
}

// markError is what Mark sees for a transport error: the client leaving is
// not the node's fault; a route timeout is.
func markError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if middleware.TimedOut(ctx) {
			return merrors.Timeout("microlb.proxy", "timeout")
		}
		return context.Canceled
	}
	return err
}

// trackBody calls done once when the response body is closed. An upgraded
// connection's body stays an io.ReadWriteCloser, as ReverseProxy needs.
func trackBody(body io.ReadCloser, done func()) io.ReadCloser {
	if rwc, ok := body.(io.ReadWriteCloser); ok {
		t := &trackedRWC{Writer: rwc}
		t.ReadCloser, t.done.f = rwc, done
		return t
	}
	return &trackedBody{ReadCloser: body, done: onceFunc{f: done}}
}

// onceFunc calls f on the first call only (sync.OnceFunc without its
// allocations; f must not panic).
type onceFunc struct {
	f    func()
	done atomic.Bool
}

func (o *onceFunc) call() {
	if o.done.CompareAndSwap(false, true) {
		o.f()
	}
}

type trackedBody struct {
	io.ReadCloser
	done onceFunc
}

func (b *trackedBody) Close() error {
	defer b.done.call()
	return b.ReadCloser.Close()
}

// trackedRWC is a trackedBody that can also be written to.
type trackedRWC struct {
	trackedBody
	io.Writer
}
