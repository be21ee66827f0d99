package selector_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	microlb "github.com/microlb/microlb/selector"
)

// HelloRequest and HelloResponse are the messages of the test service,
// carried by go-micro's JSON codec (no generated code, so that the selector
// module needs nothing of the root module to test against real servers).
type HelloRequest struct {
	Name string `json:"name"`
}

type HelloResponse struct {
	Message string `json:"message"`
	NodeId  string `json:"node_id"`
}

// Greeter is an in-process go-micro server's handler that answers with its
// node id and records, from inside the handler, what the selector saw of the
// call. It fails every call whose name is "fail" and does not answer one
// whose name is "hang".
type Greeter struct {
	id       string
	sel      *microlb.Selector
	inflight int64 // the selector's in-flight count for this node during the last call
	failed   atomic.Int64
}

func (g *Greeter) Hello(ctx context.Context, req *HelloRequest, rsp *HelloResponse) error {
	switch req.Name {
	case "fail":
		g.failed.Add(1)
		return merrors.InternalServerError("greeter", "asked to fail")
	case "hang": // as a SIGSTOPped node: no answer until the caller gives up
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return ctx.Err()
	}
	for _, svc := range g.sel.Stats() {
		for _, n := range svc.Nodes {
			if n.ID == g.id {
				g.inflight = n.InFlight
			}
		}
	}
	rsp.NodeId, rsp.Message = g.id, "Hello "+req.Name
	return nil
}

// startGreeters starts n unmodified go-micro v4.11.0 servers of service
// "greeter" on loopback, registered in r.
func startGreeters(t *testing.T, r registry.Registry, sel *microlb.Selector, n int) map[string]*Greeter {
	t.Helper()
	out := map[string]*Greeter{}
	for i := range n {
		id := fmt.Sprintf("g%d", i)
		srv := server.NewServer(server.Name("greeter"), server.Id(id), server.Registry(r), server.Address("127.0.0.1:0"))
		h := &Greeter{id: "greeter-" + id, sel: sel}
		if err := srv.Handle(srv.NewHandler(h)); err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Stop() })
		out[h.id] = h
	}
	return out
}

// hello calls Greeter.Hello through c with go-micro's JSON codec.
func hello(ctx context.Context, c client.Client, name string, opts ...client.CallOption) (*HelloResponse, error) {
	rsp := &HelloResponse{}
	req := c.NewRequest("greeter", "Greeter.Hello", &HelloRequest{Name: name}, client.WithContentType("application/json"))
	return rsp, c.Call(ctx, req, rsp, opts...)
}

// TestWrapperOrder checks the documented onion: HashKeyWrapper runs once per
// Call before the selector (so the key from metadata steers Hash), and
// LoadReporter runs around each attempt after Next (so the serving node sees
// itself in flight).
func TestWrapperOrder(t *testing.T) {
	r := registry.NewMemoryRegistry()
	sel := microlb.New(microlb.WithStrategy(microlb.Hash), selector.Registry(r))
	defer sel.Close()
	nodes := startGreeters(t, r, sel, 3)
	// attempts records the node of every attempt of a call, innermost.
	type attemptsKey struct{}
	record := func(next client.CallFunc) client.CallFunc {
		return func(ctx context.Context, node *registry.Node, req client.Request, rsp any, opts client.CallOptions) error {
			if a, ok := ctx.Value(attemptsKey{}).(*[]string); ok {
				*a = append(*a, node.Id)
			}
			return next(ctx, node, req, rsp, opts)
		}
	}
	c := client.NewClient(client.Registry(r), client.Selector(sel),
		client.Wrap(microlb.HashKeyWrapper("")), client.WrapCall(microlb.LoadReporter(sel), record))
	for k := range 20 {
		key := fmt.Sprintf("user-%d", k)
		var first string
		for i := range 5 {
			var attempts []string
			ctx := metadata.Set(context.WithValue(context.Background(), attemptsKey{}, &attempts), microlb.DefaultHashKeyHeader, key)
			rsp, err := hello(ctx, c, key)
			if err != nil {
				t.Fatal(err)
			}
			// The first attempt is the key's owner (a slow attempt may be
			// retried elsewhere, which is the selector doing its job).
			if i == 0 {
				first = attempts[0]
			} else if attempts[0] != first {
				t.Fatalf("key %s went first to %s then to %s: the hash key did not reach the selector", key, first, attempts[0])
			}
			if rsp.NodeId != attempts[len(attempts)-1] {
				t.Fatalf("answered by %s, last attempt on %s", rsp.NodeId, attempts[len(attempts)-1])
			}
			if got := nodes[rsp.NodeId].inflight; got != 1 {
				t.Fatalf("node %s saw %d in flight during its call, want 1 (LoadReporter inside the attempt)", rsp.NodeId, got)
			}
		}
	}
	for _, svc := range sel.Stats() {
		if svc.InFlight != 0 {
			t.Fatalf("service %s: %d in flight after all calls returned", svc.Name, svc.InFlight)
		}
		for _, n := range svc.Nodes {
			if n.EWMA <= 0 {
				t.Fatalf("node %s has no latency sample", n.ID)
			}
		}
	}
}

// TestRetryLandsOnAnotherNode stops one server without deregistering it:
// go-micro's retry calls Next again and reaches a live node.
func TestRetryLandsOnAnotherNode(t *testing.T) {
	r := registry.NewMemoryRegistry()
	sel := microlb.New(microlb.WithStrategy(microlb.RoundRobin), selector.Registry(r))
	defer sel.Close()
	startGreeters(t, r, sel, 2)
	// A node that is registered but refuses connections.
	dead := &registry.Node{Id: "greeter-dead", Address: "127.0.0.1:1"}
	if err := r.Register(&registry.Service{Name: "greeter", Nodes: []*registry.Node{dead}}); err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(client.Registry(r), client.Selector(sel), client.Retries(2), client.Retry(client.RetryAlways))
	for i := range 30 {
		rsp, err := hello(context.Background(), c, "x")
		if err != nil {
			t.Fatalf("call %d failed despite retries: %v", i, err)
		}
		if rsp.NodeId == "greeter-dead" {
			t.Fatal("answered by the dead node")
		}
	}
	for _, svc := range sel.Stats() {
		for _, n := range svc.Nodes {
			if n.ID == "greeter-dead" && n.Health != microlb.HealthEjected {
				t.Fatalf("dead node is %s after repeated failures, want ejected", n.Health)
			}
		}
	}
}

// TestTimeoutEjects: a real go-micro client whose attempts time out against
// a node that does not answer marks the node failed (a 408 "context deadline
// exceeded"), and two such attempts eject it; a caller that cancels its own
// context costs the node nothing.
func TestTimeoutEjects(t *testing.T) {
	background := func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	// go-micro v4.11.0 ends an attempt after its ConnectionTimeout, not at the
	// call's deadline (client/rpc_client.go, call), and marks it with a 408
	// whose detail is the call context's error at that moment.
	tests := []struct {
		name              string
		ctx               func() (context.Context, context.CancelFunc)
		request, connTime time.Duration
		wantHealth        string
	}{
		{name: "call deadline expired first: 408 context deadline exceeded", ctx: background,
			request: 100 * time.Millisecond, connTime: 150 * time.Millisecond, wantHealth: microlb.HealthEjected},
		{name: "attempt timeout first: 408 <nil>", ctx: background,
			request: time.Second, connTime: 100 * time.Millisecond, wantHealth: microlb.HealthEjected},
		{name: "caller cancels: 408 context canceled", ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, request: time.Second, connTime: 400 * time.Millisecond, wantHealth: microlb.HealthHealthy}, // 350 ms of slack for the cancel on a loaded machine
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registry.NewMemoryRegistry()
			sel := microlb.New(selector.Registry(r), microlb.WithFailureThreshold(2))
			defer sel.Close()
			startGreeters(t, r, sel, 1)
			c := client.NewClient(client.Registry(r), client.Selector(sel), client.Retries(0), client.RequestTimeout(tt.request))
			connTimeout := func(o *client.CallOptions) { o.ConnectionTimeout = tt.connTime }
			for range 2 {
				ctx, cancel := tt.ctx()
				_, err := hello(ctx, c, "hang", connTimeout)
				cancel()
				if err == nil {
					t.Fatal("a call to a node that does not answer succeeded")
				}
			}
			// go-micro marks the attempt from its own goroutine: wait for it.
			deadline := time.Now().Add(2 * time.Second)
			for {
				health, failures := nodeHealth(sel, "greeter-g0")
				done := health == tt.wantHealth && (tt.wantHealth == microlb.HealthEjected || failures == 0)
				if done && tt.wantHealth == microlb.HealthHealthy {
					time.Sleep(200 * time.Millisecond) // a late mark would show now
					health, failures = nodeHealth(sel, "greeter-g0")
					done = health == tt.wantHealth && failures == 0
				}
				if done {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node is %s with %d failures, want %s", health, failures, tt.wantHealth)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// nodeHealth returns the health and failure count of node id in sel's Stats.
func nodeHealth(sel *microlb.Selector, id string) (string, int) {
	for _, svc := range sel.Stats() {
		for _, n := range svc.Nodes {
			if n.ID == id {
				return n.Health, n.Failures
			}
		}
	}
	return "", 0
}
