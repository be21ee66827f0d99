package selector

// RoundRobin walks the nodes in order, across calls, from a per-service counter.
const RoundRobin Strategy = "roundrobin"

// roundRobinBalancer walks the active nodes in id order. The first pick of a
// Select takes the next slot of a per-service atomic counter, which starts at
// a random offset and survives snapshot rebuilds, so successive calls rotate
// through the nodes (go-micro's RoundRobin restarts at random on every Select,
// which makes it random across calls). Later picks of the same Select continue
// from where the previous one stopped, so a retry lands on the next node.
type roundRobinBalancer struct{ withCounter }

func (roundRobinBalancer) pick(c *call, ok accept) int {
	n := c.snap.nActive
	if n == 0 {
		return -1
	}
	return c.rotate(ok, c.counter(), n, n, identity)
}

// identity maps a position to the node of the same index.
func identity(j int) int { return j }
