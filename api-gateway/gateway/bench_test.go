package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go-micro.dev/v4/registry"
)

// BenchmarkProxy measures the proxy hot path: the whole onion, a Select,
// Rewrite and one upstream round trip to a local node (kept-alive), served
// through Handler().ServeHTTP without a client-side socket.
func BenchmarkProxy(b *testing.B) {
	reg := registry.NewMemoryRegistry()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()
	register(b, reg, "bench-http", "n1", backend.Listener.Addr().String(), map[string]string{"protocol": "http"})
	g := newTestGateway(b, reg, "routes: [{path: /p, kind: proxy, service: bench-http, strip_prefix: true, strategy: roundrobin}]")
	h := g.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/p/x", nil))
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkRPC measures an HTTP→RPC call through the onion to an in-process
// go-micro node.
func BenchmarkRPC(b *testing.B) {
	reg := registry.NewMemoryRegistry()
	startGreeter(b, reg, "a", nil)
	g := newTestGateway(b, reg, "")
	h := g.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/greeter/hello", strings.NewReader(`{"name":"bench"}`))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkChainOnly measures the onion around a trivial handler: the
// gateway's own overhead per request.
func BenchmarkChainOnly(b *testing.B) {
	g := newTestGateway(b, registry.NewMemoryRegistry(), "")
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), g.Layers()...)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/greeter/hello", nil))
	}
}
