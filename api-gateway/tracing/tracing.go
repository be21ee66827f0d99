// Package tracing is the gateway's OpenTelemetry tracing: setup from the
// tracing key, the server-span layer, and the client span of each upstream
// attempt with the W3C traceparent it sends on.
//
// Tracing is off until Setup (or Install) turns it on; then every request
// gets a server span (joining a client's traceparent when it sent one),
// every attempt a client span below it, and the upstream receives that
// attempt span as its parent. Off, nothing here adds a header or allocates.
package tracing

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.17.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/api-gateway/config"
)

// InstrumentationName names the gateway's tracer.
const InstrumentationName = "github.com/microlb/microlb/api-gateway"

// Attribute keys of the gateway's spans.
const (
	AttrNode     = attribute.Key("microlb.node.id")
	AttrAttempt  = attribute.Key("microlb.attempt") // 1 for the first attempt
	AttrStrategy = attribute.Key("microlb.strategy")
	AttrService  = attribute.Key("microlb.service")
	AttrRoute    = attribute.Key("microlb.route")
	AttrReqID    = attribute.Key("microlb.request_id")
)

// state is what an enabled tracing uses: read on every request, replaced
// whole by Install.
type state struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

var current atomic.Pointer[state]

// ShutdownTimeout bounds the flush of the last spans at shutdown, so that an
// unreachable collector does not hold the process.
const ShutdownTimeout = 5 * time.Second

// Enabled reports whether tracing is on.
func Enabled() bool { return current.Load() != nil }

// Install turns tracing on with tp and the W3C trace-context propagator,
// and returns the function that turns it off again. Setup calls it; tests
// call it with a provider over tracetest's in-memory exporter.
func Install(tp trace.TracerProvider) (uninstall func()) {
	s := &state{tracer: tp.Tracer(InstrumentationName), prop: propagation.TraceContext{}}
	current.Store(s)
	return func() { current.CompareAndSwap(s, nil) }
}

// Setup turns tracing on as cfg says (nil: leaves it off) for the process
// called service, and also makes its provider and propagator otel's global
// ones, so that go-micro's OpenTelemetry wrappers in the same process join
// in. The stdout exporter writes to out. shutdown turns tracing off, then
// flushes and stops the exporter, waiting at most ShutdownTimeout.
func Setup(ctx context.Context, cfg *config.Tracing, service string, out io.Writer) (shutdown func(context.Context) error, err error) {
	if cfg == nil {
		return func(context.Context) error { return nil }, nil
	}
	tp, err := NewProvider(ctx, cfg.Exporter, cfg.Endpoint, cfg.Ratio(), service, out)
	if err != nil {
		return nil, err
	}
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	uninstall := Install(tp)
	return func(ctx context.Context) error {
		uninstall()
		ctx, cancel := context.WithTimeout(ctx, ShutdownTimeout)
		defer cancel()
		return tp.Shutdown(ctx)
	}, nil
}

// NewProvider returns an SDK tracer provider for service that samples
// ratio of new traces (and follows a parent's decision) and exports with
// exporter: none (spans are made, so IDs propagate, but go nowhere), stdout
// (JSON to out) or otlp (OTLP/HTTP to endpoint: http://host:port for
// cleartext, https://host:port or host:port for TLS; empty for the
// exporter's default, which the standard OTEL_EXPORTER_OTLP_* variables
// may set).
func NewProvider(ctx context.Context, exporter, endpoint string, ratio float64, service string, out io.Writer) (*sdktrace.TracerProvider, error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
	}
	switch exporter {
	case "", config.TraceNone:
	case config.TraceStdout:
		exp, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	case config.TraceOTLP:
		exp, err := otlptracehttp.New(ctx, otlpOptions(endpoint)...)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	default:
		return nil, fmt.Errorf("tracing: unknown exporter %q: want none, stdout or otlp", exporter)
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// otlpOptions turns the endpoint into the OTLP/HTTP exporter's options.
func otlpOptions(endpoint string) []otlptracehttp.Option {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return []otlptracehttp.Option{otlptracehttp.WithEndpoint(endpoint)}
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	if u.Path != "" && u.Path != "/" {
		opts = append(opts, otlptracehttp.WithURLPath(u.Path))
	}
	return opts
}

// StartAttempt starts the client span of one upstream attempt (the first is
// attempt 1) below ctx's span. The caller ends it with End.
func StartAttempt(ctx context.Context, name, service, node string, attempt int, strategy string) (context.Context, trace.Span) {
	s := current.Load()
	if s == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		AttrService.String(service), AttrNode.String(node), AttrAttempt.Int(attempt), AttrStrategy.String(strategy)))
}

// End ends span, marking it failed with err when err is not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Metadata returns a copy of md (go-micro metadata under canonical header
// names) whose Traceparent and Tracestate are those of ctx's span, in
// place of any the client sent.
func Metadata(ctx context.Context, md map[string]string) map[string]string {
	out := make(map[string]string, len(md)+1)
	for k, v := range md {
		if k != "Traceparent" && k != "Tracestate" {
			out[k] = v
		}
	}
	if s := current.Load(); s != nil {
		s.prop.Inject(ctx, canonicalCarrier(out))
	}
	return out
}

// InjectHeader sets h's Traceparent and Tracestate to those of ctx's span,
// in place of any the client sent.
func InjectHeader(ctx context.Context, h http.Header) {
	h.Del("Traceparent")
	h.Del("Tracestate")
	if s := current.Load(); s != nil {
		s.prop.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// canonicalCarrier is a metadata map written under canonical header names,
// as the gateway's metadata is.
type canonicalCarrier map[string]string

func (c canonicalCarrier) Get(k string) string { return c[http.CanonicalHeaderKey(k)] }
func (c canonicalCarrier) Set(k, v string)     { c[http.CanonicalHeaderKey(k)] = v }
func (c canonicalCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// StartRequest starts the client span of one proxied attempt (the first is
// attempt 1) and returns req below it with the span's Traceparent in its
// headers (set in place: the proxy owns its outbound request). Off, it
// returns req itself and a nil span.
func StartRequest(req *http.Request, service, node string, attempt int, strategy string) (*http.Request, trace.Span) {
	if !Enabled() {
		return req, nil
	}
	ctx, span := StartAttempt(req.Context(), "proxy "+service, service, node, attempt, strategy)
	InjectHeader(ctx, req.Header)
	return req.WithContext(ctx), span
}

// EndRequest ends a proxied attempt's span (nil: none) when its response
// headers arrived or it failed; a 5xx answer marks it failed.
func EndRequest(span trace.Span, resp *http.Response, err error) {
	if span == nil {
		return
	}
	if resp != nil {
		span.SetAttributes(semconv.HTTPStatusCode(resp.StatusCode))
		if resp.StatusCode >= 500 && err == nil {
			err = fmt.Errorf("%s", resp.Status)
		}
	}
	End(span, err)
}

// FromEnv sets up tracing for a sample service (the producer, the
// consumer) when the standard OTEL_TRACES_EXPORTER variable asks for it:
// none, stdout (or console) or otlp; unset, or any other value, leaves
// tracing off and returns a nil provider. The otlp exporter is OTLP/HTTP and
// reads its endpoint from the standard OTEL_EXPORTER_OTLP_ENDPOINT (default
// https://localhost:4318). Every new trace is sampled; a caller's decision
// is followed. The provider and the W3C propagator become otel's global ones,
// which go-micro's OpenTelemetry wrappers use. Spans are exported in batches
// (every 5 s); flush exports the rest.
func FromEnv(getenv func(string) string, service string, out io.Writer) (tp trace.TracerProvider, flush func(context.Context) error, err error) {
	exporter := getenv("OTEL_TRACES_EXPORTER")
	switch exporter {
	case config.TraceNone, config.TraceStdout, config.TraceOTLP:
	case "console":
		exporter = config.TraceStdout
	default:
		return nil, func(context.Context) error { return nil }, nil
	}
	p, err := NewProvider(context.Background(), exporter, "", 1, service, out)
	if err != nil {
		return nil, nil, err
	}
	otel.SetTracerProvider(p)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return p, p.ForceFlush, nil
}
