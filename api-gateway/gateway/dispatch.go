package gateway

import (
	"errors"
	"net/http"
	"slices"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/catalog"
	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/proxy"
	"github.com/microlb/microlb/api-gateway/route"
)

// rpcMethods are the methods an RPC accepts when its route lists none.
var rpcMethods = []string{http.MethodGet, http.MethodPost}

// dispatch is the core of the onion: it sends the request to the RPC
// handler or the proxy. On a route that takes the service from the path,
// the first path segment names it; a plain HTTP service found that way is
// proxied with that segment stripped, a go-micro service is called over
// RPC, and anything else in the registry (Consul itself, a service that is
// neither a go-micro server nor registered with protocol: http) is
// answered 404 like a name the registry does not know. When the registry
// cannot be asked and the catalog never saw the service, the gateway
// cannot tell what it is and answers 503 rather than guess.
func (g *Gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	info := middleware.InfoFrom(r.Context())
	rt := info.Route
	if rt.Kind == config.KindProxy {
		path, raw := proxy.UpstreamPath(rt, r.URL)
		g.proxy.Serve(w, r, rt, rt.Service, path, raw, true)
		return
	}
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
	case errors.Is(lerr, catalog.ErrNotFound) && (configured || g.sel.Watching(t.Service)):
		// A service that had nodes and lost them all is unavailable, not unknown.
		apierr.Write(w, http.StatusServiceUnavailable, "service "+t.Service+" has no registered node")
		return
	case errors.Is(lerr, catalog.ErrNotFound), lerr == nil && svc.Foreign && !configured:
		apierr.Write(w, http.StatusNotFound, "unknown service "+t.Service)
		return
	case lerr != nil && !configured:
		apierr.Write(w, http.StatusServiceUnavailable, "registry unavailable: service "+t.Service+" cannot be looked up")
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
	if rt.Dynamic && !slices.Contains(rpcMethods, r.Method) {
		w.Header().Set("Allow", "GET, POST")
		apierr.Write(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed for RPC")
		return
	}
	g.rpc.Serve(w, r, rt, t, svc)
}
