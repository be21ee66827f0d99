package gateway

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/catalog"
	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/proxy"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/api-gateway/upstream"
)

// rpcAllow is the Allow header of a 405 for a method that is no RPC's.
var rpcAllow = strings.Join(config.RPCMethods, ", ")

// kindHandler serves the requests of one route kind; info is the request's
// state, with its Route set.
type kindHandler func(g *Gateway, w http.ResponseWriter, r *http.Request, info *reqinfo.Info)

// kinds maps each route kind to its handler. Adding a kind is one entry
// here, besides its validation in package config.
var kinds = map[string]kindHandler{
	config.KindProxy: (*Gateway).serveProxy,
	config.KindRPC:   (*Gateway).serveRPC,
}

// dispatch is the core of the onion: it hands the request to the handler of
// its route's kind. A kind without one (config validation lets none through)
// is refused with a 500, never served as another kind.
func (g *Gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	info := reqinfo.FromContext(r.Context())
	serve, ok := kinds[info.Route.Kind]
	if !ok {
		apierr.Write(w, http.StatusInternalServerError, "route "+info.Route.Name+" has no handler for kind "+strconv.Quote(info.Route.Kind))
		return
	}
	serve(g, w, r, info)
}

// serveProxy serves a proxy route: the reverse proxy to the route's service.
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request, info *reqinfo.Info) {
	rt := info.Route
	path, raw := proxy.UpstreamPath(rt, r.URL)
	g.proxy.Serve(w, r, rt, rt.Service, path, raw, true)
}

// serveRPC serves an RPC route. On a route that takes the service from the path,
// the first path segment names it; a plain HTTP service found that way is
// proxied with that segment stripped, a go-micro service is called over
// RPC, and anything else in the registry (Consul itself, a service that is
// neither a go-micro server nor registered with protocol: http) is
// answered 404 like a name the registry does not know. When the registry
// cannot be asked and the catalog never saw the service, the gateway
// cannot tell what it is and answers 503 rather than guess.
func (g *Gateway) serveRPC(w http.ResponseWriter, r *http.Request, info *reqinfo.Info) {
	rt := info.Route
	t, err := rt.Resolve(r.URL.Path, g.table.Namespace())
	if pe := (*route.PathError)(nil); errors.As(err, &pe) {
		apierr.Write(w, http.StatusBadRequest, pe.Error())
		return
	}
	if t.Service == "" {
		apierr.Write(w, http.StatusNotFound, err.Error())
		return
	}
	configured := rt.Service != ""
	svc, lerr := g.catalog.Lookup(t.Service)
	switch {
	case errors.Is(lerr, catalog.ErrNotFound):
		// A service that had nodes and lost them all is unavailable, not unknown.
		apierr.WriteError(w, upstream.Missing(t.Service, configured || g.sel.Watching(t.Service)))
		return
	case lerr == nil && svc.Foreign && !configured:
		apierr.WriteError(w, upstream.Missing(t.Service, false))
		return
	case lerr != nil && !configured:
		apierr.WriteError(w, upstream.RegistryDown(t.Service))
		return
	case lerr != nil:
		svc = nil // the registry is down: let the selector's snapshot serve
	}
	info.Service = t.Service // a configured or looked-up service: safe as a metric label
	if svc != nil && svc.HTTP && !configured {
		path := t.Rest
		if path == "" {
			path = "/"
		}
		g.proxy.Serve(w, r, rt, t.Service, path, "", false)
		return
	}
	if err != nil {
		apierr.Write(w, http.StatusNotFound, err.Error())
		return
	}
	if rt.Dynamic && !slices.Contains(config.RPCMethods, r.Method) {
		w.Header().Set("Allow", rpcAllow)
		apierr.Write(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed for RPC")
		return
	}
	g.rpc.Serve(w, r, rt, t, svc)
}
