package selector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
)

func TestIsFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "transport EOF", err: io.EOF, want: true},
		{name: "connection refused text", err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), want: true},
		{name: "client connection error 500", err: merrors.InternalServerError("go.micro.client", "connection error: refused"), want: true},
		{name: "handler 500", err: merrors.InternalServerError("greeter", "boom"), want: true},
		{name: "503", err: merrors.New("greeter", "down", 503), want: true},
		{name: "timeout 408", err: merrors.Timeout("go.micro.client", "context deadline exceeded"), want: true},
		{name: "caller canceled 408", err: merrors.Timeout("go.micro.client", "context canceled"), want: false},
		{name: "context.Canceled", err: context.Canceled, want: false},
		{name: "application 400", err: merrors.BadRequest("greeter", "bad name"), want: false},
		{name: "application 404", err: merrors.NotFound("greeter", "no such user"), want: false},
		{name: "application error as JSON text", err: errors.New(merrors.Forbidden("greeter", "no").Error()), want: false},
		{name: "wrapped 500", err: fmt.Errorf("call: %w", merrors.InternalServerError("x", "y")), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsFailure(tt.err); got != tt.want {
				t.Fatalf("IsFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// healthFixture is a 4-node round-robin selector with threshold 2 and
// ejections of 10 s (max 30 s) on a fake clock.
func healthFixture(t *testing.T) (*Selector, *fakeClock) {
	clock := newFakeClock()
	s := newTest(t, newRegistry(t, "svc", nodes(4, "")...), WithStrategy(RoundRobin),
		WithFailureThreshold(2), WithEjection(10*time.Second, 30*time.Second), WithClock(clock.Now))
	pick(t, s, "svc") // load it
	return s, clock
}

func node(id string) *registry.Node { return &registry.Node{Id: id} }

func failNode(s *Selector, id string, n int) {
	for range n {
		s.Mark("svc", node(id), io.EOF)
	}
}

func TestEjectionAndRecovery(t *testing.T) {
	s, clock := healthFixture(t)
	failNode(s, "n0001", 1)
	if got := counts(picks(t, s, "svc", 8)); got["n0001"] != 2 {
		t.Fatalf("one failure below the threshold: picks %v, want n0001 twice", got)
	}
	failNode(s, "n0001", 1)
	if got := counts(picks(t, s, "svc", 9)); got["n0001"] != 0 || got["n0000"]+got["n0002"]+got["n0003"] != 9 {
		t.Fatalf("ejected node picked: %v", got)
	}
	st := stats(t, s, "n0001")
	if st.Health != HealthEjected || !st.EjectedUntil.Equal(clock.Now().Add(10*time.Second)) {
		t.Fatalf("stats = %s until %v, want ejected for 10s", st.Health, st.EjectedUntil)
	}

	clock.Advance(10 * time.Second)
	if got := counts(picks(t, s, "svc", 8)); got["n0001"] != 2 {
		t.Fatalf("after the ejection time: picks %v, want n0001 back", got)
	}

	// Ejected again right away: base × 2.
	failNode(s, "n0001", 2)
	if st := stats(t, s, "n0001"); !st.EjectedUntil.Equal(clock.Now().Add(20 * time.Second)) {
		t.Fatalf("second ejection until %v, want now+20s", st.EjectedUntil)
	}
	// Third and fourth: capped at 30 s.
	clock.Advance(20 * time.Second)
	failNode(s, "n0001", 2)
	clock.Advance(30 * time.Second)
	failNode(s, "n0001", 2)
	if st := stats(t, s, "n0001"); !st.EjectedUntil.Equal(clock.Now().Add(30 * time.Second)) {
		t.Fatalf("capped ejection until %v, want now+30s", st.EjectedUntil)
	}

	s.Reset("svc")
	if st := stats(t, s, "n0001"); st.Health != HealthHealthy {
		t.Fatalf("after Reset: %s", st.Health)
	}
}

func TestSuccessResetsFailures(t *testing.T) {
	s, _ := healthFixture(t)
	s.Mark("svc", node("n0002"), io.EOF)
	s.Mark("svc", node("n0002"), nil)
	s.Mark("svc", node("n0002"), io.EOF)
	s.Mark("svc", node("n0002"), merrors.NotFound("svc", "app error"))
	if st := stats(t, s, "n0002"); st.Health != HealthHealthy || st.Failures != 0 {
		t.Fatalf("health %s with %d failures, want healthy and 0", st.Health, st.Failures)
	}
}

func TestPanicThreshold(t *testing.T) {
	tests := []struct {
		name    string
		eject   []string
		wantHit int // distinct nodes reached by 8 picks
	}{
		{name: "1 of 4 ejected is skipped", eject: []string{"n0000"}, wantHit: 3},
		{name: "2 of 4 ejected: panic, all used", eject: []string{"n0000", "n0001"}, wantHit: 4},
		{name: "4 of 4 ejected: panic, all used", eject: []string{"n0000", "n0001", "n0002", "n0003"}, wantHit: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := healthFixture(t)
			for _, id := range tt.eject {
				failNode(s, id, 2)
			}
			if got := counts(picks(t, s, "svc", 8)); len(got) != tt.wantHit {
				t.Fatalf("picks reached %d nodes (%v), want %d", len(got), got, tt.wantHit)
			}
		})
	}
}

func stats(t *testing.T, s *Selector, id string) NodeStats {
	t.Helper()
	for _, svc := range s.Stats() {
		for _, n := range svc.Nodes {
			if n.ID == id {
				return n
			}
		}
	}
	t.Fatalf("node %s not in Stats", id)
	return NodeStats{}
}
