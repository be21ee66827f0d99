package main

import (
	"bytes"
	"context"
	"testing"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/metadata"
	gmselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/internal/greetertest"
	"github.com/microlb/microlb/internal/oteltest"
	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// traceGreeter records the Traceparent of the last call.
type traceGreeter struct{ got chan string }

func (g *traceGreeter) Hello(ctx context.Context, _ *pb.HelloRequest, rsp *pb.HelloResponse) error {
	tp, _ := metadata.Get(ctx, "Traceparent")
	g.got <- tp
	return nil
}

func (g *traceGreeter) Stream(context.Context, *pb.HelloRequest, pb.Greeter_StreamStream) error {
	return nil
}

// TestClientStartsTheTrace: with OTEL_TRACES_EXPORTER set, the consumer's
// client (go-micro's OpenTelemetry client wrapper) makes a client span per
// call and sends it to the producer as the parent in the Traceparent.
func TestClientStartsTheTrace(t *testing.T) {
	oteltest.Setenv(t)
	w := newWorld()
	g := &traceGreeter{got: make(chan string, 1)}
	greetertest.Serve(t, server.NewRPCServer, g, server.Id("a"), server.Registry(w.reg), server.Transport(w.tr))
	cfg, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	sel := selector.New(gmselector.Registry(w.reg))
	defer sel.Close()
	cl := newClient(cfg, sel, client.Transport(w.tr))
	exp := oteltest.Record(t)

	if _, err := pb.NewGreeterService("greeter", cl).Hello(context.Background(), &pb.HelloRequest{}); err != nil {
		t.Fatal(err)
	}
	got := <-g.got
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].SpanKind != trace.SpanKindClient {
		t.Fatalf("spans %v, want one client span", spans)
	}
	sc := spans[0].SpanContext
	if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; got != want {
		t.Errorf("producer got traceparent %q, want %q", got, want)
	}
}
