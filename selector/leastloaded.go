package selector

// leastLoadedBalancer is power-of-two-choices, as Envoy, Kratos and go-zero
// do it: draw two distinct usable nodes at random and keep the one with the
// lower load, where load is (in-flight + 1) × EWMA latency ÷ weight. The
// in-flight counts and latencies come from the LoadReporter call wrapper (or
// Selector.Track). With no data yet every load is equal and the pick is
// random; a node with no latency sample yet wins over one that has, so a new
// node gets probed.
type leastLoadedBalancer struct{}

func (leastLoadedBalancer) pick(c *call) int {
	n := c.snap.nActive
	a := c.uniformUsable(-1)
	if a < 0 || n == 1 {
		return a
	}
	b := c.uniformUsable(a)
	if b >= 0 && c.load(b) < c.load(a) {
		return b
	}
	return a
}

// uniformUsable draws a usable active node other than not, uniformly: a few
// random draws, then a scan from a random start. It returns -1 if none.
func (c *call) uniformUsable(not int) int {
	n := c.snap.nActive
	if n == 0 {
		return -1
	}
	for range 3 {
		if i := c.cfg.randN(n); i != not && c.usable(i) {
			return i
		}
	}
	start := c.cfg.randN(n)
	for k := range n {
		if i := (start + k) % n; i != not && c.usable(i) {
			return i
		}
	}
	return -1
}

// load is node i's least-loaded score; lower is better.
func (c *call) load(i int) float64 {
	st := c.snap.nodes[i]
	return float64(st.inflight.Load()+1) * float64(max(st.ewma.Load(), 1)) / float64(c.snap.weight[i])
}
