package selector

import (
	"strings"
	"testing"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

// FuzzBuildSnapshot feeds registry metadata of any shape (one node per
// line, "id|address|weight|zone", up to 64 nodes) to buildSnapshot and
// checks the snapshot every pick relies on: unique ids, no node without an
// address, weights within [0, MaxWeight] with the active tier first, exact
// totals, and a ring and a smooth weighted round-robin period that refer to
// active nodes only, each in proportion to its weight.
func FuzzBuildSnapshot(f *testing.F) {
	f.Add("a|10.0.0.1:80|5|z1\nb|10.0.0.2:80|1|z2\nc|10.0.0.3:80|1|")
	f.Add("a|10.0.0.1:80|-3\nb|10.0.0.2:80|abc\nc|10.0.0.3:80|1e9\nd|10.0.0.4:80|")
	f.Add("dup|10.0.0.1:80|2\ndup|10.0.0.2:80|9\nnoaddr||4")
	f.Add("x|10.0.0.1:80|0\ny|10.0.0.2:80|0")
	f.Add("big|10.0.0.1:80|10000\nsmall|10.0.0.2:80|9999\n|10.0.0.3:80|7")
	f.Add("w|10.0.0.1:80| 7 \nv|10.0.0.2:80|+4\nu|10.0.0.3:80|0x10")
	f.Fuzz(func(t *testing.T, spec string) {
		var nodes []*registry.Node
		inputIDs := map[string]bool{}
		for i, line := range strings.Split(spec, "\n") {
			if i == 64 {
				break
			}
			p := strings.SplitN(line, "|", 4)
			for len(p) < 4 {
				p = append(p, "")
			}
			md := map[string]string{"zone": p[3]}
			if p[2] != "-" {
				md["weight"] = p[2]
			}
			nodes = append(nodes, &registry.Node{Id: p[0], Address: p[1], Metadata: md})
			if p[1] != "" {
				inputIDs[p[0]] = true
			}
		}
		services := []*registry.Service{{Name: "svc", Nodes: nodes}}
		states, warned := map[string]*nodeState{}, map[string]bool{}
		s := buildSnapshot(services, states, warned, logger.NewLogger(logger.WithLevel(logger.FatalLevel)), 0)
		if len(s.nodes) != len(inputIDs) || len(s.byID) != len(s.nodes) || len(states) != len(s.nodes) {
			t.Fatalf("%d nodes, %d ids, %d states; want %d distinct ids with an address", len(s.nodes), len(s.byID), len(states), len(inputIDs))
		}
		total := 0
		for i, st := range s.nodes {
			w := s.weight[i]
			if s.reg[i].Address == "" || st.address != s.reg[i].Address || st.id != s.reg[i].Id || s.byID[st.id] != i {
				t.Fatalf("node %d: %+v / %+v", i, st, s.reg[i])
			}
			if w < 0 || w > MaxWeight || (i < s.nActive) != (w > 0) {
				t.Fatalf("node %d weight %d with %d active", i, w, s.nActive)
			}
			if i < s.nActive {
				total += w
			}
		}
		if total != s.totalWeight || len(s.cum) != s.nActive || s.nActive > 0 && s.cum[s.nActive-1] != total {
			t.Fatalf("total %d, cum %v, want %d", s.totalWeight, s.cum, total)
		}
		for _, e := range ringOf(s) {
			if int(e.node) < 0 || int(e.node) >= s.nActive {
				t.Fatalf("ring entry %+v outside the %d active nodes", e, s.nActive)
			}
		}
		if seq := wrrOf(s).seq; seq != nil {
			count := make([]int, s.nActive)
			for _, i := range seq {
				if int(i) >= s.nActive {
					t.Fatalf("wrr index %d outside the %d active nodes", i, s.nActive)
				}
				count[i]++
			}
			for i := range count {
				// One period holds each node weight/g times, g the gcd.
				if count[i]*s.weight[0] != count[0]*s.weight[i] {
					t.Fatalf("wrr period %v for weights %v", count, s.weight[:s.nActive])
				}
			}
		}
	})
}
