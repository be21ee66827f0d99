package gateway

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/selector"
)

// outageRegistry is a memory registry whose reads fail while down is set,
// as Consul's do while its agent is stopped.
type outageRegistry struct {
	registry.Registry
	down atomic.Bool
}

func (r *outageRegistry) GetService(name string, opts ...registry.GetOption) ([]*registry.Service, error) {
	if r.down.Load() {
		return nil, errDown
	}
	return r.Registry.GetService(name, opts...)
}

func (r *outageRegistry) ListServices(opts ...registry.ListOption) ([]*registry.Service, error) {
	if r.down.Load() {
		return nil, errDown
	}
	return r.Registry.ListServices(opts...)
}

// TestReadyzDegradedDuringOutage: while the registry is unreachable but the
// selector serves from its snapshots, /readyz says 200 degraded (taking the
// gateway out of rotation would turn a registry outage into an outage of
// traffic), and traffic flows; once the registry is back, ready.
func TestReadyzDegradedDuringOutage(t *testing.T) {
	reg := &outageRegistry{Registry: registry.NewMemoryRegistry()}
	startGreeter(t, reg.Registry, "a", nil)
	g := newTestGateway(t, reg, "")
	readyz := func() (int, readiness) {
		code, _, body := do(t, "GET", g.admin+"/readyz", "")
		var r readiness
		json.Unmarshal([]byte(body), &r)
		return code, r
	}
	if code, _, body := do(t, "GET", g.url+"/greeter/hello?name=x", ""); code != 200 { // loads the service
		t.Fatalf("%d %s", code, body)
	}
	if code, r := readyz(); code != 200 || r.Status != "ready" {
		t.Fatalf("before: %d %+v", code, r)
	}
	reg.down.Store(true)
	g.probeMu.Lock()
	g.probeAt = g.probeAt.Add(-registryProbeTTL) // skip the probe cache
	g.probeMu.Unlock()
	code, r := readyz()
	if code != 200 || r.Status != "degraded" || !strings.Contains(r.Error, "registry unreachable: connection refused; serving 1 services from their last snapshot") {
		t.Fatalf("during the outage: %d %+v", code, r)
	}
	if code, _, body := do(t, "GET", g.url+"/greeter/hello?name=x", ""); code != 200 {
		t.Fatalf("traffic during the outage: %d %s", code, body)
	}
	reg.down.Store(false)
	waitFor(t, "ready again", func() bool { code, r := readyz(); return code == 200 && r.Status == "ready" })
}

// TestAllNodesGone: a service reached through the dynamic route whose nodes
// all deregistered answers 503 (no registered node), like a configured
// route, not 404 (unknown service): it is known, just unavailable. Names
// that never existed stay 404.
func TestAllNodesGone(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", nil)
	h := startHTTP(t, reg, "greeter-http", "h1")
	// No empty hold: the gateway's default (EmptyHold) would keep the last
	// nodes for 10 s.
	sel := selector.New(gselector.Registry(reg))
	t.Cleanup(func() { sel.Close() })
	g := newGatewayWith(t, reg, "routes: [{name: api, path: /api, service: greeter, endpoint: Greeter.Hello}]", func(o *Options) { o.Selector = sel })
	for _, p := range []string{"/greeter/hello?name=x", "/greeter-http/x", "/api?name=x"} {
		if code, _, body := do(t, "GET", g.url+p, ""); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	a.srv.Stop() // deregisters
	reg.Deregister(&registry.Service{Name: "greeter-http", Version: "1", Nodes: []*registry.Node{{Id: h.id}}})
	waitFor(t, "empty snapshots", func() bool {
		for _, s := range sel.Stats() {
			if len(s.Nodes) > 0 {
				return false
			}
		}
		return true
	})
	for _, p := range []string{"/greeter/hello?name=x", "/greeter-http/x", "/api?name=x", "/greeter/hello?name=again"} {
		code, hdr, body := do(t, "GET", g.url+p, "")
		e := microError(t, body)
		if code != 503 || e.Code != 503 || hdr.Get("Content-Type") != "application/json" || !strings.Contains(e.Detail, "has no registered node") {
			t.Errorf("%s: %d %s, want 503", p, code, body)
		}
	}
	if code, _, body := do(t, "GET", g.url+"/never-was/hello", ""); code != 404 {
		t.Errorf("a name that never existed: %d %s, want 404", code, body)
	}
}

// TestJSONErrorsShapes checks which writes JSONErrors rewrites: exactly
// net/http's own plain-text answers.
func TestJSONErrorsShapes(t *testing.T) {
	const hdrs = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	tests := []struct {
		name, write string
		code        int
		detail      string
	}{
		{"431", "HTTP/1.1 431 Request Header Fields Too Large" + hdrs + "431 Request Header Fields Too Large", 431, "request headers too large"},
		{"400", "HTTP/1.1 400 Bad Request" + hdrs + "400 Bad Request", 400, "malformed request"},
		{"400 with a reason", "HTTP/1.1 400 Bad Request: invalid header name" + hdrs + "400 Bad Request: invalid header name", 400, "malformed request: invalid header name"},
		{"501", "HTTP/1.1 501 Not Implemented" + hdrs + "Unsupported transfer encoding", 501, "unsupported Transfer-Encoding: only chunked is accepted"},
		{"a handler's response", "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Mon, 01 Jan 2026 00:00:00 GMT\r\n\r\n400 Bad Request", 0, ""},
		{"body differs", "HTTP/1.1 400 Bad Request" + hdrs + "something else", 0, ""},
		{"a 200", "HTTP/1.1 200 OK" + hdrs + "200 OK", 0, ""},
		{"HTTP/1.0", "HTTP/1.0 400 Bad Request" + hdrs + "400 Bad Request", 0, ""},
		{"body bytes", `{"id":"x"}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, detail, ok := parsePlainError([]byte(tt.write))
			if ok != (tt.code != 0) || code != tt.code || detail != tt.detail {
				t.Fatalf("parsePlainError = %d %q %v, want %d %q", code, detail, ok, tt.code, tt.detail)
			}
		})
	}
}

// TestNoTimeoutHeaderToNodes: a node gets no go-micro Timeout header, even
// on a route with a timeout: go-micro v4.11.0's server keeps every such
// request's context until the connection closes, and the gateway keeps its
// connections (see rpc.mucpTransport.call). The gateway ends the attempt at
// the route timeout itself.
func TestNoTimeoutHeaderToNodes(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", nil)
	g := newTestGateway(t, reg, "routes: [{name: t, path: /t, service: greeter, timeout: 150ms}]")
	code, _, body := do(t, "GET", g.url+"/t/hello?name=x", "", "X-Request-Id", "deadline-1")
	nodeOf(t, code, body)
	v, _ := a.md.Load("deadline-1")
	md, ok := v.(metadata.Metadata)
	if !ok {
		t.Fatal("the node saw no request with id deadline-1")
	}
	if to, ok := md["Timeout"]; ok {
		t.Fatalf("the node got Timeout %q; want none; metadata %v", to, md)
	}
	if _, ok := md["X-Microlb-Deadline"]; ok {
		t.Fatalf("the marker header reached the node: %v", md)
	}
}
