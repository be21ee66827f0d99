package selector

import (
	"time"

	"go-micro.dev/v4/selector"
)

// Zone-aware routing. With WithZone(z), a call picks among the active nodes
// whose "zone" metadata is z (the local nodes) while at least half of them are
// healthy (not ejected): healthyLocal × 2 ≥ local. Below that, or when the
// zone has no active node, it spills over to every node of the service. A
// call whose local nodes are all tried, filtered out or ejected also spills
// over for its remaining attempts, before any node is repeated. Drained nodes
// and the panic threshold (computed over the whole service) apply after the
// zone: a drained local node is used only after every active node.
const (
	zoneUnknown int8 = iota // not decided yet for this call
	zoneOff                 // no zone configured, or none of its nodes active
	zoneLocal               // picking among the local nodes only
	zoneSpill               // picking among all nodes
)

// WithZone makes calls prefer the nodes whose "zone" metadata equals z; see
// the zone constants for when they spill over to other zones. The default ""
// turns zone-aware routing off.
func WithZone(z string) selector.Option { return setOption(zoneKey{}, z) }

// zoneInfo lists the active nodes of one zone in a snapshot.
type zoneInfo struct {
	zone  string
	local []int32
}

// zoneInfo returns the active nodes of zone z, computed once per snapshot.
func (s *snapshot) zoneInfo(z string) *zoneInfo {
	if zi := s.zones.Load(); zi != nil && zi.zone == z {
		return zi
	}
	zi := &zoneInfo{zone: z}
	for i := range s.nActive {
		if s.zone[i] == z {
			zi.local = append(zi.local, int32(i))
		}
	}
	s.zones.Store(zi)
	return zi
}

// zoneLocal reports whether the call picks among its zone's nodes only,
// deciding it on first use.
func (c *call) zoneLocal() bool {
	if c.zone == zoneUnknown {
		c.zone = c.zoneDecide()
	}
	return c.zone == zoneLocal
}

// zoneDecide applies the spill-over threshold.
func (c *call) zoneDecide() int8 {
	z := c.cfg.zone
	if z == "" {
		return zoneOff
	}
	zi := c.snap.zoneInfo(z)
	if len(zi.local) == 0 {
		return zoneOff
	}
	if h := c.svc.ejectHorizon.Load(); h != 0 && h > c.clock() { // some node may be ejected
		healthy := 0
		for _, i := range zi.local {
			if c.snap.nodes[i].ejectedUntil.Load() <= c.clock() {
				healthy++
			}
		}
		if healthy*2 < len(zi.local) {
			return zoneSpill
		}
	}
	return zoneLocal
}

// noteEjection records that a node of svc is ejected until until, so that
// zone decisions know whether to count ejected nodes.
func (svc *service) noteEjection(until time.Time) {
	u := until.UnixNano()
	for {
		h := svc.ejectHorizon.Load()
		if h >= u || svc.ejectHorizon.CompareAndSwap(h, u) {
			return
		}
	}
}
