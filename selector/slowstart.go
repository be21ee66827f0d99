package selector

import (
	"math"
	"sync/atomic"
	"time"

	"go-micro.dev/v4/selector"
)

// Slow start: a node that joins a service already being served starts at
// slowStartFloor of its weight and ramps up linearly to its full weight over
// the WithSlowStart window, as Envoy's slow start does with aggression 1 and
// a 10 % minimum weight. The nodes of a service's first load, and every node
// once its window has passed, weigh their full weight.
//
//   - Random draws with the ramped weights, exactly.
//   - LeastLoaded divides each cost by the ramped weight, exactly.
//   - Weighted approximates the ramp in slowStartSteps steps: the window is
//     cut into that many equal slots of time, and in each slot the smooth
//     weighted round-robin period is recomputed once (lazily, by the first
//     pick of the slot) from the ramped weights at the slot's start, scaled
//     to integers in tenths.
//   - RoundRobin and Hash ignore weights for picking, and so slow start.
const (
	slowStartFloor = 0.1
	slowStartSteps = 10
)

// WithSlowStart sets the slow-start window (default 0: off): a node that
// joins a service already loaded ramps from 10 % of its weight to all of it,
// linearly, over d. Random and LeastLoaded apply the ramp exactly, Weighted
// in 10 steps (its period is recomputed once per tenth of d), RoundRobin and
// Hash not at all.
func WithSlowStart(d time.Duration) selector.Option { return setOption(slowStartKey{}, d) }

// rampWRR is the weighted table of one slow-start time slot.
type rampWRR struct {
	slot int64
	t    *wrrTable
}

// ramping reports whether some active node of the snapshot is still in its
// slow-start window. It reads the clock only when slow start is on and a
// node joined after the first load.
func (c *call) ramping() bool {
	d := c.cfg.slowStart
	return d > 0 && c.snap.lastJoin > 0 && c.clock() < c.snap.lastJoin+int64(d)
}

// rampFactor is node i's share of its weight at the call's time: 1 outside
// its window, else from slowStartFloor up to 1.
func (c *call) rampFactor(i int) float64 {
	return rampAt(c.snap.nodes[i].joined, c.clock(), c.cfg.slowStart)
}

// rampAt is the ramp factor at now of a node that joined at joined.
func rampAt(joined, now int64, d time.Duration) float64 {
	if joined == 0 || d <= 0 || now >= joined+int64(d) {
		return 1
	}
	return max(slowStartFloor, float64(now-joined)/float64(d))
}

// effWeight is node i's weight ramped for slow start.
func (c *call) effWeight(i int) float64 {
	return float64(c.snap.weight[i]) * c.rampFactor(i)
}

// rampDraw returns an active node drawn with probability proportional to its
// ramped weight: a linear scan, taken only while a node ramps.
func (c *call) rampDraw() int {
	n := c.snap.nActive
	total := 0.0
	for i := range n {
		total += c.effWeight(i)
	}
	r := float64(c.cfg.randN(1<<30)) / (1 << 30) * total
	for i := range n {
		if r -= c.effWeight(i); r < 0 {
			return i
		}
	}
	return n - 1
}

// rampTable returns the weighted table of the call's slow-start slot,
// computing it on the slot's first pick and keeping it in ramp (the ramp of
// the snapshot's own Weighted table).
func (c *call) rampTable(ramp *atomic.Pointer[rampWRR]) *wrrTable {
	d := int64(c.cfg.slowStart)
	width := max(d/slowStartSteps, 1)
	slot := c.clock() / width
	if r := ramp.Load(); r != nil && r.slot == slot {
		return r.t
	}
	at := slot * width
	weights := make([]int, c.snap.nActive)
	equal := true
	for i := range weights {
		f := rampAt(c.snap.nodes[i].joined, at, c.cfg.slowStart)
		weights[i] = max(1, int(math.Round(float64(c.snap.weight[i])*f*10)))
		equal = equal && weights[i] == weights[0]
	}
	t := newWRRTable(weights, equal)
	ramp.Store(&rampWRR{slot: slot, t: t})
	return t
}
