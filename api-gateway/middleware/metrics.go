package middleware

import (
	"net/http"
	"time"

	"github.com/microlb/microlb/api-gateway/metrics"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// Metrics records every request in m once it is done: by route, service,
// node, method and final status (429s, 401s and 504s included), with its
// latency and upstream attempts, also when an inner layer aborts the
// response with a panic (see Recover). The route label is a configured
// route's name or "unmatched"; the service label is a service the gateway
// resolved and looked up (never a raw path segment: see Info.Service).
func Metrics(m *metrics.Metrics) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		m.Enter()
		defer m.Leave()
		defer observe(m, r)
		next.ServeHTTP(w, r)
	})
}

func observe(m *metrics.Metrics, r *http.Request) {
	info := reqinfo.FromContext(r.Context())
	if info == nil {
		return
	}
	status := info.Writer.Status()
	if status == 0 {
		status = http.StatusOK
	}
	route := info.RouteName()
	if route == "" {
		route = "unmatched"
	}
	m.Observe(route, info.Service, info.Node(), normMethod(r.Method), status, time.Since(info.Start), info.Attempts())
}

// normMethod keeps the label's values to the standard methods.
func normMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
