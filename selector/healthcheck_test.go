package selector

import "testing"

// TestHealthCheckWarning: a node whose registry health check warns weighs a
// quarter of a passing node of the same weight, under every weighted
// strategy; with no warning the weights are untouched.
func TestHealthCheckWarning(t *testing.T) {
	warn := map[string]string{HealthCheckKey: HealthCheckWarning}
	tests := []struct {
		name  string
		nodes []tnode
		n     int
		want  map[string]int
	}{
		{name: "one of two warns", nodes: []tnode{{id: "a"}, {id: "b", md: warn}}, n: 50, want: map[string]int{"a": 40, "b": 10}},
		{name: "weights 3 and 1, the heavy one warns", nodes: []tnode{{id: "a", weight: "3", md: warn}, {id: "b", weight: "1"}}, n: 70, want: map[string]int{"a": 30, "b": 40}},
		{name: "all warn: shares unchanged", nodes: []tnode{{id: "a", weight: "2", md: warn}, {id: "b", md: warn}}, n: 30, want: map[string]int{"a": 20, "b": 10}},
		{name: "none warns", nodes: []tnode{{id: "a", weight: "2"}, {id: "b"}}, n: 30, want: map[string]int{"a": 20, "b": 10}},
		{name: "other values are passing", nodes: []tnode{{id: "a", md: map[string]string{HealthCheckKey: "passing"}}, {id: "b"}}, n: 20, want: map[string]int{"a": 10, "b": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", tt.nodes...), WithStrategy(Weighted))
			got := counts(picks(t, s, "svc", tt.n))
			for id, want := range tt.want {
				if got[id] != want {
					t.Fatalf("counts = %v, want %v", got, tt.want)
				}
			}
		})
	}
	// Random follows the same weights (seeded; within ±0.03).
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a"}, tnode{id: "b", md: warn}), WithStrategy(Random), withRand(seqRand(7)))
	wantShares(t, counts(picks(t, s, "svc", 10000)), map[string]float64{"b": 0.2}, 0.03)
}
