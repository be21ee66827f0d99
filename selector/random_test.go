package selector

import "testing"

func TestRandomDistribution(t *testing.T) {
	tests := []struct {
		name  string
		nodes []tnode
		want  map[string]float64 // expected shares
	}{
		{name: "uniform", nodes: nodes(4, ""), want: map[string]float64{"n0000": .25, "n0001": .25, "n0002": .25, "n0003": .25}},
		{name: "weighted 3/1", nodes: []tnode{{id: "a", weight: "3"}, {id: "b", weight: "1"}}, want: map[string]float64{"a": .75, "b": .25}},
		{name: "drained never", nodes: []tnode{{id: "a"}, {id: "b", weight: "0"}}, want: map[string]float64{"a": 1}},
	}
	const n = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", tt.nodes...), WithStrategy(Random), withRand(seqRand(42)))
			got := counts(picks(t, s, "svc", n))
			wantShares(t, got, tt.want, 0.02)
			if len(got) != len(tt.want) {
				t.Fatalf("picked %v, want only %v", got, tt.want)
			}
		})
	}
}
