package selector

import (
	"testing"

	"go-micro.dev/v4/registry"
)

// TestWatching: a service is watched from its first Select on, and stays
// watched when every node leaves; a name the registry never knew is not.
func TestWatching(t *testing.T) {
	r := newRegistry(t, "svc", nodes(1, "")...)
	s := newTest(t, r)
	if s.Watching("svc") {
		t.Fatal("watched before any Select")
	}
	pick(t, s, "svc")
	if !s.Watching("svc") {
		t.Fatal("not watched after a Select")
	}
	if err := r.Deregister(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "n0000"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.lookup("svc").snap.Load().empty() })
	if !s.Watching("svc") {
		t.Fatal("not watched once its nodes are gone")
	}
	if _, err := s.Select("nosuch"); err == nil || s.Watching("nosuch") {
		t.Fatalf("unknown service: %v, watched %v", err, s.Watching("nosuch"))
	}
}
