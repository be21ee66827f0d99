// The outer layers, which see everything the layers inside them do: the
// access log and the metrics record each request once it is done, and
// Recover turns a panic inside into an answer both of them see.

package middleware

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/metrics"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// AccessLog writes one JSON line per request through log (a slog.Logger
// with a JSON handler): method, path, route, service, endpoint, node,
// attempts, status, bytes, duration, request ID and client IP. A request
// whose client left before the response is logged with status 499. The
// line is written also when an inner layer aborts the response with a panic
// (see Recover).
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		defer accessLine(log, r)
		next.ServeHTTP(w, r)
	})
}

func accessLine(log *slog.Logger, r *http.Request) {
	if !log.Enabled(r.Context(), slog.LevelInfo) {
		return // the level is above info: build nothing
	}
	info := reqinfo.FromContext(r.Context())
	if info == nil {
		return
	}
	status := info.Writer.Status()
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
		if r.Context().Err() != nil {
			status = 499
		}
	}
	log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", info.RouteName()),
		slog.String("service", info.Service),
		slog.String("endpoint", info.Endpoint),
		slog.String("node", info.Node()),
		slog.Int("attempts", info.Attempts()),
		slog.Int("status", status),
		slog.Int64("bytes", info.Writer.Bytes()),
		slog.Float64("duration_ms", float64(time.Since(info.Start).Microseconds())/1000),
		slog.String("request_id", info.RequestID),
		slog.String("client_ip", info.ClientIP),
	)
}

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

// Recover turns a panic in an inner layer into a 500 with the request ID in
// its detail, logged with the stack, so that the client gets an answer and
// the connection stays up. A panic after the status line went out is
// logged and becomes http.ErrAbortHandler: net/http then cuts the
// connection (no terminating chunk, a short Content-Length), so the client
// sees a broken response rather than a truncated body that looks complete.
// http.ErrAbortHandler is re-panicked: it is the deliberate way to abort a
// response.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			info := reqinfo.FromContext(r.Context())
			id := ""
			if info != nil {
				id = info.RequestID
			}
			log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
			if info != nil && info.Writer.Started() {
				panic(http.ErrAbortHandler) // the status is out: abort, never end the body cleanly
			}
			apierr.Write(w, http.StatusInternalServerError, "internal error; request id "+id)
		}()
		next.ServeHTTP(w, r)
	})
}
