package selector

import (
	"fmt"
	"strings"
)

// Strategy names a node-picking algorithm.
type Strategy string

// The strategies. Weighted is the default.
const (
	// Random picks uniformly at random, weighted by each node's weight.
	Random Strategy = "random"
	// RoundRobin walks the nodes in order, across calls, from a per-service counter.
	RoundRobin Strategy = "roundrobin"
	// Weighted is nginx's smooth weighted round-robin; with equal weights it is RoundRobin.
	Weighted Strategy = "weighted"
	// Hash is a consistent-hash ring over the key given by WithKey.
	Hash Strategy = "hash"
	// LeastLoaded is power-of-two-choices over in-flight calls and EWMA latency.
	LeastLoaded Strategy = "leastloaded"
)

// registered is the one list of strategies, in a stable order (Strategies',
// Stats' and the per-node pick counters'). A new strategy is one file, with
// its Strategy constant and its balancer, and one line here.
var registered = [...]struct {
	name Strategy
	b    balancer
}{
	{Random, randomBalancer{}},
	{RoundRobin, roundRobinBalancer{}},
	{Weighted, weightedBalancer{}},
	{Hash, hashBalancer{}},
	{LeastLoaded, leastLoadedBalancer{}},
}

// Strategies lists every strategy in a stable order.
var Strategies = func() []Strategy {
	s := make([]Strategy, len(registered))
	for i, r := range registered {
		s[i] = r.name
	}
	return s
}()

// ParseStrategy returns the strategy called s (case-insensitive, surrounding
// space ignored). An unknown name is an error that lists the valid ones.
func ParseStrategy(s string) (Strategy, error) {
	name := Strategy(strings.ToLower(strings.TrimSpace(s)))
	if name.index() >= 0 {
		return name, nil
	}
	valid := make([]string, len(Strategies))
	for i, st := range Strategies {
		valid[i] = string(st)
	}
	return "", fmt.Errorf("unknown strategy %q: valid strategies are %s", s, strings.Join(valid, ", "))
}

// String returns the strategy's name.
func (s Strategy) String() string { return string(s) }

// index is the position of s in Strategies, or -1.
func (s Strategy) index() int {
	for i, st := range Strategies {
		if st == s {
			return i
		}
	}
	return -1
}

// balancer is a strategy's algorithm. pick orders the candidates among the
// snapshot's active tier (indexes below c.snap.nActive), hands them to ok in
// that order and returns the first one ok accepted, or -1 when it accepted
// none. It may keep a cursor in c.pos so that a later pick of the same call
// goes on where the previous one stopped. The balancer knows nothing of why
// ok refuses a node: the call alone decides that (tried, filters, zone,
// ejection, panic mode; see call.usable) and what happens when no candidate
// is accepted (spill over from the zone, drained nodes, wrap-around, panic).
// candidates.go has the orders the strategies share: rotate, walkFrom, draw.
type balancer interface {
	pick(c *call, ok accept) int
}
