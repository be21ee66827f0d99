package selector

import (
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
