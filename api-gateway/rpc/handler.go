// Package rpc turns HTTP requests into go-micro RPCs with the JSON codec.
//
// Unlike go-micro's own api/handler/rpc, it calls with the request's context
// (a client that leaves cancels the call), sends the body as a raw frame
// (validated once, never decoded and re-encoded), forwards only an
// allow-list of headers as metadata, retries on a different node only when
// that is safe, maps every failure to its own HTTP status, and streams
// server-streaming endpoints as Server-Sent Events or NDJSON.
package rpc

import (
	"context"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go-micro.dev/v4/client"
	raw "go-micro.dev/v4/codec/bytes"
	"go-micro.dev/v4/metadata"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/catalog"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/selector"
)

// Handler serves RPC routes.
type Handler struct {
	client    client.Client
	transport *cancelTransport
	catalog   *catalog.Catalog
	headers   []string // canonical header names copied into metadata
	known     func(service string) bool
	log       *slog.Logger
}

// Options configure a Handler.
type Options struct {
	// Client is a client from NewClient; Transport is its cancelTransport.
	Client    client.Client
	Transport *cancelTransport
	Catalog   *catalog.Catalog
	// Headers is the metadata allow-list; X-Request-Id is always added.
	Headers []string
	// Known reports whether a service had nodes before (the selector
	// watches it), so that losing all of them is a 503, not a 404 for an
	// unknown service. nil: only services fixed by the route are known.
	Known func(service string) bool
	Log   *slog.Logger
}

// NewHandler returns an RPC handler.
func NewHandler(o Options) *Handler {
	h := &Handler{client: o.Client, transport: o.Transport, catalog: o.Catalog, known: o.Known, log: o.Log}
	seen := map[string]bool{}
	for _, name := range append([]string{middleware.RequestIDHeader}, o.Headers...) {
		c := http.CanonicalHeaderKey(name)
		if !seen[c] && c != selector.DefaultHashKeyHeader {
			seen[c] = true
			h.headers = append(h.headers, c)
		}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Stream formats.
const (
	formatUnary  = ""
	formatSSE    = "text/event-stream"
	formatNDJSON = "application/x-ndjson"
)

// wantStream reads the client's Accept header: SSE or NDJSON, or unary.
func wantStream(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case formatSSE:
			return formatSSE
		case formatNDJSON, "application/jsonl", "application/x-jsonlines", "application/jsonlines":
			return formatNDJSON
		}
	}
	return formatUnary
}

// Serve calls the endpoint the target names and writes the answer.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, rt *route.Route, t route.Target, svc *catalog.Service) {
	info := middleware.InfoFrom(r.Context())
	if info != nil {
		info.Endpoint = t.Endpoint
	}
	var ep *catalog.Endpoint
	if svc != nil && len(svc.Endpoints) > 0 {
		if ep = svc.Endpoints[t.Endpoint]; ep == nil {
			apierr.Write(w, http.StatusNotFound, "unknown endpoint "+t.Endpoint+" on service "+t.Service)
			return
		}
	}
	body, perr := Payload(r, ep)
	if perr != nil {
		apierr.WriteError(w, perr)
		return
	}
	format := wantStream(r)
	streaming := format != formatUnary
	if ep != nil {
		streaming = ep.Stream // the registry knows better than Accept
		if streaming && format == formatUnary {
			format = formatNDJSON
		}
	}
	ctx, opts := h.callContext(r, rt, info)
	if streaming {
		h.stream(ctx, w, r, rt, t, body, format, opts)
		return
	}
	req := h.client.NewRequest(t.Service, t.Endpoint, &raw.Frame{Data: body}, client.WithContentType("application/json"))
	var rsp raw.Frame
	if err := h.client.Call(ctx, req, &rsp, opts...); err != nil {
		h.fail(w, r, rt, t, err)
		return
	}
	data := rsp.Data
	if len(data) == 0 {
		data = []byte("{}\n")
	}
	if format == formatSSE { // a unary endpoint asked for as SSE: one event
		newSSE(w).event(data)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// callContext builds the call's context (metadata from the allow-list, the
// request ID, the client address, the authenticated principal and the hash
// key) and its call options (strategy, retries, per-attempt timeout).
func (h *Handler) callContext(r *http.Request, rt *route.Route, info *middleware.Info) (context.Context, []client.CallOption) {
	md := make(metadata.Metadata, len(h.headers)+4)
	for _, name := range h.headers {
		if v := r.Header.Get(name); v != "" {
			md[name] = v
		}
	}
	clientIP := ""
	if info != nil {
		md[middleware.RequestIDHeader] = info.RequestID
		clientIP = info.ClientIP
		md["X-Forwarded-For"] = clientIP
		if info.Principal != "" {
			md["X-Auth-Principal"] = info.Principal
		}
	}
	if rt.Strategy == selector.Hash && rt.HashKey.Kind != "" {
		if key := rt.HashKey.Key(r, clientIP); key != "" {
			md[selector.DefaultHashKeyHeader] = key
		}
	}
	idempotent := rt.Idempotent(r.Method)
	rf := Retry(idempotent)
	opts := []client.CallOption{
		client.WithSelectOption(selector.UseStrategy(rt.Strategy)),
		client.WithRetries(rt.Retries),
		client.WithRetry(func(ctx context.Context, req client.Request, n int, err error) (bool, error) {
			return rf(ctx, req, n, err)
		}),
	}
	if rt.Timeout > 0 {
		// The node's deadline is the route timeout (the transport puts it
		// in the Timeout header); go-micro's own wait for the attempt runs
		// attemptGrace longer. Otherwise the node's timeout answer arrives
		// just as go-micro's wait ends, and go-micro v4.11.0 closes the
		// stream while its receiving goroutine still fills the codec's
		// buffer (a data race in client/rpc_codec.go). The request itself
		// still ends at the route timeout: the timeout layer cancels it.
		d := rt.Timeout
		md[nodeDeadlineHeader] = strconv.FormatInt(int64(d), 10)
		opts = append(opts, func(o *client.CallOptions) {
			o.ConnectionTimeout = d + attemptGrace
			o.DialTimeout = min(d, 3*time.Second)
		})
	}
	if rt.StreamTimeout > 0 {
		opts = append(opts, client.WithStreamTimeout(rt.StreamTimeout))
	}
	return metadata.NewContext(r.Context(), md), opts
}

// attemptGrace is how much longer than the node's deadline go-micro waits
// for a unary attempt; see callContext. It is generous because go-micro
// v4.11.0 closes the attempt's stream under its own receiving goroutine when
// this wait runs out (a data race inside go-micro's client), which a loaded
// machine reached with 1 s.
const attemptGrace = 5 * time.Second

// configured reports whether service is one the gateway knows to exist: the
// route names it, or the selector watched it before. A known service
// without nodes is a 503; an unknown one a 404.
func (h *Handler) configured(rt *route.Route, service string) bool {
	return rt.Service != "" || h.known != nil && h.known(service)
}

// fail writes the HTTP answer for a call error (nothing for a client that
// left) and logs what is not the client's or the handler's doing.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, rt *route.Route, t route.Target, err error) {
	me := toHTTP(r.Context(), err, t.Service, t.Endpoint, h.configured(rt, t.Service), rt.Timeout)
	if me == errClientGone {
		return
	}
	if c, _ := classify(err); c == classNoMethod {
		h.catalog.Forget(t.Service)
	}
	if me.Id == apierr.ID && me.Code >= 500 {
		h.log.WarnContext(r.Context(), "rpc failed", "service", t.Service, "endpoint", t.Endpoint, "error", err.Error())
	}
	apierr.WriteError(w, me)
}
