package selector

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// TestStrategyContract holds every registered strategy, with a hash key and
// without, to what the call relies on: within one Select, distinct nodes
// until every usable node was tried, then around again; never an ejected
// node while others are usable; ErrNoneAvailable for a service with no
// usable node. TestFilters and TestZoneEveryStrategy hold them to filters
// and zones.
func TestStrategyContract(t *testing.T) {
	keys := []struct {
		name string
		opts []selector.SelectOption
	}{{"key", []selector.SelectOption{WithKey("k")}}, {"nokey", nil}}
	for _, strat := range Strategies {
		for _, key := range keys {
			prefix := string(strat) + "/" + key.name
			for _, n := range []int{1, 2, 3, 10} {
				t.Run(fmt.Sprintf("%s/distinct/%d", prefix, n), func(t *testing.T) {
					s := newTest(t, newRegistry(t, "svc", nodes(n, "")...), WithStrategy(strat), withRand(seqRand(1)))
					next, err := s.Select("svc", key.opts...)
					if err != nil {
						t.Fatal(err)
					}
					seen := counts(attempts(t, next, n))
					if len(seen) != n {
						t.Fatalf("%d attempts reached %d distinct nodes %v, want all %d", n, len(seen), seen, n)
					}
					// Then it wraps around: the next n attempts cover every node again.
					if again := counts(attempts(t, next, n)); len(again) != n {
						t.Fatalf("after wrapping, %d distinct nodes, want %d", len(again), n)
					}
				})
			}
			t.Run(prefix+"/skips ejected", func(t *testing.T) {
				s := newTest(t, newRegistry(t, "svc", nodes(4, "")...), WithStrategy(strat), WithFailureThreshold(1),
					WithClock(newFakeClock().Now), withRand(seqRand(1)))
				pick(t, s, "svc") // load it
				failNode(s, "n0002", 1)
				for range 20 {
					next, err := s.Select("svc", key.opts...)
					if err != nil {
						t.Fatal(err)
					}
					for _, seen := range []map[string]int{counts(attempts(t, next, 3)), counts(attempts(t, next, 3))} {
						if len(seen) != 3 || seen["n0002"] != 0 {
							t.Fatalf("3 attempts reached %v, want the 3 nodes other than the ejected n0002", seen)
						}
					}
				}
			})
			t.Run(prefix+"/none available", func(t *testing.T) {
				r := registry.NewMemoryRegistry()
				// Its only node has no address: the service has no usable node.
				if err := r.Register(&registry.Service{Name: "empty", Nodes: []*registry.Node{{Id: "x"}}}); err != nil {
					t.Fatal(err)
				}
				s := newTest(t, r, WithStrategy(strat))
				if _, err := s.Select("empty", key.opts...); err != errNoneAvailable {
					t.Fatalf("Select error = %v, want %v", err, errNoneAvailable)
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
	if got := strings.Join(attempts(t, next, 3), ""); got != "abc" {
		t.Fatalf("attempts = %s, want abc", got)
	}
}

func TestNextHashWalksClockwise(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(4, "")...), WithStrategy(Hash))
	next, err := s.Select("svc", WithKey("user-1"))
	if err != nil {
		t.Fatal(err)
	}
	got := attempts(t, next, 2)
	// The second is the next distinct node clockwise from the key.
	snap := s.lookup("svc").snap.Load()
	j := ringSearch(ringOf(snap), hashKey("user-1"))
	var want []string
	for k := range ringOf(snap) {
		id := snap.reg[ringOf(snap)[(j+k)%len(ringOf(snap))].node].Id
		if len(want) == 0 || (id != want[0] && len(want) == 1) {
			want = append(want, id)
		}
		if len(want) == 2 {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("attempts %v, want %v", got, want)
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
