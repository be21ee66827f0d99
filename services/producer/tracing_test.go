package main

import (
	"context"
	"testing"

	"go-micro.dev/v4/metadata"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/internal/oteltest"
	pb "github.com/microlb/microlb/proto/greeter"
)

// TestHelloJoinsTheTrace: with OTEL_TRACES_EXPORTER set, the producer's
// go-micro OpenTelemetry handler wrapper makes a server span for a call
// that joins the caller's trace, with the caller's span (the gateway's
// attempt span) as its parent.
func TestHelloJoinsTheTrace(t *testing.T) {
	oteltest.Setenv(t)
	n := startNode(t, newConfig(), 0)
	exp := oteltest.Record(t)

	const gateway = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	ctx := metadata.NewContext(context.Background(), metadata.Metadata{"Traceparent": gateway})
	if _, err := n.svc.Hello(ctx, &pb.HelloRequest{Name: "Ada"}, n.call()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 server span", len(spans))
	}
	s := spans[0]
	if s.SpanKind != trace.SpanKindServer || s.Name != "greeter.Greeter.Hello" {
		t.Errorf("span %q of kind %v, want server span greeter.Greeter.Hello", s.Name, s.SpanKind)
	}
	if got := s.SpanContext.TraceID().String(); got != gateway[3:35] {
		t.Errorf("trace %s, want the caller's %s", got, gateway[3:35])
	}
	if got := s.Parent.SpanID().String(); got != gateway[36:52] {
		t.Errorf("parent span %s, want the caller's %s", got, gateway[36:52])
	}
}
