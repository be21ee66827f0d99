package selector

// randomBalancer picks a usable node at random, with probability proportional
// to its weight.
type randomBalancer struct{}

func (randomBalancer) pick(c *call) int { return c.randomUsable() }
