package selector

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

// MaxWeight caps a node's weight; larger values are clamped to it.
const MaxWeight = 10000

// nodeState is the mutable, per-node state that outlives snapshots: health,
// load and pick counters, all atomics. A rebuild reuses the state of a node
// whose id and address did not change.
type nodeState struct {
	id, address string

	failures     atomic.Int32 // consecutive failures
	ejections    atomic.Int32 // ejection multiplier
	ejectedUntil atomic.Int64 // unix nanos; 0 when not ejected
	lastEjectEnd atomic.Int64 // unix nanos the last ejection ended

	inflight atomic.Int64
	ewma     atomic.Int64 // peak-EWMA latency, nanoseconds; 0 = no data
	ewmaAt   atomic.Int64 // unix nanos of the last ewma update

	joined int64 // unix nanos the node joined a loaded service; 0: in the first load

	picks []atomic.Uint64 // one per strategy, in registered order
}

// snapshot is an immutable view of one service, rebuilt on every registry
// change. The active tier (weight > 0) comes first, sorted by node id so that
// the order is stable across rebuilds; drained nodes (weight 0) follow.
type snapshot struct {
	services []*registry.Service // as the registry returned them
	nodes    []*nodeState
	reg      []*registry.Node // reg[i] is the registry node of nodes[i]
	version  []string         // version[i] is the service version of nodes[i]
	weight   []int
	nActive  int
	byID     map[string]int

	totalWeight  int
	equalWeights bool
	cum          []int // prefix sums of active weights, for weighted random picks

	lastJoin int64                    // the latest joined of the active nodes, for slow start
	zone     []string                 // zone[i] is the zone metadata of nodes[i]
	zones    atomic.Pointer[zoneInfo] // the active nodes of the configured zone

	state []any // per strategy, by registered index: what its build made (see snapshotBuilder)
}

// empty reports whether the snapshot has no node at all.
func (s *snapshot) empty() bool { return len(s.nodes) == 0 }

// HealthCheckKey is the node metadata key that carries the registry's health
// check state when the registry reports it (microlb's gateway annotates
// Consul's checks: see internal/consulhealth). A node whose value is
// HealthCheckWarning weighs WarningShare of a passing node of the same
// weight. Critical nodes never reach the selector: go-micro's Consul
// registry drops them.
const (
	HealthCheckKey     = "health_check"
	HealthCheckWarning = "warning"
)

// WarningShare is the weight of a node whose health check warns, relative
// to a passing node of the same weight: 1/4. So that weights stay whole
// numbers, while any active node warns, every passing node's weight is
// multiplied by 4 instead (the shares are the same).
const WarningShare = 4

// degradeWarnings applies WarningShare to entries.
func degradeWarnings(entries []entry) {
	warns := false
	for _, e := range entries {
		if e.weight > 0 && e.reg.Metadata[HealthCheckKey] == HealthCheckWarning {
			warns = true
			break
		}
	}
	if !warns {
		return
	}
	for i := range entries {
		if entries[i].weight > 0 && entries[i].reg.Metadata[HealthCheckKey] != HealthCheckWarning {
			entries[i].weight *= WarningShare
		}
	}
}

// parseWeight reads a node's weight metadata. A missing key is 1; "0" is
// drained; a malformed or negative value is 1 and ok is false; a value above
// MaxWeight is clamped to it.
func parseWeight(md map[string]string) (w int, ok bool) {
	v, present := md["weight"]
	if !present {
		return 1, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil || n < 0:
		if err != nil && len(v) > 0 && strings.Trim(v, "0123456789 ") == "" {
			return MaxWeight, true // an integer too large for int
		}
		return 1, false
	case n > MaxWeight:
		return MaxWeight, true
	}
	return n, true
}

// entry is one node on its way into a snapshot.
type entry struct {
	reg     *registry.Node
	version string
	weight  int
}

// buildSnapshot builds a snapshot from the registry's services, reusing the
// node states in states (which it updates to hold exactly the new nodes).
// Nodes without an address and repeated node ids are dropped with a warning.
// A node new to states is stamped joined at joinedAt (0 when the service is
// loading: its first nodes do not slow-start). It must be called with the
// service's mutex held, hence the states map.
func buildSnapshot(services []*registry.Service, states map[string]*nodeState, warned map[string]bool, log logger.Logger, joinedAt int64) *snapshot {
	var entries []entry
	seen := make(map[string]bool)
	warn := func(key, format string, args ...any) {
		if !warned[key] {
			warned[key] = true
			log.Logf(logger.WarnLevel, format, args...)
		}
	}
	for _, svc := range services {
		if svc == nil {
			continue
		}
		for _, n := range svc.Nodes {
			switch {
			case n == nil:
				continue
			case n.Address == "":
				warn("addr/"+n.Id, "microlb: service %s node %q has no address: skipped", svc.Name, n.Id)
				continue
			case seen[n.Id]:
				warn("dup/"+n.Id, "microlb: service %s lists node id %q twice: kept the first", svc.Name, n.Id)
				continue
			}
			seen[n.Id] = true
			w, ok := parseWeight(n.Metadata)
			if !ok {
				warn("weight/"+n.Id+"/"+n.Metadata["weight"], "microlb: service %s node %q has weight %q: using 1", svc.Name, n.Id, n.Metadata["weight"])
			}
			entries = append(entries, entry{reg: n, version: svc.Version, weight: w})
		}
	}
	degradeWarnings(entries)
	// Active nodes first, each tier sorted by id.
	slices.SortStableFunc(entries, func(a, b entry) int {
		if (a.weight == 0) != (b.weight == 0) {
			if a.weight == 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(a.reg.Id, b.reg.Id)
	})

	s := &snapshot{
		services: services,
		nodes:    make([]*nodeState, len(entries)),
		reg:      make([]*registry.Node, len(entries)),
		version:  make([]string, len(entries)),
		weight:   make([]int, len(entries)),
		zone:     make([]string, len(entries)),
		byID:     make(map[string]int, len(entries)),
		state:    make([]any, len(registered)),
	}
	keep := make(map[string]bool, len(entries))
	for i, e := range entries {
		st := states[e.reg.Id]
		if st == nil || st.address != e.reg.Address {
			st = &nodeState{id: e.reg.Id, address: e.reg.Address, joined: joinedAt, picks: make([]atomic.Uint64, len(registered))}
			states[e.reg.Id] = st
		}
		s.zone[i] = e.reg.Metadata["zone"]
		keep[e.reg.Id] = true
		s.nodes[i], s.reg[i], s.version[i], s.weight[i] = st, e.reg, e.version, e.weight
		s.byID[e.reg.Id] = i
		if e.weight > 0 {
			s.nActive++
			s.lastJoin = max(s.lastJoin, st.joined)
		}
	}
	for id := range states {
		if !keep[id] {
			delete(states, id)
		}
	}

	active := s.weight[:s.nActive]
	s.cum = make([]int, len(active))
	s.equalWeights = true
	for i, w := range active {
		s.totalWeight += w
		s.cum[i] = s.totalWeight
		if w != active[0] {
			s.equalWeights = false
		}
	}
	for k, r := range registered {
		if b, ok := r.b.(snapshotBuilder); ok {
			s.state[k] = b.build(s)
		}
	}
	return s
}
