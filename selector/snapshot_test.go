package selector

import (
	"fmt"
	"strconv"
	"testing"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

func TestParseWeight(t *testing.T) {
	tests := []struct {
		name   string
		md     map[string]string
		want   int
		wantOK bool
	}{
		{name: "missing key", md: nil, want: 1, wantOK: true},
		{name: "plain", md: map[string]string{"weight": "5"}, want: 5, wantOK: true},
		{name: "spaces", md: map[string]string{"weight": " 7 "}, want: 7, wantOK: true},
		{name: "drained", md: map[string]string{"weight": "0"}, want: 0, wantOK: true},
		{name: "negative", md: map[string]string{"weight": "-3"}, want: 1, wantOK: false},
		{name: "letters", md: map[string]string{"weight": "abc"}, want: 1, wantOK: false},
		{name: "exponent", md: map[string]string{"weight": "1e9"}, want: 1, wantOK: false},
		{name: "empty", md: map[string]string{"weight": ""}, want: 1, wantOK: false},
		{name: "fraction", md: map[string]string{"weight": "2.5"}, want: 1, wantOK: false},
		{name: "clamped", md: map[string]string{"weight": "1000000000"}, want: MaxWeight, wantOK: true},
		{name: "overflow clamped", md: map[string]string{"weight": "99999999999999999999999"}, want: MaxWeight, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseWeight(tt.md)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("parseWeight(%v) = %d, %v; want %d, %v", tt.md, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseWeight(f *testing.F) {
	for _, s := range []string{"1", "0", "-3", "abc", "1e9", "", " 5", "99999999999999999999", "+4", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, ok := parseWeight(map[string]string{"weight": s})
		if w < 0 || w > MaxWeight {
			t.Fatalf("parseWeight(%q) = %d outside [0, %d]", s, w, MaxWeight)
		}
		if !ok && w != 1 {
			t.Fatalf("parseWeight(%q) = %d, not ok, want 1", s, w)
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= MaxWeight && (w != n || !ok) {
			t.Fatalf("parseWeight(%q) = %d, %v; want %d, true", s, w, ok, n)
		}
	})
}

// countingLogger counts warnings.
type countingLogger struct {
	logger.Logger
	warns int
}

func (l *countingLogger) Logf(level logger.Level, format string, v ...any) {
	if level == logger.WarnLevel {
		l.warns++
	}
}

func TestGarbageRegistryInput(t *testing.T) {
	mk := func(id, addr, weight string) *registry.Node {
		return &registry.Node{Id: id, Address: addr, Metadata: map[string]string{"weight": weight}}
	}
	services := []*registry.Service{
		{Name: "svc", Version: "v1", Nodes: []*registry.Node{
			mk("neg", "10.0.0.1:1", "-3"),
			mk("abc", "10.0.0.2:1", "abc"),
			mk("exp", "10.0.0.3:1", "1e9"),
			mk("empty", "10.0.0.4:1", ""),
			mk("noaddr", "", "4"),
			mk("dup", "10.0.0.5:1", "2"),
			nil,
		}},
		{Name: "svc", Version: "v2", Nodes: []*registry.Node{mk("dup", "10.0.0.6:1", "9")}},
		nil,
	}
	log := &countingLogger{Logger: logger.DefaultLogger}
	states, warned := map[string]*nodeState{}, map[string]bool{}
	snap := buildSnapshot(services, states, warned, log, 0)
	want := map[string]int{"neg": 1, "abc": 1, "exp": 1, "empty": 1, "dup": 2}
	if len(snap.nodes) != len(want) {
		t.Fatalf("%d nodes in the snapshot, want %d", len(snap.nodes), len(want))
	}
	for id, w := range want {
		i, ok := snap.byID[id]
		if !ok || snap.weight[i] != w {
			t.Fatalf("node %s: present %v weight %d, want weight %d", id, ok, snap.weight[i], w)
		}
	}
	if snap.reg[snap.byID["dup"]].Address != "10.0.0.5:1" {
		t.Fatal("the first of the duplicate ids should win")
	}
	if log.warns != 6 { // 4 bad weights, 1 missing address, 1 duplicate
		t.Fatalf("%d warnings, want 6", log.warns)
	}
	buildSnapshot(services, states, warned, log, 0) // a rebuild warns no more
	if log.warns != 6 {
		t.Fatalf("%d warnings after a rebuild, want still 6", log.warns)
	}
}

func TestTenThousandNodes(t *testing.T) {
	const n = 10000
	r := registry.NewMemoryRegistry()
	ns := make([]*registry.Node, n)
	for i := range ns {
		ns[i] = &registry.Node{Id: fmt.Sprintf("n%05d", i), Address: fmt.Sprintf("10.%d.%d.%d:80", i/65536, i/256%256, i%256), Metadata: map[string]string{"weight": strconv.Itoa(1 + i%3)}}
	}
	if err := r.Register(&registry.Service{Name: "big", Nodes: ns}); err != nil {
		t.Fatal(err)
	}
	s := newTest(t, r, withRand(seqRand(3)))
	for _, strat := range Strategies {
		t.Run(string(strat), func(t *testing.T) {
			seen := map[string]bool{}
			for k := range 300 {
				seen[pick(t, s, "big", UseStrategy(strat), WithKey(strconv.Itoa(k)))] = true
			}
			if len(seen) < 50 {
				t.Fatalf("300 picks reached only %d of %d nodes", len(seen), n)
			}
		})
	}
	snap := s.lookup("big").snap.Load()
	if len(ringOf(snap)) > maxRingSize+n {
		t.Fatalf("ring of %d entries exceeds the cap", len(ringOf(snap)))
	}
	// A period of 20,000 picks over 10,000 nodes costs 2e8 steps to
	// precompute: over maxWRRWork, so Weighted runs nginx's loop instead.
	if wrrOf(snap).seq != nil {
		t.Fatalf("weights 1..3 over %d nodes should use the fallback", n)
	}
}
