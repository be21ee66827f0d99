package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// defaultCORSMethods are allowed when a policy names none.
var defaultCORSMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// defaultCORSHeaders are allowed when a policy names none.
var defaultCORSHeaders = []string{"Accept", "Authorization", "Content-Type", "X-API-Key", "X-Request-Id"}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// CORS applies the route's cross-origin policy. A preflight (OPTIONS with
// Origin and Access-Control-Request-Method) is answered here: 204 with the
// Access-Control-Allow-* headers when the origin, method and headers are
// allowed (the method by the policy and by the route's methods), 403
// otherwise; it never reaches auth or the upstream. An actual
// cross-origin request from an allowed origin gets Access-Control-Allow-Origin
// (and -Credentials, -Expose-Headers) on whatever answer follows, errors
// included, so that the browser lets the page read them. Responses always
// vary by Origin.
func CORS() func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rt := reqinfo.RouteOf(r)
		origin := r.Header.Get("Origin")
		if rt == nil || !rt.HasCORS() || origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		p := rt.CORS
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := originAllowed(p, origin)
		if isPreflight(r) {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			method := r.Header.Get("Access-Control-Request-Method")
			methods := p.AllowMethods
			if len(methods) == 0 {
				methods = defaultCORSMethods
			}
			reqHeaders := splitList(r.Header.Get("Access-Control-Request-Headers"))
			switch {
			case !allowed:
				apierr.Write(w, http.StatusForbidden, "CORS: origin "+quoteHeader(origin)+" is not allowed")
				return
			case !containsFold(methods, method) || !rt.Allows(method):
				apierr.Write(w, http.StatusForbidden, "CORS: method "+quoteHeader(method)+" is not allowed")
				return
			}
			headers := p.AllowHeaders
			if len(headers) == 0 {
				headers = defaultCORSHeaders
			}
			if !slices.Contains(headers, "*") {
				for _, rh := range reqHeaders {
					if !containsFold(headers, rh) {
						apierr.Write(w, http.StatusForbidden, "CORS: header "+quoteHeader(rh)+" is not allowed")
						return
					}
				}
			}
			setAllowOrigin(h, p, origin)
			h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
			if len(reqHeaders) > 0 {
				h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
			}
			if p.MaxAge > 0 {
				h.Set("Access-Control-Max-Age", strconv.Itoa(int(p.MaxAge.Seconds())))
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			setAllowOrigin(h, p, origin)
			if len(p.ExposeHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(p.ExposeHeaders, ", "))
			}
		}
		next.ServeHTTP(w, r)
	})
}

func setAllowOrigin(h http.Header, p *config.CORS, origin string) {
	if slices.Contains(p.AllowOrigins, "*") && !p.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if p.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func originAllowed(p *config.CORS, origin string) bool {
	for _, o := range p.AllowOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
		// "https://*.example.com" allows any subdomain.
		if pre, suf, ok := strings.Cut(o, "*"); ok && len(origin) > len(pre)+len(suf) &&
			strings.HasPrefix(origin, pre) && strings.HasSuffix(origin, suf) &&
			!strings.ContainsAny(origin[len(pre):len(origin)-len(suf)], "/:") {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func quoteHeader(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return "\"" + sanitize(s) + "\""
}
