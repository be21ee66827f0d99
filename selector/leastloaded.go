package selector

import "math"

// LeastLoaded is power-of-two-choices over in-flight calls and EWMA latency.
const LeastLoaded Strategy = "leastloaded"

// leastLoadedBalancer is power-of-two-choices, as Envoy, Kratos and go-zero
// do it, over Finagle's and Linkerd's peak-EWMA cost: draw two distinct nodes
// that the call accepts, at random, and keep the one with the lower
//
//	cost = latency × (in-flight + 1) ÷ weight
//
// where latency is the node's peak EWMA (see nodeState.observe: a slow sample
// raises it at once, faster ones pull it down with a time constant of
// WithLatencyDecay, default 10 s) further decayed toward zero by the time
// since its last update, so that a node that lost its traffic is probed again.
// A node with no sample yet costs 0 while it has nothing in flight (a new node
// gets probed) and a penalty above any measured cost, growing with its
// in-flight count, while it has: a stalled node repels new picks through its
// in-flight count before a single one of its calls completes.
//
// With steady per-node latencies L the estimate converges to L, and P2C
// converges to the split where L × (in-flight + 1) ÷ weight is about equal
// across nodes: under light load the faster node of each pair wins, under
// heavy load a node k times as slow holds about 1/k of the in-flight calls of
// a fast one (so, by Little's law, about 1/k² of the rate). The in-flight
// counts and latencies come from the LoadReporter call wrapper (or
// Selector.Track); with no data at all every cost is 0 and the pick is random.
type leastLoadedBalancer struct{}

// noSamplePenalty is the cost of a node with calls in flight and no latency
// sample yet: more than any latency a node reports (about 290 years in ns).
const noSamplePenalty = float64(1 << 53)

func (leastLoadedBalancer) pick(c *call, ok accept) int {
	a := c.draw(ok, false, -1)
	if a < 0 || c.snap.nActive == 1 {
		return a
	}
	if b := c.draw(ok, false, a); b >= 0 && c.load(b) < c.load(a) {
		return b
	}
	return a
}

// load is node i's least-loaded cost; lower is better.
func (c *call) load(i int) float64 {
	st := c.snap.nodes[i]
	pending := float64(st.inflight.Load())
	ewma := st.ewma.Load()
	if ewma == 0 {
		if pending > 0 {
			return noSamplePenalty + pending
		}
		return 0
	}
	lat := float64(ewma)
	if age := c.clock() - st.ewmaAt.Load(); age > 0 {
		lat *= math.Exp(-float64(age) / float64(c.cfg.decay))
	}
	w := float64(c.snap.weight[i])
	if c.ramping() {
		w = c.effWeight(i)
	}
	return lat * (pending + 1) / w
}
