package middleware

import (
	"log/slog"
	"net/http"
	"time"

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
