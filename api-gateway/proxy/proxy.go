// Package proxy is the gateway's HTTP reverse proxy to services registered
// in the registry. It is an httputil.ReverseProxy with Rewrite (never
// Director: Rewrite strips hop-by-hop and client-sent X-Forwarded-* headers
// before our code runs), SetURL to the node the microlb selector picked and
// SetXForwarded; responses are flushed as they arrive (FlushInterval -1),
// and WebSocket upgrades pass through. A failed attempt is retried on a
// different node when that is safe; see retryTransport.
package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/api-gateway/upstream"
	"github.com/microlb/microlb/selector"
)

// MaxReplayBytes is the largest request body buffered so that a retry can
// send it again; a longer (or chunked) body disables retries for that
// request once it may have been read.
const MaxReplayBytes = 1 << 20

// Proxy serves proxy routes.
type Proxy struct {
	sel *selector.Selector
	rp  *httputil.ReverseProxy
	rt  *retryTransport
	log *slog.Logger
	// keyHeader is the API-key header, removed with Authorization once
	// auth consumed them (see rewrite).
	keyHeader string
}

// NewTransport returns the tuned transport the proxy uses by default: many
// idle connections per node, TCP keep-alive, short dial timeout, no
// environment proxy, no transparent compression, and HTTP/2 by ALPN to
// https nodes (a custom DialContext alone would turn it off).
func NewTransport() *http.Transport {
	return &http.Transport{
		ForceAttemptHTTP2:     true,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// New returns a proxy picking nodes with sel over base (NewTransport when nil).
func New(sel *selector.Selector, base http.RoundTripper, log *slog.Logger) *Proxy {
	if base == nil {
		base = NewTransport()
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Proxy{sel: sel, log: log, keyHeader: "X-Api-Key"}
	p.rt = &retryTransport{base: base, sel: sel}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       p.rewrite,
		Transport:     p.rt,
		FlushInterval: FlushInterval,
		BufferPool:    bufferPool{},
		ErrorHandler:  p.errorHandler,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return p
}

// SetAPIKeyHeader names the header that carries API keys (default
// X-API-Key), which the proxy removes after auth consumed it. Call it
// before serving.
func (p *Proxy) SetAPIKeyHeader(h string) {
	if h != "" {
		p.keyHeader = http.CanonicalHeaderKey(h)
	}
}

// FlushInterval bounds how long a response with a known length waits in the
// gateway's write buffer before it is flushed to the client. Responses of
// unknown length (chunked streams, NDJSON) and text/event-stream are flushed
// after every write whatever this says (httputil.ReverseProxy does so for
// them). A negative interval would flush every response after each write:
// for the common small, fixed-length answer that is an extra write system
// call and a timer goroutine per request, for nothing.
const FlushInterval = 10 * time.Millisecond

// bufferPool lends ReverseProxy its 32 KiB copy buffers, which it otherwise
// allocates (and the GC clears) once per response.
type bufferPool struct{}

const copyBufferSize = 32 << 10

var copyBuffers = sync.Pool{New: func() any { return new([copyBufferSize]byte) }}

func (bufferPool) Get() []byte { return copyBuffers.Get().(*[copyBufferSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if cap(b) >= copyBufferSize {
		copyBuffers.Put((*[copyBufferSize]byte)(b[:copyBufferSize])) // no allocation: the array itself
	}
}

// attempt is the state of one proxied request, shared by Rewrite, the
// retry transport and the error handler, which find it in the request's
// Info (attempts) or, outside the gateway's chain, in a context value.
type attempt struct {
	route   *route.Route
	service string
	next    gselector.Next
	node    *registry.Node
	tried   []string
	path    string // upstream path and its escaped form
	rawPath string
	body    []byte // buffered body for replays; nil when none or not replayable
	replay  bool   // the body can be sent again
	info    *reqinfo.Info
	peer    string // the connection's peer, to spot trusted-proxy chains

	triedBuf [2]string // tried's first nodes, in the same allocation
}

// attempts is the proxy's slot in the request's Info: the attempt is found
// through the context the request already carries, without another
// context value and request copy.
var attempts reqinfo.Slot[attempt]

type attemptKey struct{}

func attemptFrom(ctx context.Context) *attempt {
	if a := attempts.Get(reqinfo.FromContext(ctx)); a != nil {
		return a
	}
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

// strategyOpts holds one UseStrategy option per strategy, made once.
var strategyOpts = func() map[selector.Strategy]gselector.SelectOption {
	m := make(map[selector.Strategy]gselector.SelectOption, len(selector.Strategies))
	for _, s := range selector.Strategies {
		m[s] = selector.UseStrategy(s)
	}
	return m
}()

func useStrategy(s selector.Strategy) gselector.SelectOption {
	if o, ok := strategyOpts[s]; ok {
		return o
	}
	return selector.UseStrategy(s)
}

// Serve proxies r to a node of service, at upstream path path (and its
// escaped form rawPath, "" when path needs none). configured says whether
// the route names the service, which makes a service missing from the
// registry a 503 rather than a 404; so does a service the selector watched
// before (all its nodes are gone).
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, rt *route.Route, service, path, rawPath string, configured bool) {
	info := reqinfo.FromContext(r.Context())
	var optBuf [2]gselector.SelectOption
	opts := append(optBuf[:0], useStrategy(rt.Strategy))
	if rt.Strategy == selector.Hash && rt.HashKey.Kind != "" {
		ip := ""
		if info != nil {
			ip = info.ClientIP
		}
		if key := rt.HashKey.Key(r, ip); key != "" {
			opts = append(opts, selector.WithKey(key))
		}
	}
	next, err := p.sel.Select(service, opts...)
	var node *registry.Node
	if err == nil {
		node, err = next()
	}
	if err != nil {
		apierr.WriteError(w, upstream.SelectError(service, err, configured || p.sel.Watching(service)))
		return
	}
	a := &attempt{route: rt, service: service, next: next, node: node,
		path: path, rawPath: rawPath, info: info, replay: true}
	a.tried = append(a.triedBuf[:0], node.Id)
	a.peer, _, _ = net.SplitHostPort(r.RemoteAddr)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		a.replay = false
		if rt.Retries > 0 && r.ContentLength > 0 && r.ContentLength <= MaxReplayBytes {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				if limit, ok := middleware.IsTooLarge(err); ok {
					apierr.Write(w, http.StatusRequestEntityTooLarge, middleware.TooLarge(limit))
					return
				}
				apierr.Write(w, http.StatusBadRequest, "reading the request body: "+err.Error())
				return
			}
			a.body, a.replay = b, true
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
	}
	if info != nil {
		info.Service = service
		info.Endpoint = path
	}
	if attempts.Set(info, a) { // before the proxy's goroutines exist: no race
		p.rp.ServeHTTP(w, r)
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
}

// clientHeaders are headers a client must never hand an upstream: the
// gateway's own identity header and forwarding headers that Rewrite does
// not strip by itself (it strips X-Forwarded-For, -Host, -Proto and
// Forwarded). What the gateway knows of them, it sets itself.
var clientHeaders = []string{"X-Real-Ip", "True-Client-Ip", "X-Auth-Principal", "X-Forwarded-Prefix", "X-Forwarded-Port"}

// rewrite points the outbound request at the picked node and sets the
// headers the upstream may trust: X-Forwarded-For, -Host and -Proto
// (SetXForwarded), X-Real-Ip (the client IP the gateway determined),
// X-Forwarded-Port (the gateway's own port), X-Forwarded-Prefix (the
// route's prefix, when it is stripped or rewritten) and X-Auth-Principal
// (who authenticated, when auth ran). The client's own values of these are
// dropped, as are the credentials auth consumed (the API-key header,
// Authorization) unless the route sets forward_credentials.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	a := attemptFrom(pr.In.Context())
	// What pr.SetURL(nodeURL(a.node)) does, without building a URL: the
	// node's scheme and address, our path, the inbound query, no Host.
	u := pr.Out.URL
	u.Scheme, u.Host = nodeScheme(a.node), a.node.Address
	u.Path, u.RawPath = a.path, a.rawPath
	pr.Out.Host = ""
	if a.info != nil && a.info.ClientIP != a.peer {
		// The peer is a trusted proxy: keep the chain it reported.
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
	h := pr.Out.Header
	for _, k := range clientHeaders {
		delete(h, k)
	}
	rt := a.route
	if rt.HasAuth() && !rt.ForwardCredentials {
		delete(h, p.keyHeader)
		delete(h, "Authorization")
	}
	if a.info != nil {
		if a.info.ClientIP != "" {
			h["X-Real-Ip"] = []string{a.info.ClientIP}
		}
		if a.info.Principal != "" {
			h["X-Auth-Principal"] = []string{a.info.Principal}
		}
	}
	if la, ok := pr.In.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(la.String()); err == nil {
			h["X-Forwarded-Port"] = []string{port}
		}
	}
	if rt.Prefix != "/" && (rt.StripPrefix || rt.Rewrite != "") {
		h["X-Forwarded-Prefix"] = []string{rt.Prefix}
	}
}

// nodeURL is the base URL of a node: https when its metadata says so.
func nodeURL(n *registry.Node) *url.URL {
	return &url.URL{Scheme: nodeScheme(n), Host: n.Address}
}

// nodeScheme is https when the node's metadata says so, http otherwise.
func nodeScheme(n *registry.Node) string {
	if n.Metadata["scheme"] == "https" || n.Metadata["protocol"] == "https" {
		return "https"
	}
	return "http"
}

// UpstreamPath computes the path a proxy route sends upstream: the inbound
// path, with the route's prefix stripped or replaced by its rewrite. The
// escaped form follows when the inbound path had one that still starts
// with the prefix.
func UpstreamPath(rt *route.Route, u *url.URL) (path, rawPath string) {
	path, rawPath = u.Path, u.RawPath
	if !rt.StripPrefix && rt.Rewrite == "" || rt.Prefix == "/" {
		return path, rawPath
	}
	base := ""
	if rt.Rewrite != "" {
		base = rt.Rewrite
	}
	path = joinPath(base, rt.Rest(u.Path))
	if rawPath != "" {
		if rest, ok := strings.CutPrefix(rawPath, rt.Prefix); ok {
			rawPath = joinPath(base, rest)
		} else {
			rawPath = ""
		}
	}
	return path, rawPath
}

func joinPath(base, rest string) string {
	switch {
	case rest == "" && base == "":
		return "/"
	case rest == "":
		return base
	case base == "" || base == "/":
		return rest
	}
	return base + rest
}
