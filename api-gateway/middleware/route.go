// Package middleware holds the layers of the gateway's onion. Each layer is
// a func(http.Handler) http.Handler; the gateway package composes them in
// one ordered list (see gateway.Layers). The layers share one
// *reqinfo.Info per request, created by RequestID, the outermost layer
// (package reqinfo says who sets which field).
package middleware

import (
	"net/http"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
)

// layer makes a layer of the onion from serve, which handles a request
// given the next handler.
func layer(serve func(w http.ResponseWriter, r *http.Request, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, next) })
	}
}

// guard makes a layer that guards something (auth, rate limits): serve
// gets the request's Info. Without route information the request is
// refused with a 500 and serve never runs: such a layer fails closed,
// never waving the request through.
func guard(serve func(w http.ResponseWriter, r *http.Request, next http.Handler, info *reqinfo.Info)) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		info := reqinfo.FromContext(r.Context())
		if info == nil || info.Route == nil {
			apierr.Write(w, http.StatusInternalServerError, "no route information; the request is refused")
			return
		}
		serve(w, r, next, info)
	})
}

// Route finds the request's route and records it in Info. It answers 400
// for a path route.CheckPath refuses (dot segments in any encoding, "//",
// backslashes, ';'), 404 when no route matches and 405 (with Allow) for a
// method the route does not accept. A CORS preflight passes only on a route
// with a CORS policy, whose layer answers it and never lets it further; on
// any other route OPTIONS is a method like the others.
func Route(table *route.Table) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if err := route.CheckPath(r.URL.Path); err != nil {
			apierr.Write(w, http.StatusBadRequest, err.Error())
			return
		}
		rt, ok := table.Match(r.URL.Path)
		if !ok {
			apierr.Write(w, http.StatusNotFound, "no route for "+quotePath(r.URL.Path))
			return
		}
		if info := reqinfo.FromContext(r.Context()); info != nil {
			info.Route = rt
			info.Service = rt.Service
		}
		if !rt.Allows(r.Method) && !(isPreflight(r) && rt.HasCORS()) {
			w.Header().Set("Allow", rt.Allow())
			apierr.Write(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on route "+rt.Name)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func quotePath(p string) string {
	const max = 128
	if len(p) > max {
		p = p[:max] + "…"
	}
	return "\"" + sanitize(p) + "\""
}

// sanitize makes a client-supplied string safe for an error detail.
func sanitize(s string) string {
	b := []rune{}
	for _, c := range s {
		if c == '\uFFFD' || c < 0x20 || c == 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}
