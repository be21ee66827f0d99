package selector

import (
	"sync"
	"sync/atomic"
)

// Weighted is nginx's smooth weighted round-robin; with equal weights it is
// RoundRobin. It is the default strategy.
const Weighted Strategy = "weighted"

// Limits on precomputing a smooth weighted round-robin period.
const (
	maxWRRPeriod = 1 << 16 // entries in one period (after dividing by the GCD)
	maxWRRWork   = 1 << 24 // period × nodes, the cost of simulating it
)

// weightedBalancer is nginx's smooth weighted round-robin
// (ngx_http_upstream_round_robin.c): each pick adds every node's weight to its
// current weight, takes the node with the largest current weight and
// subtracts the total from it. Weights a=5, b=1, c=1 give a a b a c a a,
// repeated: every period is exact and interleaved.
//
// The sequence is periodic with period sum(weights)/gcd(weights), so a
// snapshot precomputes one period and picks index it with the service's
// atomic counter: no lock. When the period is longer than 65,536 picks, or
// costs more than 2^24 steps to compute, the snapshot falls back to running
// nginx's loop itself under a mutex; that state restarts on every rebuild.
type weightedBalancer struct{ withCounter }

// build precomputes the period of the snapshot's weights, or sets up the
// fallback: Weighted's per-snapshot state is that *wrrTable.
func (weightedBalancer) build(s *snapshot) any {
	return newWRRTable(s.weight[:s.nActive], s.equalWeights)
}

func (weightedBalancer) pick(c *call, ok accept) int {
	t := c.table().(*wrrTable)
	if c.ramping() {
		t = c.rampTable(&t.ramp)
	}
	if t.seq == nil {
		return t.pickSerial(c, ok)
	}
	p := len(t.seq)
	if p == 0 {
		return -1
	}
	// A refused entry takes the counter's next entry (see counterPick), so
	// the other nodes keep their relative shares.
	return c.rotate(ok, c.counter(), min(p, 2*c.snap.nActive), p, func(j int) int { return int(t.seq[j]) })
}

// wrrTable is a snapshot's smooth weighted round-robin state: one precomputed
// period, or the mutex-guarded fallback. The table of a snapshot's own
// weights also keeps, in ramp, the table of the current slow-start slot
// while a node ramps.
type wrrTable struct {
	seq  []int32
	ramp atomic.Pointer[rampWRR]

	mu      sync.Mutex
	weights []int
	current []int
}

// newWRRTable precomputes one period of the smooth sequence for weights.
func newWRRTable(weights []int, equal bool) *wrrTable {
	n := len(weights)
	if equal {
		seq := make([]int32, n)
		for i := range seq {
			seq[i] = int32(i)
		}
		return &wrrTable{seq: seq}
	}
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	reduced := make([]int, n)
	total := 0
	for i, w := range weights {
		reduced[i] = w / g
		total += reduced[i]
	}
	if total > maxWRRPeriod || total*n > maxWRRWork {
		return &wrrTable{weights: reduced, current: make([]int, n)}
	}
	seq := make([]int32, total)
	current := make([]int, n)
	for k := range seq {
		best := 0
		for i, w := range reduced {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq[k] = int32(best)
	}
	return &wrrTable{seq: seq}
}

// pickSerial runs one step of nginx's loop under the table's mutex, over the
// nodes that ok accepts: the call's judgement, passed in, is nginx's "peer is
// not down" test, so a refused node neither gains current weight nor counts
// in the total, as in ngx_http_upstream_get_peer.
func (t *wrrTable) pickSerial(c *call, ok accept) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	best, total := -1, 0
	for i, w := range t.weights {
		if !ok(c, i) {
			continue
		}
		t.current[i] += w
		total += w
		if best < 0 || t.current[i] > t.current[best] {
			best = i
		}
	}
	if best >= 0 {
		t.current[best] -= total
	}
	return best
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
