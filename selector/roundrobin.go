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
	if c.first() {
		// An unusable slot takes the next slot of the counter rather than
		// handing its turn to its neighbour, so the other nodes share an
		// ejected node's turns evenly.
		for range n {
			if i := int((c.svc.rr.Add(1) - 1) % uint64(n)); c.usable(i) {
				c.pos = int32(i)
				return i
			}
		}
	}
	start := int(c.pos) + 1
	for k := range n {
		if i := (start + k) % n; c.usable(i) {
			c.pos = int32(i)
			return i
		}
	}
	return -1
}
