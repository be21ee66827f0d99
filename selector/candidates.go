package selector

import "sync/atomic"

// accept is the call's judgement of a candidate: accept(c, i) reports whether
// call c may take node i now. A balancer hands it its candidates in its own
// order and settles on the first one accepted; it never asks why a node was
// refused (tried, filtered out, in another zone, ejected: see call.usable).
// It is a plain function of the call, not a closure over it, so that handing
// it to a balancer through the interface allocates nothing.
type accept func(c *call, i int) bool

// The candidate orders shared by the strategies: a shared counter, then a walk
// on from the call's cursor (RoundRobin, Weighted, Hash), and random draws
// (Random, LeastLoaded, keyless Hash). Each returns the first candidate that
// ok accepts, or -1.

// rotate is the pick of a strategy that cycles through a sequence of size
// positions shared by every call, node(j) being the node at position j (or
// -1 to skip it). The first pick of a call takes positions from the
// per-service counter ctr (see counterPick), at most tries of them; a later
// pick, or a first one whose tries were all refused, walks on from the
// call's cursor, so that a retry lands on the next node of the sequence.
func (c *call) rotate(ok accept, ctr *atomic.Uint64, tries, size int, node func(j int) int) int {
	if c.first() {
		if i := c.counterPick(ok, ctr, tries, size, node); i >= 0 {
			return i
		}
	}
	return c.walkFrom(ok, int(c.pos)+1, size, node)
}

// counterPick takes positions from the shared counter ctr over a sequence of
// size positions. A refused position takes the counter's next position rather
// than handing its turn to its neighbour, so the other nodes share a refused
// node's turns in their own proportions. It takes at most tries positions,
// leaves the position picked in c.pos and returns -1 if none.
func (c *call) counterPick(ok accept, ctr *atomic.Uint64, tries, size int, node func(j int) int) int {
	for range tries {
		j := int((ctr.Add(1) - 1) % uint64(size))
		if i := node(j); i >= 0 && ok(c, i) {
			c.pos = int32(j)
			return i
		}
	}
	return -1
}

// walkFrom returns the node of the first position from start on (wrapping,
// each position once) whose node(j) ok accepts, leaving that position in
// c.pos; or -1.
func (c *call) walkFrom(ok accept, start, size int, node func(j int) int) int {
	for k := range size {
		j := (start + k) % size
		if i := node(j); i >= 0 && ok(c, i) {
			c.pos = int32(j)
			return i
		}
	}
	return -1
}

// draw returns an active node other than not that ok accepts, drawn at random
// (weighted by weight, or uniformly): three random draws, then a scan from a
// random start. It returns -1 if none.
func (c *call) draw(ok accept, weighted bool, not int) int {
	n := c.snap.nActive
	if n == 0 {
		return -1
	}
	for range 3 {
		var i int
		if weighted {
			i = c.weightedDraw()
		} else {
			i = c.cfg.randN(n)
		}
		if i != not && ok(c, i) {
			return i
		}
	}
	start := c.cfg.randN(n)
	for k := range n {
		if i := (start + k) % n; i != not && ok(c, i) {
			return i
		}
	}
	return -1
}

// weightedDraw returns an active node drawn with probability weight/total
// (ramped while a node slow-starts).
func (c *call) weightedDraw() int {
	s := c.snap
	if c.ramping() {
		return c.rampDraw()
	}
	if s.equalWeights {
		return c.cfg.randN(s.nActive)
	}
	r := c.cfg.randN(s.totalWeight)
	lo, hi := 0, len(s.cum)
	for lo < hi { // first i with cum[i] > r
		m := int(uint(lo+hi) >> 1)
		if s.cum[m] > r {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
