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
	"sync"
	"time"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/metadata"
	gselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/catalog"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/selector"
)

// Handler serves RPC routes.
type Handler struct {
	sel       *selector.Selector
	mucp      *mucpTransport   // unary calls to mucp nodes
	grpc      grpcBackend      // unary calls to gRPC nodes
	streams   client.Client    // go-micro's client: streams of mucp nodes
	grpcc     client.Client    // go-micro's gRPC client: streams of gRPC nodes
	transport *cancelTransport // under streams: a client that leaves ends its stream
	catalog   *catalog.Catalog
	headers   []string // canonical header names copied into metadata
	known     func(service string) bool
	log       *slog.Logger
	lat       sync.Map // *route.Route → *latencies, for percentile hedge delays
}

// Options configure a Handler.
type Options struct {
	// Selector picks the nodes (required).
	Selector *selector.Selector
	// Transport is the go-micro transport of mucp streams (nil: go-micro's
	// HTTP transport). Unary calls to mucp nodes use pooled HTTP/1.1
	// connections of their own (see mucpTransport); gRPC nodes use go-micro's
	// gRPC client plugin.
	Transport transport.Transport
	Catalog   *catalog.Catalog
	// Headers is the metadata allow-list; X-Request-Id is always added.
	// Headers that carry credentials, framing or the gateway's own metadata
	// are never copied from the client, whatever the list says (see
	// reservedHeader).
	Headers []string
	// Known reports whether a service had nodes before (the selector
	// watches it), so that losing all of them is a 503, not a 404 for an
	// unknown service. nil: only services fixed by the route are known.
	Known func(service string) bool
	Log   *slog.Logger
}

// NewHandler returns an RPC handler.
func NewHandler(o Options) *Handler {
	streams, ct := newStreamClient(o.Selector, o.Transport)
	grpcc := newGRPCClient(o.Selector)
	h := &Handler{sel: o.Selector, mucp: newMucpTransport(), grpc: grpcBackend{grpcc}, streams: streams, grpcc: grpcc,
		transport: ct, catalog: o.Catalog, known: o.Known, log: o.Log}
	seen := map[string]bool{}
	for _, name := range append([]string{middleware.RequestIDHeader}, o.Headers...) {
		c := http.CanonicalHeaderKey(name)
		if !seen[c] && (c == middleware.RequestIDHeader || !reservedHeader(c)) {
			seen[c] = true
			h.headers = append(h.headers, c)
		}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// reservedHeader reports whether a client's header of this canonical name
// must never become RPC metadata: credentials, HTTP framing, go-micro's own
// protocol headers and the headers the gateway sets itself (the hash key,
// the principal, the client address).
func reservedHeader(c string) bool {
	switch c {
	case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "Host", "Content-Length",
		"Content-Type", "Accept", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Te", "Trailer",
		"Timeout", "X-Auth-Principal", "X-Real-Ip", "True-Client-Ip", "Forwarded", selector.DefaultHashKeyHeader:
		return true
	}
	for _, p := range []string{"Micro-", "X-Micro-", "X-Microlb-", "X-Forwarded-", "Proxy-", "Grpc-", ":"} {
		if strings.HasPrefix(c, p) {
			return true
		}
	}
	return false
}

// Close releases the connections the handler keeps.
func (h *Handler) Close() {
	h.mucp.http.CloseIdleConnections()
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
	info := reqinfo.FromContext(r.Context())
	var ep *catalog.Endpoint
	if svc != nil && len(svc.Endpoints) > 0 {
		if ep = findEndpoint(svc, t.Endpoint); ep == nil {
			if info != nil {
				info.Endpoint = t.Endpoint
			}
			apierr.Write(w, http.StatusNotFound, "unknown endpoint "+t.Endpoint+" on service "+t.Service)
			return
		}
		t.Endpoint = ep.Name // the registry's spelling: /svc/greeter/hello is Greeter.Hello
	}
	if info != nil {
		info.Endpoint = t.Endpoint
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
	md, sopts := h.callMetadata(r, rt, info)
	if streaming {
		h.stream(metadata.NewContext(r.Context(), md), w, r, rt, t, body, format, sopts)
		return
	}
	c := &unaryCall{service: t.Service, endpoint: t.Endpoint, body: body, md: md, maxResponse: maxResponse(rt)}
	data, _, err := h.unary(r.Context(), rt, c, rt.Idempotent(r.Method), sopts)
	if err != nil {
		h.fail(w, r, rt, t, err)
		return
	}
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
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// DefaultMaxResponse caps a unary answer when the route sets no cap.
const DefaultMaxResponse = 8 << 20

func maxResponse(rt *route.Route) int64 {
	if rt.MaxResponseBytes > 0 {
		return rt.MaxResponseBytes
	}
	return DefaultMaxResponse
}

// Call makes one unary call of endpoint on service with the strategy (and
// hash key), retried once on another node when it did not reach a handler,
// and returns the id of the node that answered. The admin listener's test
// calls use it.
func (h *Handler) Call(ctx context.Context, service, endpoint string, body []byte, strategy selector.Strategy, key string, timeout time.Duration) (node string, err error) {
	rt := &route.Route{Retries: 1, Timeout: timeout}
	c := &unaryCall{service: service, endpoint: endpoint, body: body, md: map[string]string{}, maxResponse: 1 << 20}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, n, err := h.unary(ctx, rt, c, true, []gselector.SelectOption{selector.UseStrategy(strategy), selector.WithKey(key)})
	if err != nil {
		return "", err
	}
	return n.Id, nil
}

// findEndpoint returns the endpoint of svc called name, or, failing that,
// the one whose name matches it but for case ("Greeter.Hello" for
// "Greeter.HELLO", as the path /svc/greeter/hello resolves to
// "Greeter.Hello" while the registry may say "Greeter.hello"); nil when there
// is none or more than one.
func findEndpoint(svc *catalog.Service, name string) *catalog.Endpoint {
	if ep := svc.Endpoints[name]; ep != nil {
		return ep
	}
	var found *catalog.Endpoint
	for n, ep := range svc.Endpoints {
		if strings.EqualFold(n, name) {
			if found != nil {
				return nil
			}
			found = ep
		}
	}
	return found
}

// callMetadata builds the call's metadata (the allow-list, the request ID,
// the client address, the authenticated principal and the hash key; all
// under canonical names) and its select options (strategy, hash key).
func (h *Handler) callMetadata(r *http.Request, rt *route.Route, info *reqinfo.Info) (map[string]string, []gselector.SelectOption) {
	md := make(map[string]string, len(h.headers)+4)
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
	sopts := []gselector.SelectOption{selector.UseStrategy(rt.Strategy)}
	if rt.Strategy == selector.Hash && rt.HashKey.Kind != "" {
		if key := rt.HashKey.Key(r, clientIP); key != "" {
			md[selector.DefaultHashKeyHeader] = key
			sopts = append(sopts, selector.WithKey(key))
		}
	}
	return md, sopts
}

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
