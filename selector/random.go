package selector

// Random picks at random, weighted by each node's weight.
const Random Strategy = "random"

// randomBalancer picks a node at random, with probability proportional to its
// weight.
type randomBalancer struct{}

func (randomBalancer) pick(c *call, ok accept) int { return c.draw(ok, true, -1) }
