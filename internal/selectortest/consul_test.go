// Package selectortest holds the selector's tests that need the root module:
// a real Consul agent (internal/consultest) and go-micro's Consul registry
// plugin. The selector module itself depends on go-micro and xxhash only.
package selectortest

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/microlb/microlb/internal/consultest"
	microlb "github.com/microlb/microlb/selector"
)

// consulNode is a node as a go-micro service would register it in Consul.
func consulNode(i int) *registry.Node {
	return &registry.Node{
		Id:       fmt.Sprintf("greeter-%d", i),
		Address:  fmt.Sprintf("127.0.0.1:%d", 20000+i),
		Metadata: map[string]string{"weight": "1"},
	}
}

func consulRegister(t *testing.T, r registry.Registry, ns ...*registry.Node) {
	t.Helper()
	if err := r.Register(&registry.Service{Name: "greeter", Version: "1", Nodes: ns}); err != nil {
		t.Fatalf("register in consul: %v", err)
	}
}

// within polls cond every millisecond for up to limit and returns how long it took.
func within(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// TestConsulWatch runs the selector against a real Consul agent: joins and
// leaves propagate through the watch within a second; while the agent is
// down the last snapshot keeps serving; after it restarts, a registration is
// seen although Consul's watch plan is stuck on the old index.
func TestConsulWatch(t *testing.T) {
	agent := consultest.Start(t)
	r := consul.NewRegistry(registry.Addrs(agent.Addr))
	for i := range 3 {
		consulRegister(t, r, consulNode(i))
	}
	s := microlb.New(selector.Registry(r), microlb.WithStrategy(microlb.RoundRobin), microlb.WithResync(time.Second))
	defer s.Close()
	if got := tally(t, s, 6); len(got) != 3 {
		t.Fatalf("picks %v, want 3 nodes", got)
	}

	if err := r.Deregister(&registry.Service{Name: "greeter", Version: "1", Nodes: []*registry.Node{consulNode(2)}}); err != nil {
		t.Fatal(err)
	}
	d := within(t, time.Second, "deregistered node unpicked", func() bool {
		return tally(t, s, 4)["greeter-2"] == 0
	})
	t.Logf("deregistration → last pick: %v", d)

	consulRegister(t, r, consulNode(3))
	d = within(t, time.Second, "new node picked", func() bool {
		return tally(t, s, 6)["greeter-3"] > 0
	})
	t.Logf("registration → first pick: %v", d)

	agent.Stop()
	tally(t, s, 50)  // the agent is down: every pick still succeeds
	agent.Restart(t) // the agent restores its services from its data directory
	if got := tally(t, s, 6); len(got) != 3 {
		t.Fatalf("after the restart picks %v, want the 3 nodes", got)
	}
	consulRegister(t, r, consulNode(4))
	d = within(t, 3*time.Second, "node registered after the restart picked", func() bool {
		got := tally(t, s, 6)
		return got["greeter-4"] > 0 && len(got) == 4
	})
	t.Logf("registration after the restart → first pick: %v", d)
}

// tally runs n Selects of greeter and counts the nodes of their first Next.
func tally(t *testing.T, s selector.Selector, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		next, err := s.Select("greeter")
		var node *registry.Node
		if err == nil {
			node, err = next()
		}
		if err != nil {
			t.Fatalf("pick from greeter: %v", err)
		}
		got[node.Id]++
	}
	return got
}
