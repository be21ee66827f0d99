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
// handler or the proxy. On the dynamic route the first path segment names
// the service; a plain HTTP service found that way is proxied with that
// segment stripped, any other is called over RPC.
func (g *Gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	info := middleware.InfoFrom(r.Context())
	rt := info.Route
	if rt.Kind == config.KindProxy {
		path, raw := proxy.UpstreamPath(rt, r.URL)
		g.proxy.Serve(w, r, rt, rt.Service, path, raw, true)
		return
	}
	t, err := rt.Resolve(r.URL.Path, g.table.Namespace())
	if errors.Is(err, route.ErrDotSegment) {
		apierr.Write(w, http.StatusBadRequest, err.Error())
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
	case errors.Is(lerr, catalog.ErrNotFound):
		apierr.Write(w, http.StatusNotFound, "unknown service "+t.Service)
		return
	case lerr != nil:
		svc = nil // the registry is down: let the selector's snapshot serve
	}
	info.Service = t.Service
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
