package catalog

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
)

// TestKnownServiceKeepsItsDescription: a service whose nodes all left (or
// whose registry restarted empty) keeps its endpoints and kind, so that the
// selector, not the catalog, decides between serving held nodes and a 503;
// a name never seen is ErrNotFound.
func TestKnownServiceKeepsItsDescription(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	svc := &registry.Service{Name: "greeter", Version: "1",
		Nodes:     []*registry.Node{{Id: "n1", Address: "127.0.0.1:1", Metadata: map[string]string{"protocol": "http"}}},
		Endpoints: nil}
	if err := reg.Register(svc); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Unix(1_700_000_000, 0).UnixNano())
	advance := func() { clock.Add(int64(2 * time.Second)) }
	c := New(reg, time.Second)
	c.now = func() time.Time { return time.Unix(0, clock.Load()) }
	got, err := c.Lookup("greeter")
	if err != nil || !got.HTTP {
		t.Fatalf("%+v %v", got, err)
	}
	if err := reg.Deregister(svc); err != nil {
		t.Fatal(err)
	}
	advance()
	c.Lookup("greeter") // stale: served, refreshed in the background
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		loading := c.entries["greeter"].loading != nil
		c.mu.Unlock()
		if !loading || time.Now().After(deadline) {
			break
		}
	}
	advance()
	if got, err := c.Lookup("greeter"); err != nil || got == nil || !got.HTTP {
		t.Fatalf("after its nodes left: %+v %v, want the last description", got, err)
	}
	if _, err := c.Lookup("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
}

// TestNegativeCacheNeverEvictsLive floods the catalog with unknown names,
// far past its bound of negative entries: every service that exists keeps
// its entry (no registry call for it), and the negative entries stay at
// the bound.
func TestNegativeCacheNeverEvictsLive(t *testing.T) {
	reg := &countingRegistry{Registry: registry.NewMemoryRegistry()}
	for i := range 10 {
		svc := &registry.Service{Name: "live-" + string(rune('a'+i)), Version: "1",
			Nodes: []*registry.Node{{Id: "n", Address: "127.0.0.1:1", Metadata: map[string]string{"server": "mucp", "protocol": "mucp"}}}}
		if err := reg.Register(svc); err != nil {
			t.Fatal(err)
		}
	}
	c := New(reg, time.Hour)
	for i := range 10 {
		if _, err := c.Lookup("live-" + string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 * maxNegative {
		if _, err := c.Lookup("nosuch-" + strconv.Itoa(i)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown name %d: %v", i, err)
		}
	}
	calls := reg.calls.Load()
	for i := range 10 {
		if svc, err := c.Lookup("live-" + string(rune('a'+i))); err != nil || svc == nil || svc.Foreign || svc.HTTP {
			t.Fatalf("live-%c: %+v %v", 'a'+i, svc, err)
		}
	}
	if got := reg.calls.Load() - calls; got != 0 {
		t.Fatalf("%d registry calls for live services: an entry was evicted", got)
	}
	c.mu.Lock()
	neg, total := c.negative, len(c.entries)
	c.mu.Unlock()
	if neg != maxNegative || total != maxNegative+10 {
		t.Fatalf("%d negative of %d entries, want %d of %d", neg, total, maxNegative, maxNegative+10)
	}
}

// TestNodeKind: only go-micro servers are RPC services and only nodes that
// opt in are HTTP services; everything else is foreign.
func TestNodeKind(t *testing.T) {
	tests := []struct {
		name string
		md   map[string]string
		want string
	}{
		{"go-micro mucp", map[string]string{"server": "mucp", "protocol": "mucp", "transport": "http", "broker": "http", "registry": "consul"}, KindRPC},
		{"go-micro grpc", map[string]string{"server": "grpc", "protocol": "grpc"}, KindRPC},
		{"opted-in http", map[string]string{"protocol": "http"}, KindHTTP},
		{"opted-in https", map[string]string{"protocol": "https"}, KindHTTP},
		{"no metadata (Consul itself, a plain registration)", nil, KindForeign},
		{"other server", map[string]string{"server": "nginx"}, KindForeign},
		{"other protocol", map[string]string{"protocol": "redis"}, KindForeign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NodeKind(&registry.Node{Id: "n", Metadata: tt.md}); got != tt.want {
				t.Fatalf("NodeKind = %s, want %s", got, tt.want)
			}
		})
	}
}

type countingRegistry struct {
	registry.Registry
	calls atomic.Int64
}

func (r *countingRegistry) GetService(name string, opts ...registry.GetOption) ([]*registry.Service, error) {
	r.calls.Add(1)
	return r.Registry.GetService(name, opts...)
}
