package selector

import (
	"testing"
	"time"

	"go-micro.dev/v4/registry"
)

// slowStartFixture serves a with strategy strat and slow start of 10 s, then
// lets b join at the fake clock's start.
func slowStartFixture(t *testing.T, strat Strategy) (*Selector, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	r := newRegistry(t, "svc", tnode{id: "a"})
	s := newTest(t, r, WithStrategy(strat), WithSlowStart(10*time.Second), WithClock(clock.Now), withRand(seqRand(3)))
	pick(t, s, "svc")
	if err := r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "b", Address: "10.0.9.9:1"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok := s.lookup("svc").snap.Load().byID["b"]; return ok })
	return s, clock
}

func TestSlowStartWeighted(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		n     int
		want  map[string]int
	}{
		{name: "just joined: 10 % of its weight", after: 0, n: 22, want: map[string]int{"a": 20, "b": 2}},
		{name: "half way: 50 %", after: 5 * time.Second, n: 30, want: map[string]int{"a": 20, "b": 10}},
		{name: "half way plus a bit: same step", after: 5*time.Second + 900*time.Millisecond, n: 30, want: map[string]int{"a": 20, "b": 10}},
		{name: "window over: full weight", after: 10 * time.Second, n: 10, want: map[string]int{"a": 5, "b": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := slowStartFixture(t, Weighted)
			clock.Advance(tt.after)
			if got := counts(picks(t, s, "svc", tt.n)); got["a"] != tt.want["a"] || got["b"] != tt.want["b"] {
				t.Fatalf("picks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSlowStartRandom(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		wantB float64 // b's share
	}{
		{name: "just joined", after: 0, wantB: 1.0 / 11},
		{name: "half way", after: 5 * time.Second, wantB: 1.0 / 3},
		{name: "window over", after: 10 * time.Second, wantB: 0.5},
	}
	const n = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := slowStartFixture(t, Random)
			clock.Advance(tt.after)
			got := counts(picks(t, s, "svc", n))
			wantShares(t, got, map[string]float64{"b": tt.wantB}, 0.02)
		})
	}
}

func TestSlowStartLeastLoaded(t *testing.T) {
	tests := []struct {
		name    string
		after   time.Duration
		wantMin int // b's picks of 100 are at least
		wantMax int // and at most
	}{
		{name: "ramping: b's cost is divided by its ramped weight", after: 5 * time.Second, wantMin: 0, wantMax: 0},
		{name: "window over: equal costs, both picked", after: 10 * time.Second, wantMin: 20, wantMax: 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := slowStartFixture(t, LeastLoaded)
			clock.Advance(tt.after)
			sample(s, clock, "a", 0) // equal latency samples at the same instant
			sample(s, clock, "b", 0)
			if got := counts(picks(t, s, "svc", 100))["b"]; got < tt.wantMin || got > tt.wantMax {
				t.Fatalf("b picked %d times of 100, want %d..%d", got, tt.wantMin, tt.wantMax)
			}
		})
	}
}

func TestSlowStartNotForFirstLoad(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a"}, tnode{id: "b"}), WithStrategy(Weighted),
		WithSlowStart(10*time.Second), WithClock(newFakeClock().Now))
	if got := counts(picks(t, s, "svc", 10)); got["a"] != 5 || got["b"] != 5 {
		t.Fatalf("picks = %v, want a:5 b:5", got)
	}
}

func TestSlowStartOffByDefault(t *testing.T) {
	clock := newFakeClock()
	r := newRegistry(t, "svc", tnode{id: "a"})
	s := newTest(t, r, WithStrategy(Weighted), WithClock(clock.Now))
	pick(t, s, "svc")
	if err := r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "b", Address: "10.0.9.9:1"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok := s.lookup("svc").snap.Load().byID["b"]; return ok })
	if got := counts(picks(t, s, "svc", 10)); got["a"] != 5 || got["b"] != 5 {
		t.Fatalf("picks = %v, want a:5 b:5", got)
	}
}
