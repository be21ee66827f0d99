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
		if i := c.counterPick(&c.svc.rr, n, n, identity); i >= 0 {
			return i
		}
	}
	return c.walkFrom(int(c.pos)+1, n, identity)
}

// identity maps a position to the node of the same index.
func identity(j int) int { return j }
