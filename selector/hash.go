package selector

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"go-micro.dev/v4/registry"
)

// Ring sizes: 160 virtual nodes per unit of weight, as ketama does, with the
// whole ring capped.
const (
	vnodesPerWeight = 160
	maxRingSize     = 1 << 17
)

// Hash is a consistent-hash ring over the key given by WithKey.
const Hash Strategy = "hash"

// ringEntry is one virtual node: its position on the ring and its node index.
type ringEntry struct {
	hash uint64
	node int32
}

// hashBalancer is a ketama-style consistent-hash ring. Each active node gets
// virtual nodes in proportion to its weight, named "<address>_<i>" and hashed
// with xxhash; the ring is sorted once per snapshot. A key is hashed the same
// way and served by the first virtual node at or after it, wrapping at the
// end: with nodes A and B and a ring
//
//	hash:  0x10(A_0)  0x40(B_0)  0x90(A_1)  0xd0(B_1)
//
// key hash 0x50 is served by A (A_1 at 0x90), 0xe0 wraps around to A_0, and
// removing B remaps only the keys B owned, about 1/N of them. Later picks of
// the same Select walk on clockwise to the next node the call accepts (a
// distinct one, until every node was tried).
//
// With a balance factor c (WithHashBalanceFactor), a node whose in-flight
// count is already at ceil(c × (total+1) / nodes) is skipped clockwise: the
// bounded loads of Mirrokni, Thorup and Zadimoghaddam. With no key (see
// WithKey) a pick is random, weighted by weight.
type hashBalancer struct{}

func (hashBalancer) pick(c *call, ok accept) int {
	if !c.hasKey {
		return c.draw(ok, true, -1)
	}
	ring, _ := c.table().([]ringEntry)
	if len(ring) == 0 {
		return -1
	}
	start := int(c.pos) + 1
	if c.first() {
		start = ringSearch(ring, c.key)
	}
	limit := c.loadLimit()
	node := func(j int) int {
		i := int(ring[j].node)
		if limit != 0 && c.snap.nodes[i].inflight.Load() >= limit {
			return -1
		}
		return i
	}
	if i := c.walkFrom(ok, start, len(ring), node); i >= 0 || limit == 0 {
		return i
	}
	limit = 0 // every node accepted is at its bound: ignore the bound
	return c.walkFrom(ok, start, len(ring), node)
}

// build places the ring of the snapshot's active nodes.
func (hashBalancer) build(s *snapshot) any { return buildRing(s.reg[:s.nActive], s.weight[:s.nActive]) }

// loadLimit is the bounded-load capacity of one node, or 0 when bounded loads
// are off.
func (c *call) loadLimit() int64 {
	f := c.cfg.balanceFactor
	if f == 0 || c.snap.nActive == 0 {
		return 0
	}
	total := c.svc.inflight.Load()
	return int64(math.Ceil(f * float64(total+1) / float64(c.snap.nActive)))
}

// ringSearch returns the index of the first entry at or after h, wrapping.
func ringSearch(ring []ringEntry, h uint64) int {
	lo, hi := 0, len(ring)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ring[m].hash < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(ring) {
		return 0
	}
	return lo
}

// buildRing places the virtual nodes of nodes, weighted by weights.
func buildRing(nodes []*registry.Node, weights []int) []ringEntry {
	total := 0
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		return nil
	}
	per := float64(vnodesPerWeight)
	if total*vnodesPerWeight > maxRingSize {
		per = float64(maxRingSize) / float64(total)
	}
	ring := make([]ringEntry, 0, min(total*vnodesPerWeight, maxRingSize+len(nodes)))
	var buf []byte
	for i, n := range nodes {
		v := max(1, int(math.Round(float64(weights[i])*per)))
		for j := range v {
			buf = append(append(buf[:0], n.Address...), '_')
			buf = strconv.AppendInt(buf, int64(j), 10)
			ring = append(ring, ringEntry{hash: xxhash.Sum64(buf), node: int32(i)})
		}
	}
	slices.SortFunc(ring, func(a, b ringEntry) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.node, b.node))
	})
	return ring
}

// hashKey hashes a call's key onto the ring.
func hashKey(key string) uint64 { return xxhash.Sum64String(key) }
