// Package oteltest records the OpenTelemetry spans that code under test
// makes through the global tracer provider, the one a binary installs when
// OTEL_TRACES_EXPORTER is set. It is imported by tests only.
package oteltest

import (
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Setenv sets OTEL_TRACES_EXPORTER to none for t, so that the code under
// test installs the SDK's tracer provider without exporting anywhere, and
// restores a no-op provider and propagator when t ends. Call Record once
// that code has run.
func Setenv(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Cleanup(func() {
		otel.SetTracerProvider(trace.NewNoopTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
}

// Record registers an in-memory exporter with the global tracer provider
// and returns it: every span that ends from then on is in its GetSpans. It
// fails t when the global provider is not the SDK's.
func Record(t testing.TB) *tracetest.InMemoryExporter {
	t.Helper()
	tp, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	if !ok {
		t.Fatalf("global tracer provider %T, want the SDK's", otel.GetTracerProvider())
	}
	exp := tracetest.NewInMemoryExporter()
	tp.RegisterSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp))
	return exp
}
