package selector

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// tnode describes a test node: id, weight metadata ("" for none) and version.
type tnode struct {
	id, weight, version string
	md                  map[string]string
}

// newRegistry returns a memory registry holding service name with nodes.
func newRegistry(t testing.TB, name string, nodes ...tnode) registry.Registry {
	t.Helper()
	r := registry.NewMemoryRegistry()
	register(t, r, name, nodes...)
	return r
}

// register adds nodes to service name, one Register call per version.
func register(t testing.TB, r registry.Registry, name string, nodes ...tnode) {
	t.Helper()
	byVersion := map[string][]*registry.Node{}
	for i, n := range nodes {
		md := map[string]string{}
		for k, v := range n.md {
			md[k] = v
		}
		if n.weight != "" {
			md["weight"] = n.weight
		}
		byVersion[n.version] = append(byVersion[n.version], &registry.Node{
			Id: n.id, Address: fmt.Sprintf("10.0.0.%d:%d", i+1, 8000+i), Metadata: md,
		})
	}
	for v, ns := range byVersion {
		if err := r.Register(&registry.Service{Name: name, Version: v, Nodes: ns}); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
}

// nodes returns n test nodes n000… with the given weight.
func nodes(n int, weight string) []tnode {
	out := make([]tnode, n)
	for i := range out {
		out[i] = tnode{id: fmt.Sprintf("n%04d", i), weight: weight}
	}
	return out
}

// zeroRand is a deterministic randN: it always draws 0.
func zeroRand(int) int { return 0 }

// seqRand returns a deterministic, goroutine-safe randN from a fixed seed
// (a 64-bit LCG under a mutex).
func seqRand(seed uint64) func(int) int {
	var mu sync.Mutex
	x := seed
	return func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		x = x*6364136223846793005 + 1442695040888963407
		return int((x >> 33) % uint64(n))
	}
}

// fakeClock is an injectable clock, safe for concurrent use: unix nanos.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	return c
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock on by d.
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTest returns a selector over r with deterministic randomness, closed on cleanup.
func newTest(t testing.TB, r registry.Registry, opts ...selector.Option) *Selector {
	t.Helper()
	opts = append([]selector.Option{selector.Registry(r), withRand(zeroRand)}, opts...)
	s := New(opts...)
	t.Cleanup(func() { s.Close() })
	return s
}

// pick runs one Select and its first Next.
func pick(t testing.TB, s selector.Selector, service string, opts ...selector.SelectOption) string {
	t.Helper()
	next, err := s.Select(service, opts...)
	if err != nil {
		t.Fatalf("Select(%s): %v", service, err)
	}
	n, err := next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return n.Id
}

// picks runs n Selects and returns the ids picked, in order.
func picks(t testing.TB, s selector.Selector, service string, n int, opts ...selector.SelectOption) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = pick(t, s, service, opts...)
	}
	return out
}

// attempts calls next n times, as go-micro's retries do, and returns the ids
// it returned, in order.
func attempts(t testing.TB, next selector.Next, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		node, err := next()
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		out[i] = node.Id
	}
	return out
}

// wantCounts fails the test unless got equals want.
func wantCounts(t testing.TB, got, want map[string]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("picks = %v, want %v", got, want)
	}
}

// wantShares fails the test unless each node of want has its share of all
// the picks counted in got, within tol.
func wantShares(t testing.TB, got map[string]int, want map[string]float64, tol float64) {
	t.Helper()
	total := 0
	for _, c := range got {
		total += c
	}
	for id, share := range want {
		if g := float64(got[id]) / float64(total); math.Abs(g-share) > tol {
			t.Fatalf("node %s: share %.3f, want %.3f ± %.2f (%v)", id, g, share, tol, got)
		}
	}
}

// counts tallies ids.
func counts(ids []string) map[string]int {
	m := map[string]int{}
	for _, id := range ids {
		m[id]++
	}
	return m
}

// withRegistryOpt is selector.Registry, named for readability next to New.
func withRegistryOpt(r registry.Registry) selector.Option { return selector.Registry(r) }

// waitFor polls cond for up to 2 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2s")
		}
		time.Sleep(time.Millisecond)
	}
}

var (
	errNotFound      = selector.ErrNotFound
	errNoneAvailable = selector.ErrNoneAvailable
)

// wrapped is a foreign context.Context wrapper, as another plugin's option might install.
type wrapped struct{ context.Context }

// ringOf is the Hash ring that snapshot s built.
func ringOf(s *snapshot) []ringEntry { r, _ := s.state[Hash.index()].([]ringEntry); return r }

// wrrOf is the Weighted table of snapshot s's weights.
func wrrOf(s *snapshot) *wrrTable { return s.state[Weighted.index()].(*wrrTable) }
