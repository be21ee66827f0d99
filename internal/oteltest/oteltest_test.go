package oteltest

import (
	"context"
	"os"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestRecord(t *testing.T) {
	t.Run("setenv", func(t *testing.T) {
		Setenv(t)
		if got := os.Getenv("OTEL_TRACES_EXPORTER"); got != "none" {
			t.Fatalf("OTEL_TRACES_EXPORTER = %q, want none", got)
		}
		otel.SetTracerProvider(sdktrace.NewTracerProvider())
		exp := Record(t)
		_, span := otel.Tracer("test").Start(context.Background(), "op")
		span.End()
		if spans := exp.GetSpans(); len(spans) != 1 || spans[0].Name != "op" {
			t.Fatalf("spans %v, want one named op", spans)
		}
	})
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Fatal("the SDK provider outlived the test that set it")
	}
}
