package selector

import (
	"math"
	"slices"
	"time"

	"go-micro.dev/v4/registry"
)

// Node health states reported by Stats.
const (
	HealthHealthy = "healthy"
	HealthEjected = "ejected"
	HealthDrained = "drained"
)

// NodeStats is a read-only view of one node.
type NodeStats struct {
	ID           string            `json:"id"`
	Address      string            `json:"address"`
	Version      string            `json:"version"`
	Zone         string            `json:"zone"`
	Weight       int               `json:"weight"`
	Health       string            `json:"health"`
	EjectedUntil *time.Time        `json:"ejected_until,omitempty"`
	Failures     int               `json:"consecutive_failures"`
	InFlight     int64             `json:"in_flight"`
	EWMA         time.Duration     `json:"ewma_ns"`
	Picks        map[string]uint64 `json:"picks"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// ServiceStats is a read-only view of one watched service.
type ServiceStats struct {
	Name     string      `json:"name"`
	Stale    bool        `json:"stale"`
	InFlight int64       `json:"in_flight"`
	Nodes    []NodeStats `json:"nodes"`
	Events   []Event     `json:"events"`
}

// Watching reports whether the selector has service loaded and watched: it
// was selected before, and its snapshot is kept current even while no node
// is registered. It tells a service whose nodes are all gone from one that
// never existed.
func (s *Selector) Watching(service string) bool { return s.lookup(service) != nil }

// Stats returns a consistent view of every service the selector watches,
// sorted by name, for admin APIs and dashboards. It copies; the pick path is
// not disturbed beyond the atomic loads.
func (s *Selector) Stats() []ServiceStats {
	now := s.cfg.Load().now()
	var out []ServiceStats
	for name := range *s.services.Load() {
		svc := s.lookup(name)
		if svc == nil {
			continue
		}
		snap := svc.snap.Load()
		ss := ServiceStats{Name: name, Stale: svc.stale.Load(), InFlight: svc.inflight.Load(), Events: svc.events.list()}
		for i, st := range snap.nodes {
			ss.Nodes = append(ss.Nodes, nodeStats(st, snap.reg[i], snap.version[i], snap.weight[i], now))
		}
		out = append(out, ss)
	}
	slices.SortFunc(out, func(a, b ServiceStats) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

func nodeStats(st *nodeState, n *registry.Node, version string, weight int, now time.Time) NodeStats {
	ns := NodeStats{
		ID:       n.Id,
		Address:  n.Address,
		Version:  version,
		Zone:     n.Metadata["zone"],
		Weight:   weight,
		Health:   HealthHealthy,
		Failures: int(st.failures.Load()),
		InFlight: st.inflight.Load(),
		EWMA:     time.Duration(st.ewma.Load()),
		Picks:    make(map[string]uint64, len(Strategies)),
		Metadata: n.Metadata,
	}
	if weight == 0 {
		ns.Health = HealthDrained
	}
	if until := st.ejectedUntil.Load(); until > now.UnixNano() {
		t := time.Unix(0, until)
		ns.Health, ns.EjectedUntil = HealthEjected, &t
	}
	for i, strat := range Strategies {
		ns.Picks[string(strat)] = st.picks[i].Load()
	}
	return ns
}

// Track records the start of a call to node of service and returns the
// function that records its end: in-flight counts feed LeastLoaded and the
// bounded loads of Hash, and the latency feeds LeastLoaded's peak EWMA.
// A node the selector does not know is not tracked. Track does not call Mark.
func (s *Selector) Track(service string, node *registry.Node) (done func()) {
	svc := s.lookup(service)
	if svc == nil || node == nil {
		return func() {}
	}
	snap := svc.snap.Load()
	i, ok := snap.byID[node.Id]
	if !ok {
		return func() {}
	}
	st := snap.nodes[i]
	cfg := s.cfg.Load()
	start := cfg.now()
	st.inflight.Add(1)
	svc.inflight.Add(1)
	return func() {
		st.inflight.Add(-1)
		svc.inflight.Add(-1)
		end := cfg.now()
		st.observe(end.Sub(start), end.UnixNano(), cfg.decay)
	}
}

// observe folds a latency sample taken at now into the node's peak EWMA, as
// Finagle's and Linkerd's PeakEwma do: a sample above the current estimate
// replaces it at once (the peak), a lower one is averaged in with the weight
// 1 − e^(−Δt/decay), Δt being the time since the last update. Concurrent
// updates may interleave between the estimate and its time; the estimate
// stays a value one of them computed.
func (st *nodeState) observe(d time.Duration, now int64, decay time.Duration) {
	sample := max(int64(d), 1)
	for {
		old := st.ewma.Load()
		next := sample
		if old != 0 && sample < old {
			w := math.Exp(-float64(max(now-st.ewmaAt.Load(), 0)) / float64(decay))
			next = max(int64(float64(old)*w+float64(sample)*(1-w)), 1)
		}
		if st.ewma.CompareAndSwap(old, next) {
			st.ewmaAt.Store(now)
			return
		}
	}
}
