package selector

import (
	"math"
	"testing"
	"time"
)

// llFixture is a LeastLoaded selector over nodes a and b on a fake clock.
func llFixture(t *testing.T) (*Selector, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a"}, tnode{id: "b"}),
		WithStrategy(LeastLoaded), WithClock(clock.Now), withRand(seqRand(7)))
	pick(t, s, "svc")
	return s, clock
}

// sample completes one tracked call of d on id.
func sample(s *Selector, clock *fakeClock, id string, d time.Duration) {
	done := s.Track("svc", node(id))
	clock.Advance(d)
	done()
}

func TestLeastLoadedStall(t *testing.T) {
	tests := []struct {
		name     string
		samples  []latency      // completed calls, in order
		inflight map[string]int // then calls left in flight, per node
		want     map[string]int // of 100 picks
	}{
		{name: "stalled node with calls in flight and no sample loses to an idle one",
			samples: []latency{{"b", 5 * time.Millisecond}}, inflight: map[string]int{"a": 50}, want: map[string]int{"b": 100}},
		{name: "stalled node with a fast sample and 10 in flight loses to a slower idle one",
			samples: []latency{{"a", time.Millisecond}, {"b", 5 * time.Millisecond}}, inflight: map[string]int{"a": 10}, want: map[string]int{"b": 100}},
		{name: "a new node with nothing in flight is probed",
			samples: []latency{{"a", time.Millisecond}}, want: map[string]int{"b": 100}},
		{name: "one slow sample is a peak: the node loses at once",
			samples: []latency{{"a", time.Millisecond}, {"b", 2 * time.Millisecond}, {"a", 2 * time.Second}}, want: map[string]int{"b": 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := llFixture(t)
			for _, l := range tt.samples {
				sample(s, clock, l.id, l.d)
			}
			for id, n := range tt.inflight {
				defer hold(s, id, n)()
			}
			wantCounts(t, counts(picks(t, s, "svc", 100)), tt.want)
		})
	}
}

// latency is one completed call of d on node id.
type latency struct {
	id string
	d  time.Duration
}

// hold starts n tracked calls on id and returns the function ending them.
func hold(s *Selector, id string, n int) func() {
	var done []func()
	for range n {
		done = append(done, s.Track("svc", node(id)))
	}
	return func() {
		for _, d := range done {
			d()
		}
	}
}

func TestPeakEWMA(t *testing.T) {
	const decay = 10 * time.Second
	e1 := math.Exp(-1)
	tests := []struct {
		name    string
		samples []struct{ at, d time.Duration } // at: time since the start
		want    int64
	}{
		{name: "first sample is the estimate", samples: []struct{ at, d time.Duration }{{0, 10 * time.Millisecond}}, want: int64(10 * time.Millisecond)},
		{name: "a higher sample replaces it at once", samples: []struct{ at, d time.Duration }{{0, 10 * time.Millisecond}, {time.Millisecond, time.Second}}, want: int64(time.Second)},
		{
			name:    "a lower sample one decay later is averaged with weight 1-1/e",
			samples: []struct{ at, d time.Duration }{{0, 100 * time.Millisecond}, {decay, 10 * time.Millisecond}},
			want:    int64(float64(100*time.Millisecond)*e1 + float64(10*time.Millisecond)*(1-e1)),
		},
		{
			name:    "a lower sample at the same instant leaves it",
			samples: []struct{ at, d time.Duration }{{0, 100 * time.Millisecond}, {0, 10 * time.Millisecond}},
			want:    int64(100 * time.Millisecond),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &nodeState{}
			start := time.Unix(1_700_000_000, 0).UnixNano()
			for _, sm := range tt.samples {
				st.observe(sm.d, start+int64(sm.at), decay)
			}
			if got := st.ewma.Load(); got != tt.want {
				t.Fatalf("ewma = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLeastLoadedCostDecaysWhenRead(t *testing.T) {
	s, clock := llFixture(t)
	sample(s, clock, "a", 100*time.Millisecond)
	clock.Advance(DefaultLatencyDecay)
	c := &call{cfg: s.cfg.Load(), svc: s.lookup("svc"), snap: s.lookup("svc").snap.Load()}
	i := c.snap.byID["a"]
	if got, want := c.load(i), float64(100*time.Millisecond)*math.Exp(-1); math.Abs(got-want) > 1 {
		t.Fatalf("cost after one decay = %.0f, want %.0f", got, want)
	}
}
