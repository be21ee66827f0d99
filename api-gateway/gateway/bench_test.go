package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/configtest"
)

// The benchmarks serve through Handler().ServeHTTP, without a client-side
// socket, in two logging set-ups: log=off is what `make bench` runs (log
// level error: no access lines), log=on writes every access line as JSON to
// io.Discard (the formatting cost, without a buffer that grows for ever).
var benchLogs = []struct {
	name  string
	level slog.Level
}{{"log=off", slog.LevelError}, {"log=on", slog.LevelInfo}}

// cpuPerOp reports the process's CPU time (user + system, every goroutine:
// the gateway's, the in-process backend's, the GC's) per iteration as
// cpu-ns/op. On a shared, noisy machine it moves far less than ns/op, which
// also counts the time other processes held the cores. Call it before the
// loop and call what it returns after.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchServe is the loop of a benchmark: h serves a request from req per
// iteration, with allocations and CPU time per op reported; a status other
// than want fails it (want 0: any status).
func benchServe(b *testing.B, h http.Handler, want int, req func() *http.Request) {
	b.ReportAllocs()
	done := cpuPerOp(b)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req())
		if want != 0 && w.Code != want {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	done()
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchGateway builds a gateway from YAML over reg whose logs go to
// io.Discard at level.
func benchGateway(b *testing.B, reg registry.Registry, yaml string, level slog.Level) *Gateway {
	b.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	g, err := New(Options{Config: configtest.Load(b, yaml), Registry: reg, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return g
}

// BenchmarkProxy measures the proxy hot path: the whole onion, a Select,
// Rewrite and one upstream round trip to a local node (kept-alive).
func BenchmarkProxy(b *testing.B) {
	reg := registry.NewMemoryRegistry()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()
	register(b, reg, "bench-http", "n1", backend.Listener.Addr().String(), map[string]string{"protocol": "http"})
	for _, l := range benchLogs {
		b.Run(l.name, func(b *testing.B) {
			g := benchGateway(b, reg, "routes: [{path: /p, kind: proxy, service: bench-http, strip_prefix: true, strategy: roundrobin}]", l.level)
			benchServe(b, g.Handler(), 200, func() *http.Request { return httptest.NewRequest("GET", "/p/x", nil) })
		})
	}
}

// BenchmarkRPC measures an HTTP→RPC call through the onion to an in-process
// go-micro node.
func BenchmarkRPC(b *testing.B) {
	reg := registry.NewMemoryRegistry()
	startGreeter(b, reg, "a", nil)
	for _, l := range benchLogs {
		b.Run(l.name, func(b *testing.B) {
			g := benchGateway(b, reg, "", l.level)
			benchServe(b, g.Handler(), 200, func() *http.Request {
				r := httptest.NewRequest("POST", "/greeter/hello", strings.NewReader(`{"name":"bench"}`))
				r.Header.Set("Content-Type", "application/json")
				return r
			})
		})
	}
}

// BenchmarkChainOnly measures the onion around a trivial handler: the
// gateway's own overhead per request (the httptest request and recorder
// account for 13 of the allocations).
func BenchmarkChainOnly(b *testing.B) {
	for _, l := range benchLogs {
		b.Run(l.name, func(b *testing.B) {
			g := benchGateway(b, registry.NewMemoryRegistry(), "", l.level)
			h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), g.Layers()...)
			benchServe(b, h, 0, func() *http.Request { return httptest.NewRequest("GET", "/greeter/hello", nil) })
		})
	}
}
