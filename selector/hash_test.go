package selector

import (
	"fmt"
	"math"
	"testing"

	"go-micro.dev/v4/registry"
)

func TestHashSticky(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(5, "")...), WithStrategy(Hash))
	for k := range 200 {
		key := fmt.Sprintf("user-%d", k)
		first := pick(t, s, "svc", WithKey(key))
		for range 5 {
			if got := pick(t, s, "svc", WithKey(key)); got != first {
				t.Fatalf("key %s moved from %s to %s", key, first, got)
			}
		}
	}
}

// owners maps each of keys to the node the ring gives it.
func owners(t *testing.T, s *Selector, keys int) map[string]string {
	t.Helper()
	m := make(map[string]string, keys)
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		m[key] = pick(t, s, "svc", UseStrategy(Hash), WithKey(key))
	}
	return m
}

func TestHashRemapOnRemoveAndAdd(t *testing.T) {
	const keys, n = 10000, 5
	r := newRegistry(t, "svc", nodes(n, "")...)
	s := newTest(t, r)
	before := owners(t, s, keys)

	// Remove one node: only its keys move, and they are about 1/N.
	victim := before["key-0"]
	svc := s.lookup("svc")
	var gone *registry.Node
	for _, rn := range svc.snap.Load().reg {
		if rn.Id == victim {
			gone = rn
		}
	}
	if err := r.Deregister(&registry.Service{Name: "svc", Nodes: []*registry.Node{gone}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(s.lookup("svc").snap.Load().nodes) == n-1 })
	after := owners(t, s, keys)
	moved := 0
	for key, owner := range before {
		if after[key] != owner {
			moved++
			if owner != victim {
				t.Fatalf("key %s moved from %s to %s although %s is still there", key, owner, after[key], owner)
			}
		}
	}
	if share := float64(moved) / keys; math.Abs(share-1.0/n) > 0.05 {
		t.Fatalf("%d of %d keys moved (%.3f), want about 1/%d", moved, keys, share, n)
	}

	// Add it back: exactly the same keys return.
	if err := r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{gone}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(s.lookup("svc").snap.Load().nodes) == n })
	again := owners(t, s, keys)
	for key, owner := range before {
		if again[key] != owner {
			t.Fatalf("key %s: %s after re-adding, was %s", key, again[key], owner)
		}
	}
}

func TestHashWithoutKeyIsRandom(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(2, "")...), WithStrategy(Hash), withRand(seqRand(7)))
	got := counts(picks(t, s, "svc", 2000))
	if got["n0000"] < 900 || got["n0001"] < 900 {
		t.Fatalf("keyless hash picks = %v, want about 1000 each", got)
	}
}

func TestHashBoundedLoads(t *testing.T) {
	const n, factor = 4, 1.25
	s := newTest(t, newRegistry(t, "svc", nodes(n, "")...), WithStrategy(Hash), WithHashBalanceFactor(factor))
	// Every call uses the same key and stays in flight: without bounds all
	// 40 would pile onto one node.
	var done []func()
	perNode := map[string]int{}
	for i := range 40 {
		next, err := s.Select("svc", WithKey("hot"))
		if err != nil {
			t.Fatal(err)
		}
		node, err := next()
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, s.Track("svc", node))
		perNode[node.Id]++
		limit := int(math.Ceil(factor * float64(i+1) / n))
		for id, c := range perNode {
			if c > limit {
				t.Fatalf("after %d calls node %s has %d in flight, bound %d", i+1, id, c, limit)
			}
		}
	}
	if len(perNode) != n {
		t.Fatalf("load spread over %d nodes, want %d: %v", len(perNode), n, perNode)
	}
	for _, d := range done {
		d()
	}
	if got := s.lookup("svc").inflight.Load(); got != 0 {
		t.Fatalf("in flight after done = %d", got)
	}
}

func TestRingSearchWraps(t *testing.T) {
	ring := []ringEntry{{hash: 0x10, node: 0}, {hash: 0x40, node: 1}, {hash: 0x90, node: 0}, {hash: 0xd0, node: 1}}
	tests := []struct {
		name string
		h    uint64
		want int
	}{
		{name: "before first", h: 0x01, want: 0},
		{name: "exact", h: 0x40, want: 1},
		{name: "between", h: 0x50, want: 2},
		{name: "after last wraps", h: 0xe0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ringSearch(ring, tt.h); got != tt.want {
				t.Fatalf("ringSearch(%#x) = %d, want %d", tt.h, got, tt.want)
			}
		})
	}
}
