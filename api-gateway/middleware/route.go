package middleware

import (
	"net/http"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
)

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
		if !rt.Allows(r.Method) && !(isPreflight(r) && hasCORSPolicy(rt)) {
			w.Header().Set("Allow", rt.Allow())
			apierr.Write(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on route "+rt.Name)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hasCORSPolicy(rt *route.Route) bool { return rt.CORS != nil && len(rt.CORS.AllowOrigins) > 0 }

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
