package rpc

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	grpcs "github.com/go-micro/plugins/v4/server/grpc"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/internal/greetertest"
	"github.com/microlb/microlb/internal/testutil"
	"github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// stockNode is a greeter served by unmodified go-micro v4.11.0: its mucp
// server (server.NewRPCServer over the HTTP transport) or the gRPC server
// plugin (github.com/go-micro/plugins/v4/server/grpc v1.2.0). Neither carries
// the producer's Micro-Id fix.
type stockNode struct {
	id, addr string
	srv      server.Server
	mu       sync.Mutex
	remotes  map[string]int // the client address of each request
	delay    atomic.Int64   // ns every Hello waits first, a slow or hung node
	calls    atomic.Int64
	lastMD   atomic.Value // map[string]string: the last request's metadata
}

// Hello answers with the node id. Names select a behaviour: "big" answers
// 2 MiB; "teapot" a go-micro 418; "badrequest" a go-micro 400; "slow" sleeps
// 300 ms.
func (n *stockNode) Hello(ctx context.Context, req *greeter.HelloRequest, rsp *greeter.HelloResponse) error {
	n.calls.Add(1)
	if d := time.Duration(n.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	if md, ok := metadata.FromContext(ctx); ok {
		n.lastMD.Store(map[string]string(md))
		n.mu.Lock()
		n.remotes[md["Remote"]]++
		n.mu.Unlock()
	}
	rsp.Message = "Hello " + req.Name
	rsp.NodeId = n.id
	switch {
	case req.Name == "big":
		rsp.Message = strings.Repeat("x", 2<<20)
	case req.Name == "teapot":
		return merrors.New("greeter", "I am a teapot", 418)
	case req.Name == "slow":
		time.Sleep(300 * time.Millisecond)
	case req.Name == "badrequest":
		return merrors.BadRequest("greeter", "bad name")
	}
	return nil
}

func (n *stockNode) Stream(ctx context.Context, req *greeter.HelloRequest, st greeter.Greeter_StreamStream) error {
	for i := 1; i <= int(max(req.Count, 1)); i++ {
		if err := st.Send(&greeter.HelloResponse{Message: "Hello " + req.Name, NodeId: n.id, Seq: int32(i)}); err != nil {
			return err
		}
	}
	return nil
}

// startStock starts a stock greeter node of kind "mucp" or "grpc" registered
// in reg as service greeter.
func startStock(t testing.TB, reg registry.Registry, kind, id string) *stockNode {
	t.Helper()
	n := &stockNode{id: "greeter-" + id, remotes: map[string]int{}}
	n.srv = serveGreeter(t, reg, kind, id, n)
	n.addr = n.srv.Options().Address
	return n
}

// serveGreeter serves h as node id of service greeter, registered in reg,
// with unmodified go-micro v4.11.0: its mucp server over the HTTP transport
// (kind "mucp") or the gRPC server plugin ("grpc"). It stops at cleanup.
func serveGreeter(t testing.TB, reg registry.Registry, kind, id string, h greeter.GreeterHandler) server.Server {
	t.Helper()
	newServer := grpcs.NewServer
	if kind != "grpc" {
		newServer = func(opts ...server.Option) server.Server {
			return server.NewRPCServer(append(opts, server.Transport(transport.NewHTTPTransport()))...)
		}
	}
	return greetertest.Serve(t, newServer, h, server.Id(id), server.Registry(reg), server.RegisterTTL(time.Minute))
}

// newTestHandler returns a handler over a fresh selector of reg.
func newTestHandler(t testing.TB, reg registry.Registry) *Handler {
	t.Helper()
	sel := selector.New(gselector.Registry(reg), selector.WithStrategy(selector.RoundRobin))
	h := NewHandler(Options{Selector: sel})
	t.Cleanup(func() { h.Close(); sel.Close() })
	return h
}

// roundRobin picks round-robin, the way call does.
var roundRobin = []gselector.SelectOption{selector.UseStrategy(selector.RoundRobin)}

// hashedTo picks with the hash strategy and key, whose first pick
// hashKeyFor finds.
func hashedTo(key string) []gselector.SelectOption {
	return []gselector.SelectOption{selector.UseStrategy(selector.Hash), selector.WithKey(key)}
}

// call makes one unary Hello call through h and returns the answer's body,
// the serving node and the error mapped to HTTP as the gateway sends it.
func call(h *Handler, rt *route.Route, name string) (string, string, *merrors.Error) {
	c := &unaryCall{service: "greeter", endpoint: "Greeter.Hello", body: []byte(`{"name":"` + name + `"}`),
		md: map[string]string{}, maxResponse: maxResponse(rt)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, node, err := h.unary(ctx, rt, c, true, roundRobin)
	if err != nil {
		return "", "", toHTTP(ctx, err, "greeter", "Greeter.Hello", true, rt.Timeout)
	}
	return string(data), node.Id, nil
}

func TestStockNodes(t *testing.T) {
	for _, kind := range []string{"mucp", "grpc"} {
		t.Run(kind, func(t *testing.T) {
			reg := registry.NewMemoryRegistry()
			n := startStock(t, reg, kind, "a")
			h := newTestHandler(t, reg)
			rt := &route.Route{Retries: 1, Timeout: 5 * time.Second}
			body, node, err := call(h, rt, "ann")
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 2 || got["message"] != "Hello ann" || got["node_id"] != "greeter-a" {
				t.Errorf("body = %s, want message Hello ann and node_id greeter-a", body)
			}
			if node != n.id {
				t.Errorf("node = %q, want %q", node, n.id)
			}
			// A go-micro error keeps its code and id, whichever server.
			for name, want := range map[string]int32{"teapot": 418, "badrequest": 400} {
				if _, _, err := call(h, rt, name); err == nil || err.Code != want || err.Id != "greeter" {
					t.Errorf("%s: %v, want the node's %d", name, err, want)
				}
			}
			// An answer over the cap is a gateway 502, and the node stays
			// healthy.
			small := &route.Route{Retries: 1, Timeout: 5 * time.Second, MaxResponseBytes: 1 << 20}
			if _, _, err := call(h, small, "big"); err == nil || err.Code != http.StatusBadGateway || !strings.Contains(err.Detail, "more than 1048576 bytes") {
				t.Errorf("big: %v, want 502 naming the cap", err)
			}
			if _, _, err := call(h, rt, "big"); err != nil {
				t.Errorf("big under the default cap: %v", err)
			}
		})
	}
}

// TestMucpConnectionReuse: sequential calls to a stock mucp node share one
// kept-alive connection (go-micro's server sees one client address), none
// hangs (every request carries its own Micro-Stream), and the node's heap
// does not grow with the calls: no request carries the Timeout header whose
// context go-micro v4.11.0 keeps until the connection closes (2.5 KB a
// request, 10 MB over these calls).
func TestMucpConnectionReuse(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	n := startStock(t, reg, "mucp", "a")
	h := newTestHandler(t, reg)
	rt := &route.Route{Timeout: 5 * time.Second, PerTryTimeout: 4 * time.Second}
	const calls = 4000
	heap := func() uint64 { return testutil.MemStats().HeapAlloc }
	for i := range calls / 10 { // warm up the pools and the connection
		if _, _, err := call(h, rt, "x"); err != nil {
			t.Fatalf("warm-up call %d: %v", i, err)
		}
	}
	before := heap()
	for i := range calls {
		if _, _, err := call(h, rt, "x"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	grew := int64(heap()) - int64(before)
	if grew > 2<<20 {
		t.Errorf("the heap grew by %d KiB over %d calls on one connection, want under 2 MiB (go-micro's per-request Timeout context is kept until the connection closes)", grew>>10, calls)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.remotes) != 1 {
		t.Errorf("%d sequential calls came from %d connections, want 1: %v", calls+calls/10, len(n.remotes), n.remotes)
	}
	if _, ok := n.lastMD.Load().(map[string]string)["Timeout"]; ok {
		t.Errorf("the node got a Timeout header: %v", n.lastMD.Load())
	}
}

// rawCodec passes gRPC messages through as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "json" }

// startStatusServer starts a plain grpc-go server, registered in reg as a
// gRPC node of service greeter, that answers every call with the status
// named by the request's "name" (as "status:NOT_FOUND"): the statuses a
// gRPC service that does not send go-micro errors returns.
func startStatusServer(t testing.TB, reg registry.Registry) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, st grpc.ServerStream) error {
		var in []byte
		if err := st.RecvMsg(&in); err != nil {
			return err
		}
		var req struct{ Name string }
		json.Unmarshal(in, &req)
		var c codes.Code
		if err := c.UnmarshalJSON([]byte(`"` + strings.TrimPrefix(req.Name, "status:") + `"`)); err != nil {
			return err
		}
		return status.Error(c, "status "+c.String())
	}))
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	svc := &registry.Service{Name: "greeter", Nodes: []*registry.Node{{Id: "greeter-raw", Address: lis.Addr().String(),
		Metadata: map[string]string{"protocol": "grpc", "server": "grpc", "transport": "grpc"}}}}
	if err := reg.Register(svc); err != nil {
		t.Fatal(err)
	}
}

// TestGRPCStatus: a gRPC status that is not a go-micro error maps to the
// HTTP status of the table.
func TestGRPCStatus(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startStatusServer(t, reg)
	h := newTestHandler(t, reg)
	rt := &route.Route{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		code string
		want int32
	}{
		{"INVALID_ARGUMENT", 400},
		{"UNAUTHENTICATED", 401},
		{"PERMISSION_DENIED", 403},
		{"NOT_FOUND", 404},
		{"ALREADY_EXISTS", 409},
		{"RESOURCE_EXHAUSTED", 429},
		{"INTERNAL", 500},
		{"UNIMPLEMENTED", 501},
		{"UNAVAILABLE", 503},
		{"DEADLINE_EXCEEDED", 504},
	} {
		t.Run(tc.code, func(t *testing.T) {
			_, _, err := call(h, rt, "status:"+tc.code)
			if err == nil || err.Code != tc.want {
				t.Fatalf("status %s: %v, want code %d", tc.code, err, tc.want)
			}
		})
	}
}

// TestMixedService: one service served by a mucp node and a gRPC node;
// round robin alternates between them and both answer.
func TestMixedService(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	m := startStock(t, reg, "mucp", "m")
	g := startStock(t, reg, "grpc", "g")
	h := newTestHandler(t, reg)
	rt := &route.Route{Timeout: 5 * time.Second}
	got := map[string]int{}
	for i := range 20 {
		_, node, err := call(h, rt, "x")
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		got[node]++
	}
	if got[m.id] != 10 || got[g.id] != 10 {
		t.Errorf("calls per node = %v, want 10 each", got)
	}
}
