package selector

import (
	"slices"
	"testing"
	"time"
)

// zoned returns nodes l1..lL in zone z1 and r1..rR in zone z2.
func zoned(local, remote int) []tnode {
	var ns []tnode
	for i := range local {
		ns = append(ns, tnode{id: "l" + string(rune('1'+i)), md: map[string]string{"zone": "z1"}})
	}
	for i := range remote {
		ns = append(ns, tnode{id: "r" + string(rune('1'+i)), md: map[string]string{"zone": "z2"}})
	}
	return ns
}

func TestZone(t *testing.T) {
	tests := []struct {
		name          string
		local, remote int
		zone          string
		eject         []string
		want          map[string]int // of 12 round-robin picks
	}{
		{name: "local nodes only", local: 2, remote: 2, zone: "z1",
			want: map[string]int{"l1": 6, "l2": 6}},
		{name: "no zone set: every node", local: 2, remote: 2,
			want: map[string]int{"l1": 3, "l2": 3, "r1": 3, "r2": 3}},
		{name: "zone with no node: every node", local: 2, remote: 2, zone: "z9",
			want: map[string]int{"l1": 3, "l2": 3, "r1": 3, "r2": 3}},
		{name: "1 of 2 local ejected: half healthy, stays local", local: 2, remote: 2, zone: "z1", eject: []string{"l1"},
			want: map[string]int{"l2": 12}},
		{name: "2 of 2 local ejected: spills over", local: 2, remote: 2, zone: "z1", eject: []string{"l1", "l2"},
			want: map[string]int{"r1": 6, "r2": 6}},
		{name: "2 of 3 local ejected: below half, spills over to every healthy node", local: 3, remote: 2, zone: "z1", eject: []string{"l1", "l2"},
			want: map[string]int{"l3": 4, "r1": 4, "r2": 4}},
		{name: "remote zone's view", local: 2, remote: 2, zone: "z2",
			want: map[string]int{"r1": 6, "r2": 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", zoned(tt.local, tt.remote)...), WithStrategy(RoundRobin), WithZone(tt.zone),
				WithFailureThreshold(1), WithEjection(time.Minute, time.Minute), WithClock(newFakeClock().Now))
			wantCounts(t, countAfterEjecting(t, s, tt.eject, 1, 12), tt.want)
		})
	}
}

// TestZoneRetrySpillsOver: retries of one call try every local node, then
// the other zones, before repeating a node.
func TestZoneRetrySpillsOver(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", zoned(2, 2)...), WithStrategy(RoundRobin), WithZone("z1"))
	next, err := s.Select("svc")
	if err != nil {
		t.Fatal(err)
	}
	got := attempts(t, next, 6)
	// In pairs, each pair in any order: the locals, the remotes, the locals again.
	for k, want := range [][]string{{"l1", "l2"}, {"r1", "r2"}, {"l1", "l2"}} {
		pair := slices.Clone(got[2*k : 2*k+2])
		slices.Sort(pair)
		if !slices.Equal(pair, want) {
			t.Fatalf("attempts = %v: pair %d is %v, want %v", got, k, pair, want)
		}
	}
}

// TestZoneEveryStrategy: every strategy keeps to the local zone.
func TestZoneEveryStrategy(t *testing.T) {
	for _, strat := range Strategies {
		t.Run(string(strat), func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", zoned(2, 3)...), WithStrategy(strat), WithZone("z1"), withRand(seqRand(5)))
			got := counts(picks(t, s, "svc", 200, WithKey("k")))
			if got["r1"]+got["r2"]+got["r3"] != 0 || got["l1"]+got["l2"] != 200 {
				t.Fatalf("picks = %v, want only l1 and l2", got)
			}
		})
	}
}
