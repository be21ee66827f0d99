package rpc

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/selector"
)

// twoNodes starts two stock nodes of kind; the first answers after delay.
func twoNodes(t *testing.T, kind string, delay time.Duration) (*Handler, *stockNode, *stockNode) {
	t.Helper()
	reg := registry.NewMemoryRegistry()
	slow := startStock(t, reg, kind, "slow")
	fast := startStock(t, reg, kind, "fast")
	slow.delay.Store(int64(delay))
	return newTestHandler(t, reg), slow, fast
}

// callOn calls Hello with the route, a round-robin pick starting so that
// the first attempt goes to first.
func callOn(t *testing.T, h *Handler, rt *route.Route, first *stockNode) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &unaryCall{service: "greeter", endpoint: "Greeter.Hello", body: []byte(`{"name":"x"}`), md: map[string]string{}, maxResponse: DefaultMaxResponse}
	// Pin the first pick: the hash strategy with a key that maps to first.
	_, node, err := h.unary(ctx, rt, c, true, hashedTo(hashKeyFor(t, h, first.id)))
	if err != nil {
		return "", err
	}
	return node.Id, nil
}

// answeredBy calls h on rt, the first attempt to slow, and fails t unless
// fast answers within max (want says what max is made of).
func answeredBy(t *testing.T, h *Handler, rt *route.Route, slow, fast *stockNode, max time.Duration, want string) {
	t.Helper()
	start := time.Now()
	node, err := callOn(t, h, rt, slow)
	if err != nil || node != fast.id {
		t.Fatalf("got %q, %v; want an answer from %s", node, err, fast.id)
	}
	if d := time.Since(start); d > max {
		t.Errorf("took %v, want %s", d, want)
	}
}

func TestPerTryTimeout(t *testing.T) {
	for _, kind := range []string{"mucp", "grpc"} {
		t.Run(kind, func(t *testing.T) {
			h, slow, fast := twoNodes(t, kind, 2*time.Second)
			rt := &route.Route{Retries: 1, Timeout: 5 * time.Second, PerTryTimeout: 200 * time.Millisecond, Budget: selector.DefaultRetryBudget()}
			answeredBy(t, h, rt, slow, fast, 1500*time.Millisecond, "about the per-try timeout (200ms) plus one fast call")
		})
	}
}

// TestTimeoutEjects: a node that never answers in time is ejected after
// the failure threshold, although each of its attempts ended by a context
// (the old path read those as the client leaving).
func TestTimeoutEjects(t *testing.T) {
	h, slow, fast := twoNodes(t, "mucp", 2*time.Second)
	rt := &route.Route{Retries: 1, Timeout: 5 * time.Second, PerTryTimeout: 100 * time.Millisecond, Budget: selector.DefaultRetryBudget()}
	for range 5 { // the default failure threshold
		if node, err := callOn(t, h, rt, slow); err != nil || node != fast.id {
			t.Fatalf("got %q, %v; want %s", node, err, fast.id)
		}
	}
	if len(nodeStats(h)) != 2 {
		t.Fatalf("stats: %+v, want 2 nodes", nodeStats(h))
	}
	for _, st := range nodeStats(h) {
		if st.ID == slow.id && st.EjectedUntil == nil {
			t.Errorf("%s after 5 attempt timeouts: not ejected (%+v)", slow.id, st)
		}
		if st.ID == fast.id && st.EjectedUntil != nil {
			t.Errorf("%s ejected", fast.id)
		}
	}
	// A client that leaves never counts: cancel calls to a healthy node.
	reg := registry.NewMemoryRegistry()
	n := startStock(t, reg, "mucp", "n")
	n.delay.Store(int64(time.Second))
	h2 := newTestHandler(t, reg)
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		ctx, cancel2 := context.WithCancel(ctx)
		go func() { time.Sleep(5 * time.Millisecond); cancel2() }()
		h2.unary(ctx, &route.Route{Timeout: time.Second}, &unaryCall{service: "greeter", endpoint: "Greeter.Hello", md: map[string]string{}}, true, nil)
		cancel()
	}
	if len(nodeStats(h2)) != 1 {
		t.Fatalf("stats: %+v, want 1 node", nodeStats(h2))
	}
	for _, st := range nodeStats(h2) {
		if st.EjectedUntil != nil || st.Failures != 0 {
			t.Errorf("a client that left ejected %s", st.ID)
		}
	}
}

func TestHedge(t *testing.T) {
	for _, kind := range []string{"mucp", "grpc"} {
		t.Run(kind, func(t *testing.T) {
			h, slow, fast := twoNodes(t, kind, time.Second)
			rt := &route.Route{Retries: 1, Timeout: 5 * time.Second, Hedge: &route.Hedge{Delay: 50 * time.Millisecond, Max: 1}, Budget: selector.DefaultRetryBudget()}
			answeredBy(t, h, rt, slow, fast, 700*time.Millisecond, "about the hedge delay (50ms) plus one fast call")
			if slow.calls.Load() != 1 || fast.calls.Load() != 1 {
				t.Errorf("calls: slow %d, fast %d; want 1 each", slow.calls.Load(), fast.calls.Load())
			}
			// The loser was cancelled, not failed: the slow node has no
			// failure on record (a success resets nothing here; it is
			// simply not ejected after 5 lost races).
			for range 4 {
				callOn(t, h, rt, slow)
			}
			for _, st := range nodeStats(h) {
				if st.EjectedUntil != nil {
					t.Errorf("%s ejected after losing hedge races", st.ID)
				}
			}
		})
	}
}

// TestRetryBudget: a spent budget stops retries: the request ends with the
// first attempt's error.
func TestRetryBudget(t *testing.T) {
	h, slow, _ := twoNodes(t, "mucp", time.Second)
	spent := selector.NewRetryBudget(0, 0)
	rt := &route.Route{Retries: 1, Timeout: 5 * time.Second, PerTryTimeout: 100 * time.Millisecond, Budget: spent}
	if _, err := callOn(t, h, rt, slow); err == nil {
		t.Fatal("want the slow node's timeout: the budget allows no retry")
	} else if me := toHTTP(context.Background(), err, "greeter", "Greeter.Hello", true, rt.Timeout); me.Code != http.StatusGatewayTimeout {
		t.Errorf("error %v, want 504", me)
	}
	ok := &route.Route{Retries: 1, Timeout: 5 * time.Second, PerTryTimeout: 100 * time.Millisecond, Budget: selector.NewRetryBudget(0, 1)}
	if _, err := callOn(t, h, ok, slow); err != nil {
		t.Errorf("with a budget of 1 retry: %v", err)
	}
}

// nodeStats returns the selector's view of service greeter's nodes.
func nodeStats(h *Handler) []selector.NodeStats {
	for _, s := range h.sel.Stats() {
		if s.Name == "greeter" {
			return s.Nodes
		}
	}
	return nil
}

// TestRetryBudgetFreeForDeadNodes: a retry after a refused connection takes
// nothing from the budget (it only moves a request off a dead node), so a
// spent budget still lets it through.
func TestRetryBudgetFreeForDeadNodes(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	live := startStock(t, reg, "mucp", "live")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // registered, but refuses connections: a node killed with -9
	dead := &stockNode{id: "greeter-dead"}
	if err := reg.Register(&registry.Service{Name: "greeter", Nodes: []*registry.Node{{Id: dead.id, Address: addr,
		Metadata: map[string]string{"protocol": "mucp", "server": "mucp"}}}}); err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, reg)
	rt := &route.Route{Retries: 1, Timeout: 5 * time.Second, Budget: selector.NewRetryBudget(0, 0)}
	node, err := callOn(t, h, rt, dead)
	if err != nil || node != live.id {
		t.Fatalf("got %q, %v; want %s to answer after the dead node refused", node, err, live.id)
	}
}
