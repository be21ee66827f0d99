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
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/route"
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
}

// NewTransport returns the tuned transport the proxy uses by default: many
// idle connections per node, TCP keep-alive, short dial timeout, no
// environment proxy and no transparent compression.
func NewTransport() *http.Transport {
	return &http.Transport{
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
	p := &Proxy{sel: sel, log: log}
	p.rt = &retryTransport{base: base, sel: sel}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       rewrite,
		Transport:     p.rt,
		FlushInterval: -1,
		ErrorHandler:  p.errorHandler,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return p
}

// attempt is the state of one proxied request, shared by Rewrite, the
// retry transport and the error handler through the request's context.
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
	info    *middleware.Info
	peer    string // the connection's peer, to spot trusted-proxy chains
}

type attemptKey struct{}

func attemptFrom(ctx context.Context) *attempt {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

// Serve proxies r to a node of service, at upstream path path (and its
// escaped form rawPath, "" when path needs none). configured says whether
// the route names the service, which makes a service missing from the
// registry a 503 rather than a 404.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, rt *route.Route, service, path, rawPath string, configured bool) {
	info := middleware.InfoFrom(r.Context())
	opts := []gselector.SelectOption{selector.UseStrategy(rt.Strategy)}
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
	switch {
	case errors.Is(err, gselector.ErrNotFound) && !configured:
		apierr.Write(w, http.StatusNotFound, "unknown service "+service)
		return
	case errors.Is(err, gselector.ErrNotFound):
		apierr.Write(w, http.StatusServiceUnavailable, "service "+service+" has no registered node")
		return
	case err != nil:
		apierr.Write(w, http.StatusServiceUnavailable, "no healthy node for service "+service)
		return
	}
	a := &attempt{route: rt, service: service, next: next, node: node, tried: []string{node.Id},
		path: path, rawPath: rawPath, info: info, replay: true}
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
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
}

// rewrite points the outbound request at the picked node.
func rewrite(pr *httputil.ProxyRequest) {
	a := attemptFrom(pr.In.Context())
	pr.SetURL(nodeURL(a.node))
	pr.Out.URL.Path, pr.Out.URL.RawPath = a.path, a.rawPath
	if a.info != nil && a.info.ClientIP != a.peer {
		// The peer is a trusted proxy: keep the chain it reported.
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
}

// nodeURL is the base URL of a node: https when its metadata says so.
func nodeURL(n *registry.Node) *url.URL {
	scheme := "http"
	if n.Metadata["scheme"] == "https" || n.Metadata["protocol"] == "https" {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: n.Address}
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
