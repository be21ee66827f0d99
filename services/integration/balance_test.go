package integration_test

import (
	"maps"
	"syscall"
	"testing"

	"github.com/microlb/microlb/internal/consultest"
)

// TestBalance runs the consumer binary against producers registered in one
// real Consul agent; each subtest has its own service name.
func TestBalance(t *testing.T) {
	agent := consultest.Start(t)
	t.Run("weighted 5/1/1 is exactly 500/100/100", func(t *testing.T) { testWeighted(t, agent) })
	t.Run("roundrobin is n/3 ± 1", func(t *testing.T) { testRoundRobin(t, agent) })
	t.Run("hash keys stay put", func(t *testing.T) { testHash(t, agent) })
}

func testWeighted(t *testing.T, agent *consultest.Agent) {
	ps := startProducers(t, agent, "greeter-weighted", 5, 1, 1)
	got := runConsumer(t, agent, "--service", "greeter-weighted", "--strategy", "weighted", "-n", "700")
	want := map[string]int{ps[0].ID: 500, ps[1].ID: 100, ps[2].ID: 100}
	t.Logf("weighted shares: %v", got[0].Nodes)
	if len(got) != 1 || got[0].Strategy != "weighted" || got[0].Requests != 700 || got[0].Errors != 0 || !maps.Equal(got[0].Nodes, want) {
		t.Fatalf("consumer: %+v, want 700 requests, 0 errors, nodes %v", got, want)
	}
}

func testRoundRobin(t *testing.T, agent *consultest.Agent) {
	ps := startProducers(t, agent, "greeter-rr", 1, 1, 1)
	const n = 700
	got := runConsumer(t, agent, "--service", "greeter-rr", "--strategy", "roundrobin", "-n", "700")
	t.Logf("roundrobin shares: %v", got[0].Nodes)
	if got[0].Errors != 0 || len(got[0].Nodes) != 3 {
		t.Fatalf("consumer: %+v, want 0 errors over 3 nodes", got[0])
	}
	sum := 0
	for _, p := range ps {
		c := got[0].Nodes[p.ID]
		sum += c
		if c < n/3-1 || c > n/3+1 {
			t.Errorf("node %s got %d calls, want %d ± 1", p.ID, c, n/3)
		}
	}
	if sum != n {
		t.Errorf("%d calls served, want %d", sum, n)
	}
}

// testHash checks that one key always lands on one node, and that removing
// a node (SIGTERM) moves exactly the keys it owned, to the other nodes.
func testHash(t *testing.T, agent *consultest.Agent) {
	ps := startProducers(t, agent, "greeter-hash", 1, 1, 1)
	args := []string{"--service", "greeter-hash", "--strategy", "hash"}

	var node string
	for run := range 2 {
		got := runConsumer(t, agent, append(args, "--key", "user-42", "-n", "100")...)[0]
		if got.Errors != 0 || len(got.Nodes) != 1 || got.Nodes[got.Keys["user-42"]] != 100 {
			t.Fatalf("run %d, --key user-42: %+v, want all 100 calls on one node", run, got)
		}
		if run == 1 && got.Keys["user-42"] != node {
			t.Fatalf("user-42 moved from %s to %s between runs", node, got.Keys["user-42"])
		}
		node = got.Keys["user-42"]
	}

	before := runConsumer(t, agent, append(args, "--keys", "1000", "-n", "1000")...)[0]
	if before.Errors != 0 || len(before.Keys) != 1000 {
		t.Fatalf("before: %d errors, %d keys; want 0 and 1000", before.Errors, len(before.Keys))
	}
	victim := ps[1]
	owned := 0
	for _, n := range before.Keys {
		if n == victim.ID {
			owned++
		}
	}
	victim.signal(syscall.SIGTERM)
	waitPassing(t, agent, "greeter-hash", ps[0], ps[2])

	after := runConsumer(t, agent, append(args, "--keys", "1000", "-n", "1000")...)[0]
	if after.Errors != 0 || len(after.Keys) != 1000 {
		t.Fatalf("after: %d errors, %d keys; want 0 and 1000", after.Errors, len(after.Keys))
	}
	moved := 0
	for key, was := range before.Keys {
		now := after.Keys[key]
		switch {
		case was == victim.ID && now == victim.ID:
			t.Errorf("key %s still on the removed node", key)
		case was == victim.ID:
			moved++
		case now != was:
			t.Errorf("key %s moved from %s to %s, but its node stayed", key, was, now)
		}
	}
	t.Logf("removing %s moved %d keys, the %d it owned of 1000", victim.ID, moved, owned)
	if moved != owned || owned == 0 {
		t.Errorf("moved %d keys, want the %d the removed node owned (and more than 0)", moved, owned)
	}
	if code := victim.wait(); code != 0 {
		t.Errorf("drained producer exited with status %d, want 0", code)
	}
}
