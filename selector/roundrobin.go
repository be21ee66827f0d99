package selector

// roundRobinBalancer walks the active nodes in id order. The first pick of a
// Select takes the next slot of a per-service atomic counter, which starts at
// a random offset and survives snapshot rebuilds, so successive calls rotate
// through the nodes (go-micro's RoundRobin restarts at random on every Select,
// which makes it random across calls). Later picks of the same Select continue
// from where the previous one stopped, so a retry lands on the next node.
type roundRobinBalancer struct{}

func (roundRobinBalancer) pick(c *call) int {
	n := c.snap.nActive
	if n == 0 {
		return -1
	}
	start := int(c.pos) + 1
	if c.first() {
		start = int((c.svc.rr.Add(1) - 1) % uint64(n))
	}
	for k := range n {
		if i := (start + k) % n; c.usable(i) {
			c.pos = int32(i)
			return i
		}
	}
	return -1
}
