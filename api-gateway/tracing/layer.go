package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.17.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// Layer returns the gateway layer that gives each request a server span
// while tracing is on (and passes requests straight on while it is off).
// The span joins the trace of a traceparent the client sent, is named after
// the method and the route once routing ran ("GET orders"), and records the
// status the client got; a 5xx marks it failed. It sits inside request_id,
// whose Info it reads at the end.
func Layer() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := current.Load()
			if s == nil {
				next.ServeHTTP(w, r)
				return
			}
			ctx := s.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPMethod(r.Method), semconv.HTTPTarget(r.URL.Path)))
			defer span.End()
			next.ServeHTTP(w, r.WithContext(ctx))
			info := reqinfo.FromContext(ctx)
			if info == nil {
				return
			}
			span.SetAttributes(AttrReqID.String(info.RequestID))
			if name := info.RouteName(); name != "" {
				span.SetName(r.Method + " " + name)
				span.SetAttributes(AttrRoute.String(name))
			}
			if info.Writer != nil {
				code := info.Writer.Status()
				span.SetAttributes(semconv.HTTPStatusCode(code))
				if code >= 500 {
					span.SetStatus(codes.Error, http.StatusText(code))
				}
			}
		})
	}
}
