package selector

import (
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// panic-mode states of a call, computed lazily.
const (
	panicUnknown int8 = iota
	panicOff
	panicOn
)

// call is the state of one Select: the snapshot it picks from, the options it
// was given and the nodes it already returned. Its next method is the
// selector.Next that Select returns; go-micro calls it once per attempt.
type call struct {
	cfg  *config
	svc  *service
	snap *snapshot
	key  uint64      // xxhash of the hash key
	more *callExtras // nil on the fast path
	now  int64       // unix nanos, read at most once per call

	pos    int32    // the balancer's cursor
	tried  [4]int32 // the first nodes returned, in order
	ntried uint8
	strat  uint8 // index of the strategy in Strategies
	hasKey bool
	panic  int8
	zone   int8 // zone-aware routing state, zoneUnknown until decided
}

// callExtras is the rarely needed part of a call's state.
type callExtras struct {
	allowed []bool  // nil, or which nodes the select filters kept
	tried   []int32 // nodes returned after the first len(call.tried)
}

// first reports whether the call has returned no node yet.
func (c *call) first() bool { return c.ntried == 0 }

// isTried reports whether the call already returned node i.
func (c *call) isTried(i int) bool {
	for _, t := range c.tried[:min(int(c.ntried), len(c.tried))] {
		if int(t) == i {
			return true
		}
	}
	if c.more != nil && int(c.ntried) > len(c.tried) {
		for _, t := range c.more.tried {
			if int(t) == i {
				return true
			}
		}
	}
	return false
}

// addTried records that the call returned node i.
func (c *call) addTried(i int) {
	if int(c.ntried) < len(c.tried) {
		c.tried[c.ntried] = int32(i)
	} else {
		if c.more == nil {
			c.more = &callExtras{}
		}
		c.more.tried = append(c.more.tried, int32(i))
	}
	if c.ntried < 255 {
		c.ntried++
	}
}

// resetTried forgets the nodes returned, to wrap around.
func (c *call) resetTried() {
	c.ntried = 0
	if c.more != nil {
		c.more.tried = c.more.tried[:0]
	}
}

// next returns a node that this call has not returned yet while one is
// usable, then starts over. It is the selector.Next of a Select. Ejection is
// ignored only as a last resort: when no node is usable even after starting
// over (every node left is ejected, possible with filters above the panic
// threshold), rather than fail the call.
func (c *call) next() (*registry.Node, error) {
	i := c.choose()
	if i < 0 && !c.first() {
		c.resetTried() // every usable node was tried: wrap around
		c.zone = zoneUnknown
		i = c.choose()
	}
	if i < 0 && c.panic != panicOn {
		c.panic = panicOn
		i = c.choose()
	}
	if i < 0 {
		return nil, selector.ErrNoneAvailable
	}
	c.addTried(i)
	c.snap.nodes[i].picks[c.strat].Add(1)
	return c.snap.reg[i], nil
}

// choose asks the strategy for an active node, first among the call's zone
// when zone-aware routing keeps it local, then falls back to drained nodes.
// The strategy only orders its candidates: it hands each to usable, the
// call's one judgement of a node, and settles on the first one accepted.
func (c *call) choose() int {
	b := registered[c.strat].b
	if c.zoneLocal() {
		if i := b.pick(c, (*call).usable); i >= 0 {
			return i
		}
		c.zone = zoneSpill // no usable local node left: spill over
	}
	if i := b.pick(c, (*call).usable); i >= 0 {
		return i
	}
	return c.pickDrained()
}

// pickDrained returns a usable drained node (weight 0), round-robin, or -1.
func (c *call) pickDrained() int {
	s := c.snap
	n := len(s.nodes) - s.nActive
	if n == 0 {
		return -1
	}
	start := int(c.svc.drained.Add(1) % uint64(n))
	for k := range n {
		if i := s.nActive + (start+k)%n; c.usable(i) {
			return i
		}
	}
	return -1
}

// usable reports whether node i passes the filters, was not returned by this
// call yet, is in the call's zone while it keeps local, and is not ejected.
func (c *call) usable(i int) bool {
	if c.ntried > 0 && c.isTried(i) {
		return false
	}
	if c.more != nil && c.more.allowed != nil && !c.more.allowed[i] {
		return false
	}
	if c.zone == zoneLocal && c.snap.zone[i] != c.cfg.zone {
		return false
	}
	return !c.ejected(i)
}

// ejected reports whether node i is ejected and the service is not in panic
// mode. It reads the clock only when the node carries an ejection time.
func (c *call) ejected(i int) bool {
	until := c.snap.nodes[i].ejectedUntil.Load()
	if until == 0 {
		return false
	}
	if c.panic == panicUnknown {
		c.panic = panicOff
		if n := len(c.snap.nodes); (n-c.snap.ejectedCount(c.clock()))*2 < n {
			c.panic = panicOn // fewer than half healthy: ignore ejection
		}
	}
	return c.panic == panicOff && c.clock() < until
}

// clock returns the call's notion of now, in unix nanoseconds.
func (c *call) clock() int64 {
	if c.now == 0 {
		c.now = c.cfg.now().UnixNano()
	}
	return c.now
}

// ejectedCount counts the nodes ejected at time now.
func (s *snapshot) ejectedCount(now int64) int {
	n := 0
	for _, st := range s.nodes {
		if st.ejectedUntil.Load() > now {
			n++
		}
	}
	return n
}
