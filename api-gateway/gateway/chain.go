package gateway

import (
	"net/http"
	"slices"

	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/api-gateway/tracing"
)

// Layer is one named layer of the onion.
type Layer struct {
	Name string
	Wrap func(http.Handler) http.Handler
}

// Chain wraps h in layers, the first outermost (as go-kit's endpoint.Chain
// does): Chain(h, a, b) serves a(b(h)).
func Chain(h http.Handler, layers ...Layer) http.Handler {
	for i := len(layers) - 1; i >= 0; i-- {
		h = layers[i].Wrap(h)
	}
	return h
}

// Layers returns the gateway's layers, outermost first. Its list is the one
// place the layers and their order are defined (a name and its layer on one
// line); Chain composes them so that the first wraps all the others:
//
//	request_id  accept or generate X-Request-Id, echo it; create the shared Info
//	tracing     the request's server span, when tracing is configured (joins a
//	            client's traceparent); attempts below make client spans
//	access_log  one slog JSON line per request, after everything inside ran
//	metrics     Prometheus counters and histograms, also after everything inside
//	recover     a panic below becomes a 500 that the log and metrics above see
//	route       match the route: 400 dot segments, 404 no route, 405 method
//	cors        answer preflights (before auth: they carry no credentials);
//	            add Access-Control-Allow-Origin to every answer below, errors too
//	body_limit  413 for a body over the route's limit
//	auth        401 / 403 by the route's API-key or JWT policies (its own, and
//	            the guards of a protected service reached by its path)
//	rate_limit  429 + Retry-After, after auth so that by: api_key and by:
//	            principal count the identity auth established, never a
//	            header the client can vary
//	timeout     the route's deadlines; 504 when the upstream does not answer in time
//	(dispatch)  RPC or reverse proxy
func (g *Gateway) Layers() []Layer {
	return []Layer{
		{"request_id", middleware.RequestID(g.trusted, g.cfg.Server.WriteTimeout)},
		{"tracing", tracing.Layer()},
		{"access_log", middleware.AccessLog(g.accessLog)},
		{"metrics", middleware.Metrics(g.metrics)},
		{"recover", middleware.Recover(g.log)},
		{"route", middleware.Route(g.table)},
		{"cors", g.ifAnyRoute((*route.Route).HasCORS, middleware.CORS())},
		{"body_limit", middleware.BodyLimit()},
		{"auth", g.ifAnyRoute((*route.Route).HasAuth, middleware.Auth(g.auth))},
		{"rate_limit", g.ifAnyRoute(hasRateLimit, middleware.RateLimit(g.limiter))},
		{"timeout", middleware.Timeout()},
	}
}

// ifAnyRoute returns wrap when some route has what uses says it uses, and
// otherwise a layer that adds nothing: the layer would pass every request
// straight on, so the chain skips even that call and context lookup. The
// route table is fixed when the gateway is built.
func (g *Gateway) ifAnyRoute(uses func(*route.Route) bool, wrap func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if slices.ContainsFunc(g.table.Routes(), uses) {
		return wrap
	}
	return func(h http.Handler) http.Handler { return h }
}

func hasRateLimit(rt *route.Route) bool { return rt.RateLimit != nil && rt.RateLimit.RPS > 0 }
