package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/api-gateway/tracing"
	"github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// traceNode is a greeter on an unmodified go-micro v4.11.0 server (mucp or
// the gRPC plugin) that records the Traceparent of the metadata it got.
type traceNode struct {
	id    string
	delay time.Duration
	mu    sync.Mutex
	got   []string
}

func (n *traceNode) Hello(ctx context.Context, req *greeter.HelloRequest, rsp *greeter.HelloResponse) error {
	tp, _ := metadata.Get(ctx, "Traceparent")
	n.mu.Lock()
	n.got = append(n.got, tp)
	n.mu.Unlock()
	time.Sleep(n.delay)
	rsp.NodeId = n.id
	return nil
}

func (n *traceNode) Stream(context.Context, *greeter.HelloRequest, greeter.Greeter_StreamStream) error {
	return nil
}

func (n *traceNode) traceparents() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.got...)
}

func startTraceNode(t *testing.T, reg registry.Registry, kind, id string, delay time.Duration) *traceNode {
	t.Helper()
	n := &traceNode{id: "greeter-" + id, delay: delay}
	serveGreeter(t, reg, kind, id, n)
	return n
}

// installTracing turns the gateway's tracing on over an in-memory exporter
// for the test.
func installTracing(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(tracing.Install(tp))
	return exp
}

// parseTraceparent splits a version 00 W3C traceparent.
func parseTraceparent(t *testing.T, tp string) (trace.TraceID, trace.SpanID) {
	t.Helper()
	if len(tp) != 55 || tp[:3] != "00-" {
		t.Fatalf("traceparent %q: not a version 00 traceparent", tp)
	}
	tid, err := trace.TraceIDFromHex(tp[3:35])
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(tp[36:52])
	if err != nil {
		t.Fatal(err)
	}
	return tid, sid
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// hashKeyFor returns a hash key whose first pick is node id.
func hashKeyFor(t *testing.T, h *Handler, id string) string {
	t.Helper()
	for i := range 1000 {
		key := "k" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		next, err := h.sel.Select("greeter", selector.UseStrategy(selector.Hash), selector.WithKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := next(); n != nil && n.Id == id {
			return key
		}
	}
	t.Fatal("no key maps to " + id)
	return ""
}

// TestTraceparentToNode calls a stock go-micro node with tracing on: the
// first attempt goes to a node that answers too late (per_try_timeout), the
// second to one that answers. Each attempt is a client span below the
// request's span, with the node id, attempt number and strategy, and each
// node receives its own attempt's span as the parent, in the request's
// trace; the client's Traceparent in the metadata is replaced.
func TestTraceparentToNode(t *testing.T) {
	for _, kind := range []string{"mucp", "grpc"} {
		t.Run(kind, func(t *testing.T) {
			exp := installTracing(t)
			reg := registry.NewMemoryRegistry()
			slow := startTraceNode(t, reg, kind, "slow", 500*time.Millisecond)
			fast := startTraceNode(t, reg, kind, "fast", 0)
			h := newTestHandler(t, reg)
			key := hashKeyFor(t, h, "greeter-slow")

			tr := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)).Tracer("test")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ctx, parent := tr.Start(ctx, "request")
			rt := &route.Route{Strategy: selector.Hash, Retries: 1, PerTryTimeout: 150 * time.Millisecond, Timeout: 5 * time.Second}
			client := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			c := &unaryCall{service: "greeter", endpoint: "Greeter.Hello", body: []byte(`{"name":"x"}`),
				md: map[string]string{"Traceparent": client}, maxResponse: DefaultMaxResponse}
			_, node, err := h.unary(ctx, rt, c, true, hashedTo(key))
			parent.End()
			if err != nil {
				t.Fatal(err)
			}
			if node.Id != "greeter-fast" {
				t.Fatalf("answered by %s, want greeter-fast", node.Id)
			}
			if got := c.md["Traceparent"]; got != client {
				t.Fatalf("the call's own metadata changed: Traceparent %q", got)
			}
			time.Sleep(600 * time.Millisecond) // the slow node's handler records when it runs

			byAttempt := map[int64]tracetest.SpanStub{}
			for _, s := range exp.GetSpans() {
				if s.SpanKind == trace.SpanKindClient {
					byAttempt[attrs(s)[tracing.AttrAttempt].AsInt64()] = s
				}
			}
			tests := []struct {
				name      string
				attempt   int64
				node      *traceNode
				wantNode  string
				wantError bool
			}{
				{"first attempt, timed out", 1, slow, "greeter-slow", true},
				{"second attempt", 2, fast, "greeter-fast", false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s, ok := byAttempt[tt.attempt]
					if !ok {
						t.Fatalf("no client span for attempt %d among %d spans", tt.attempt, len(exp.GetSpans()))
					}
					a := attrs(s)
					if got := a[tracing.AttrNode].AsString(); got != tt.wantNode {
						t.Errorf("node id %q, want %q", got, tt.wantNode)
					}
					if got := a[tracing.AttrStrategy].AsString(); got != "hash" {
						t.Errorf("strategy %q, want hash", got)
					}
					if got := s.Status.Code == codes.Error; got != tt.wantError {
						t.Errorf("error status %v, want %v", got, tt.wantError)
					}
					if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
						t.Errorf("client span's parent %s, want the request's span %s", s.Parent.SpanID(), parent.SpanContext().SpanID())
					}
					got := tt.node.traceparents()
					if len(got) != 1 {
						t.Fatalf("node got %d calls (%q), want 1", len(got), got)
					}
					tid, sid := parseTraceparent(t, got[0])
					if tid != parent.SpanContext().TraceID() {
						t.Errorf("node saw trace %s, want %s", tid, parent.SpanContext().TraceID())
					}
					if sid != s.SpanContext.SpanID() {
						t.Errorf("node saw parent span %s, want the attempt's client span %s", sid, s.SpanContext.SpanID())
					}
				})
			}
		})
	}
}

// TestNoTracingPassesTraceparent checks the behaviour without tracing: the
// metadata goes out as the gateway built it, so a client's Traceparent
// (when the allow-list has it) reaches the node unchanged, and a call
// without one carries none.
func TestNoTracingPassesTraceparent(t *testing.T) {
	if tracing.Enabled() {
		t.Fatal("tracing is on")
	}
	reg := registry.NewMemoryRegistry()
	n := startTraceNode(t, reg, "mucp", "a", 0)
	h := newTestHandler(t, reg)
	const client = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name string
		md   map[string]string
		want string
	}{
		{"client traceparent", map[string]string{"Traceparent": client}, client},
		{"none", map[string]string{}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &unaryCall{service: "greeter", endpoint: "Greeter.Hello", body: []byte(`{}`), md: tt.md, maxResponse: DefaultMaxResponse}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, _, err := h.unary(ctx, &route.Route{Strategy: selector.RoundRobin}, c, true, nil); err != nil {
				t.Fatal(err)
			}
			if got := n.traceparents(); len(got) != i+1 || got[i] != tt.want {
				t.Fatalf("node saw %q, want last %q", got, tt.want)
			}
		})
	}
}
