package selector

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Strategy names a node-picking algorithm. Each strategy's constant is in its
// own file; Weighted is the default.
type Strategy string

// registered is the one list of strategies, in a stable order: Strategies',
// ParseStrategy's message's, Stats' and the per-node pick counters'. A
// strategy's position here is its index k everywhere: c.strat, its
// per-snapshot state s.state[k] and its per-service counter. A new strategy
// is one file (its Strategy constant and its balancer) and one line here; see
// "Adding a strategy" in the package doc.
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

// snapshotBuilder is a balancer with per-snapshot state (a precomputed table,
// a ring). build runs once per snapshot rebuild, under the service's mutex,
// after the nodes, weights and prefix sums are set; its result is s.state[k]
// and the pick reads it as c.table(). It must not change s.
type snapshotBuilder interface {
	build(s *snapshot) any
}

// withCounter, embedded in a balancer, gives it a per-service counter,
// c.counter(), that outlives snapshots and starts at a random offset when
// the service loads (a counter of a balancer without it starts at 0).
type withCounter struct{}

// counterStart is the random start of a withCounter balancer's counter.
func (withCounter) counterStart(randN func(int) int) uint64 { return uint64(randN(1 << 30)) }

// counterStarter is implemented by balancers that embed withCounter.
type counterStarter interface {
	counterStart(randN func(int) int) uint64
}

// counter is one per-service strategy counter, padded so that two counters
// of a service never share a cache line.
type counter struct {
	atomic.Uint64
	_ [56]byte
}

// table returns the per-snapshot state that the call's strategy built (see
// snapshotBuilder), or nil.
func (c *call) table() any { return c.snap.state[c.strat] }

// counter returns the per-service counter of the call's strategy.
func (c *call) counter() *atomic.Uint64 { return &c.svc.counters[c.strat].Uint64 }
