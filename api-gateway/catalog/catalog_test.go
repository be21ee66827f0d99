package catalog

import (
	"errors"
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
