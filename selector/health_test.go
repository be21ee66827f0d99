package selector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
)

// TestIsFailure: which errors count against a node (true) and which do not.
func TestIsFailure(t *testing.T) {
	for want, errs := range map[bool]map[string]error{
		true: {
			"transport EOF":                  io.EOF,
			"connection refused text":        errors.New("dial tcp 127.0.0.1:1: connect: connection refused"),
			"client connection error 500":    merrors.InternalServerError("go.micro.client", "connection error: refused"),
			"handler 500":                    merrors.InternalServerError("greeter", "boom"),
			"503":                            merrors.New("greeter", "down", 503),
			"timeout 408":                    merrors.Timeout("go.micro.client", "context deadline exceeded"),
			"wrapped 500":                    fmt.Errorf("call: %w", merrors.InternalServerError("x", "y")),
			"ErrAttemptTimeout":              ErrAttemptTimeout,
			"wrapped ErrAttemptTimeout":      fmt.Errorf("attempt 2: %w", ErrAttemptTimeout),
			"ErrAttemptTimeout as JSON text": errors.New(ErrAttemptTimeout.Error()),
			"context.DeadlineExceeded":       context.DeadlineExceeded,
			"wrapped DeadlineExceeded":       fmt.Errorf("dial: %w", context.DeadlineExceeded),
			"408 call timeout deadline":      merrors.Timeout("go.micro.client", "call timeout: context deadline exceeded"),
			"408 other detail":               merrors.Timeout("greeter", "took too long"),
			"500 detail deadline exceeded":   merrors.InternalServerError("go.micro.client", "read: i/o deadline exceeded"),
			"text deadline exceeded":         errors.New("read tcp: i/o timeout: deadline exceeded"),
		},
		false: {
			"nil":                            nil,
			"caller canceled 408":            merrors.Timeout("go.micro.client", "context canceled"),
			"context.Canceled":               context.Canceled,
			"application 400":                merrors.BadRequest("greeter", "bad name"),
			"application 404":                merrors.NotFound("greeter", "no such user"),
			"application error as JSON text": errors.New(merrors.Forbidden("greeter", "no").Error()),
			"wrapped context.Canceled":       fmt.Errorf("dial: %w", context.Canceled),
			"408 call timeout canceled":      merrors.Timeout("go.micro.client", "call timeout: context canceled"),
			"408 as JSON text, canceled":     errors.New(merrors.Timeout("go.micro.client", "context canceled").Error()),
			"text context canceled":          errors.New("rpc: context canceled"),
		},
	} {
		for name, err := range errs {
			t.Run(name, func(t *testing.T) {
				if got := IsFailure(err); got != want {
					t.Fatalf("IsFailure(%v) = %v, want %v", err, got, want)
				}
			})
		}
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

// countAfterEjecting loads "svc", fails each node of eject failures times
// and counts the nodes of n Selects.
func countAfterEjecting(t *testing.T, s *Selector, eject []string, failures, n int) map[string]int {
	t.Helper()
	pick(t, s, "svc")
	for _, id := range eject {
		failNode(s, id, failures)
	}
	return counts(picks(t, s, "svc", n))
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
		nodes   int
		eject   []string
		wantHit map[string]int // of 12 round-robin picks
	}{
		{name: "1 of 4 ejected is skipped", nodes: 4, eject: []string{"n0000"},
			wantHit: map[string]int{"n0001": 4, "n0002": 4, "n0003": 4}},
		{name: "2 of 4 ejected: half healthy, still skipped", nodes: 4, eject: []string{"n0000", "n0001"},
			wantHit: map[string]int{"n0002": 6, "n0003": 6}},
		{name: "3 of 4 ejected: panic, all used", nodes: 4, eject: []string{"n0000", "n0001", "n0002"},
			wantHit: map[string]int{"n0000": 3, "n0001": 3, "n0002": 3, "n0003": 3}},
		{name: "4 of 4 ejected: panic, all used", nodes: 4, eject: []string{"n0000", "n0001", "n0002", "n0003"},
			wantHit: map[string]int{"n0000": 3, "n0001": 3, "n0002": 3, "n0003": 3}},
		{name: "1 of 2 ejected: the healthy node takes all", nodes: 2, eject: []string{"n0000"},
			wantHit: map[string]int{"n0001": 12}},
		{name: "2 of 2 ejected: panic, both used", nodes: 2, eject: []string{"n0000", "n0001"},
			wantHit: map[string]int{"n0000": 6, "n0001": 6}},
		{name: "2 of 3 ejected: panic, all used", nodes: 3, eject: []string{"n0000", "n0001"},
			wantHit: map[string]int{"n0000": 4, "n0001": 4, "n0002": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", nodes(tt.nodes, "")...), WithStrategy(RoundRobin),
				WithFailureThreshold(2), WithEjection(10*time.Second, 30*time.Second), WithClock(newFakeClock().Now))
			wantCounts(t, countAfterEjecting(t, s, tt.eject, 2, 12), tt.wantHit)
		})
	}
}

// TestRetryAvoidsEjected: with 2 nodes and 1 ejected, a retry of the same
// Select goes back to the healthy node rather than to the ejected one.
func TestRetryAvoidsEjected(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(2, "")...), WithStrategy(RoundRobin),
		WithFailureThreshold(1), WithClock(newFakeClock().Now))
	pick(t, s, "svc")
	failNode(s, "n0000", 1)
	next, err := s.Select("svc")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attempts(t, next, 3), []string{"n0001", "n0001", "n0001"}; !slices.Equal(got, want) {
		t.Fatalf("attempts = %v, want %v", got, want)
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

// TestMarkBeforeSelect: marks before the first Select of a service count.
func TestMarkBeforeSelect(t *testing.T) {
	tests := []struct {
		name  string
		marks int
		want  map[string]int // of 6 round-robin picks
	}{
		{name: "threshold marks eject", marks: 2, want: map[string]int{"n0000": 3, "n0002": 3}},
		{name: "fewer do not", marks: 1, want: map[string]int{"n0000": 2, "n0001": 2, "n0002": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", nodes(3, "")...), WithStrategy(RoundRobin),
				WithFailureThreshold(2), WithClock(newFakeClock().Now))
			failNode(s, "n0001", tt.marks)
			wantCounts(t, counts(picks(t, s, "svc", 6)), tt.want)
		})
	}
	t.Run("unknown service is ignored", func(t *testing.T) {
		s := newTest(t, newRegistry(t, "svc", nodes(1, "")...))
		s.Mark("nosuch", node("x"), io.EOF)
		if s.Watching("nosuch") {
			t.Fatal("a Mark for an unknown service started watching it")
		}
	})
}
