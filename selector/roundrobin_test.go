package selector

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRoundRobinAcrossSelects(t *testing.T) {
	tests := []struct {
		name  string
		nodes []tnode
		n     int
		want  string
	}{
		{name: "three nodes", nodes: nodes(3, ""), n: 7, want: "0,1,2,0,1,2,0"},
		{name: "weights ignored", nodes: []tnode{{id: "n0000", weight: "5"}, {id: "n0001", weight: "1"}}, n: 4, want: "0,1,0,1"},
		{name: "drained skipped", nodes: []tnode{{id: "n0000"}, {id: "n0001", weight: "0"}, {id: "n0002"}}, n: 4, want: "0,2,0,2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", tt.nodes...), WithStrategy(RoundRobin))
			got := picks(t, s, "svc", tt.n)
			for i := range got {
				got[i] = strings.TrimLeft(strings.TrimPrefix(got[i], "n"), "0")
				if got[i] == "" {
					got[i] = "0"
				}
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Fatalf("picks = %s, want %s", g, tt.want)
			}
		})
	}
}

func TestRoundRobinEvenFromRandomStart(t *testing.T) {
	r := newRegistry(t, "svc", nodes(3, "")...)
	s := New(withRegistryOpt(r), WithStrategy(RoundRobin))
	defer s.Close()
	got := counts(picks(t, s, "svc", 300))
	for id, c := range got {
		if c != 100 {
			t.Fatalf("node %s: %d picks of 300, want exactly 100 (%v)", id, c, got)
		}
	}
	if len(got) != 3 {
		t.Fatalf("picked %d nodes, want 3", len(got))
	}
}

// TestRoundRobinSharesAnEjectedNodesTurns checks that the surviving nodes
// split an ejected node's turns evenly instead of its neighbour taking them.
func TestRoundRobinSharesAnEjectedNodesTurns(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		weights  []string
		want     map[string]int // of 600 picks with n0001 ejected
	}{
		{name: "roundrobin", strategy: RoundRobin, weights: []string{"1", "1", "1", "1"}, want: map[string]int{"n0000": 200, "n0002": 200, "n0003": 200}},
		{name: "weighted 2/1/1/2", strategy: Weighted, weights: []string{"2", "1", "1", "2"}, want: map[string]int{"n0000": 240, "n0002": 120, "n0003": 240}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ns []tnode
			for i, w := range tt.weights {
				ns = append(ns, tnode{id: fmt.Sprintf("n%04d", i), weight: w})
			}
			s := newTest(t, newRegistry(t, "svc", ns...), WithStrategy(tt.strategy), WithFailureThreshold(1))
			pick(t, s, "svc")
			s.Mark("svc", node("n0001"), errors.New("refused"))
			got := counts(picks(t, s, "svc", 600))
			if len(got) != len(tt.want) {
				t.Fatalf("picks %v, want %v", got, tt.want)
			}
			for id, n := range tt.want {
				if d := got[id] - n; d < -2 || d > 2 {
					t.Fatalf("picks %v, want %v (±2)", got, tt.want)
				}
			}
		})
	}
}
