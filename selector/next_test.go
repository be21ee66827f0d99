package selector

import (
	"fmt"
	"testing"

	"go-micro.dev/v4/registry"
)

func TestNextDistinct(t *testing.T) {
	for _, strat := range Strategies {
		for _, n := range []int{1, 2, 3, 10} {
			t.Run(fmt.Sprintf("%s/%d", strat, n), func(t *testing.T) {
				s := newTest(t, newRegistry(t, "svc", nodes(n, "")...), WithStrategy(strat), withRand(seqRand(1)))
				next, err := s.Select("svc", WithKey("k"))
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for i := range n {
					node, err := next()
					if err != nil {
						t.Fatal(err)
					}
					if seen[node.Id] {
						t.Fatalf("attempt %d repeated %s before trying all %d nodes", i+1, node.Id, n)
					}
					seen[node.Id] = true
				}
				// Then it wraps around: the next n attempts cover every node again.
				again := map[string]bool{}
				for range n {
					node, err := next()
					if err != nil {
						t.Fatal(err)
					}
					again[node.Id] = true
				}
				if len(again) != n {
					t.Fatalf("after wrapping, %d distinct nodes, want %d", len(again), n)
				}
			})
		}
	}
}

func TestNextWeightedRetryMovesOn(t *testing.T) {
	// 5/1/1: the heavy node comes first, a retry goes to the next distinct
	// node of the smooth sequence.
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a", weight: "5"}, tnode{id: "b", weight: "1"}, tnode{id: "c", weight: "1"}))
	next, err := s.Select("svc")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for range 3 {
		n, err := next()
		if err != nil {
			t.Fatal(err)
		}
		got += n.Id
	}
	if got != "abc" {
		t.Fatalf("attempts = %s, want abc", got)
	}
}

func TestNextHashWalksClockwise(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(4, "")...), WithStrategy(Hash))
	next, err := s.Select("svc", WithKey("user-1"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := next()
	second, _ := next()
	// The second is the next distinct node clockwise from the key.
	snap := s.lookup("svc").snap.Load()
	j := ringSearch(snap.ring, hashKey("user-1"))
	var want []string
	for k := range snap.ring {
		id := snap.reg[snap.ring[(j+k)%len(snap.ring)].node].Id
		if len(want) == 0 || (id != want[0] && len(want) == 1) {
			want = append(want, id)
		}
		if len(want) == 2 {
			break
		}
	}
	if first.Id != want[0] || second.Id != want[1] {
		t.Fatalf("attempts %s, %s; want %s, %s", first.Id, second.Id, want[0], want[1])
	}
}

func TestSelectErrors(t *testing.T) {
	r := newRegistry(t, "svc", nodes(2, "")...)
	// A service whose only node has no address has no usable node.
	if err := r.Register(&registry.Service{Name: "empty", Nodes: []*registry.Node{{Id: "x"}}}); err != nil {
		t.Fatal(err)
	}
	s := newTest(t, r)
	tests := []struct {
		name    string
		service string
		want    error
	}{
		{name: "unknown service", service: "nope", want: errNotFound},
		{name: "no node", service: "empty", want: errNoneAvailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Select(tt.service)
			if err != tt.want {
				t.Fatalf("Select(%q) error = %v, want %v", tt.service, err, tt.want)
			}
		})
	}
	if got := len(*s.services.Load()); got != 1 {
		t.Fatalf("%d services kept, want 1: the unknown name costs no watch", got)
	}
}
