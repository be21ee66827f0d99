package selector

import (
	"context"
	"fmt"
	"runtime"
	"sync"
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

// fakeClock is an injectable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

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

// runtimeGosched yields the processor.
func runtimeGosched() { runtime.Gosched() }

// ringOf is the Hash ring that snapshot s built.
func ringOf(s *snapshot) []ringEntry { r, _ := s.state[Hash.index()].([]ringEntry); return r }

// wrrOf is the Weighted table of snapshot s's weights.
func wrrOf(s *snapshot) *wrrTable { return s.state[Weighted.index()].(*wrrState).base }
