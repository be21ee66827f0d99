package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/microlb/microlb/api-gateway/tracing"
)

const tracingYAML = `
routes:
  - {name: traced, path: /traced, kind: proxy, service: traced-http, strip_prefix: true, strategy: roundrobin}
`

// clientTraceparent is a traceparent a client of the gateway sends.
const clientTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// traceUpstream is an HTTP node that records the Traceparent it got.
type traceUpstream struct {
	mu  sync.Mutex
	got []string
}

func startTraceUpstream(t *testing.T, reg registry.Registry, name, id string) *traceUpstream {
	t.Helper()
	u := &traceUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.got = append(u.got, r.Header.Get("Traceparent"))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	register(t, reg, name, id, srv.Listener.Addr().String(), map[string]string{"protocol": "http"})
	return u
}

func (u *traceUpstream) last() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		return "<no request>"
	}
	return u.got[len(u.got)-1]
}

// traceparentOf returns the Traceparent go-micro node n received with the
// request that the gateway answered with hd.
func traceparentOf(t *testing.T, n *greeterNode, hd http.Header) string {
	t.Helper()
	v, ok := n.md.Load(hd.Get("X-Request-Id"))
	if !ok {
		return "<no request>"
	}
	return v.(metadata.Metadata)["Traceparent"]
}

func spanAttrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestTracingThroughGateway sends a request carrying a client's traceparent
// through the whole chain with tracing on, to a go-micro node (RPC) and to
// an HTTP node (proxy). The gateway's server span joins the client's trace,
// the attempt's client span is its child with the node id, attempt number
// and strategy, and the upstream receives the same trace id with the
// attempt span as the parent.
func TestTracingThroughGateway(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	t.Cleanup(tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))))
	reg := registry.NewMemoryRegistry()
	g1 := startGreeter(t, reg, "a", nil)
	up := startTraceUpstream(t, reg, "traced-http", "h1")
	g := newTestGateway(t, reg, tracingYAML)
	clientTrace, _ := trace.TraceIDFromHex(clientTraceparent[3:35])
	clientSpan, _ := trace.SpanIDFromHex(clientTraceparent[36:52])

	tests := []struct {
		name, method, path, body string
		wantRoute, wantNode      string
		wantStrategy             string
		seen                     func(http.Header) string
	}{
		{"rpc", "POST", "/greeter/hello", `{"name":"x"}`, "default", "greeter-a", "weighted",
			func(hd http.Header) string { return traceparentOf(t, g1, hd) }},
		{"proxy", "GET", "/traced/a", "", "traced", "h1", "roundrobin",
			func(http.Header) string { return up.last() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp.Reset()
			code, hd, body := do(t, tt.method, g.url+tt.path, tt.body, "Traceparent", clientTraceparent)
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			var server, client tracetest.SpanStub
			waitFor(t, "the request's spans", func() bool {
				server, client = tracetest.SpanStub{}, tracetest.SpanStub{}
				for _, s := range exp.GetSpans() {
					switch s.SpanKind {
					case trace.SpanKindServer:
						server = s
					case trace.SpanKindClient:
						client = s
					}
				}
				return server.SpanContext.IsValid() && client.SpanContext.IsValid()
			})
			if got := server.SpanContext.TraceID(); got != clientTrace {
				t.Errorf("server span in trace %s, want the client's %s", got, clientTrace)
			}
			if got := server.Parent.SpanID(); got != clientSpan {
				t.Errorf("server span's parent %s, want the client's span %s", got, clientSpan)
			}
			sa := spanAttrs(server)
			if got := sa[tracing.AttrRoute].AsString(); got != tt.wantRoute {
				t.Errorf("server span route %q, want %q", got, tt.wantRoute)
			}
			if got := sa["http.status_code"].AsInt64(); got != 200 {
				t.Errorf("server span status %d, want 200", got)
			}
			if got, want := server.Name, tt.method+" "+tt.wantRoute; got != want {
				t.Errorf("server span name %q, want %q", got, want)
			}
			if client.Parent.SpanID() != server.SpanContext.SpanID() || client.SpanContext.TraceID() != clientTrace {
				t.Errorf("client span's parent %s in trace %s, want the server span %s in %s",
					client.Parent.SpanID(), client.SpanContext.TraceID(), server.SpanContext.SpanID(), clientTrace)
			}
			ca := spanAttrs(client)
			if got := ca[tracing.AttrNode].AsString(); got != tt.wantNode {
				t.Errorf("client span node %q, want %q", got, tt.wantNode)
			}
			if got := ca[tracing.AttrAttempt].AsInt64(); got != 1 {
				t.Errorf("client span attempt %d, want 1", got)
			}
			if got := ca[tracing.AttrStrategy].AsString(); got != tt.wantStrategy {
				t.Errorf("client span strategy %q, want %q", got, tt.wantStrategy)
			}
			want := "00-" + clientTrace.String() + "-" + client.SpanContext.SpanID().String() + "-01"
			if got := tt.seen(hd); got != want {
				t.Errorf("upstream got traceparent %q, want %q (the attempt span as parent)", got, want)
			}
		})
	}
}

// TestNoTracingThroughGateway checks the gateway without tracing: a
// client's traceparent reaches the upstream unchanged (it is on the
// metadata allow-list by default, and the proxy forwards it), and none is
// added when the client sent none.
func TestNoTracingThroughGateway(t *testing.T) {
	if tracing.Enabled() {
		t.Fatal("tracing is on")
	}
	reg := registry.NewMemoryRegistry()
	g1 := startGreeter(t, reg, "a", nil)
	up := startTraceUpstream(t, reg, "traced-http", "h1")
	g := newTestGateway(t, reg, tracingYAML)
	tests := []struct {
		name, method, path, body string
		send, want               string
		seen                     func(http.Header) string
	}{
		{"rpc, client traceparent", "POST", "/greeter/hello", `{"name":"x"}`, clientTraceparent, clientTraceparent,
			func(hd http.Header) string { return traceparentOf(t, g1, hd) }},
		{"rpc, none", "POST", "/greeter/hello", `{"name":"x"}`, "", "",
			func(hd http.Header) string { return traceparentOf(t, g1, hd) }},
		{"proxy, client traceparent", "GET", "/traced/a", "", clientTraceparent, clientTraceparent,
			func(http.Header) string { return up.last() }},
		{"proxy, none", "GET", "/traced/a", "", "", "",
			func(http.Header) string { return up.last() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.send != "" {
				hdr = []string{"Traceparent", tt.send}
			}
			code, hd, body := do(t, tt.method, g.url+tt.path, tt.body, hdr...)
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			if got := tt.seen(hd); got != tt.want {
				t.Errorf("upstream got traceparent %q, want %q", got, tt.want)
			}
		})
	}
}
