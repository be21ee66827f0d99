// Package metrics holds the gateway's Prometheus collectors, on a registry
// of their own: requests by route, service, node and status code, latency
// histograms by route, service and status code, upstream attempts, and the
// selector's view (picks per node and strategy, ejections, in-flight, EWMA
// latency, weight, and node metadata as microlb_selector_node_info) read
// from Selector.Stats at scrape time. Names follow the Prometheus naming
// guide; the series of a node that left its service's snapshot are deleted
// at the next scrape.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/microlb/microlb/selector"
)

// StatsSource is the read-only part of the microlb selector the metrics need.
type StatsSource interface {
	Stats() []selector.ServiceStats
}

// Metrics is the set of gateway collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	attempts *prometheus.CounterVec
	inflight prometheus.Gauge

	// series caches the children of the vectors by label values, so that a
	// request costs one map lookup instead of three WithLabelValues (each
	// validates, hashes and looks up its labels) and two string allocations.
	mu     sync.RWMutex
	series map[seriesKey]*series
}

type seriesKey struct {
	route, service, node, method string
	code                         int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
	attempts atomic.Pointer[prometheus.Counter] // made on the first attempt, as before
}

// New registers the collectors on a fresh registry, with Go and process
// collectors, and the selector collector over sel (nil: none).
func New(sel StatsSource) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microlb_gateway_requests_total",
			Help: "HTTP requests by route, service, node, method and status code.",
		}, []string{"route", "service", "node", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "microlb_gateway_request_duration_seconds",
			Help:    "HTTP request latency by route, service and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "service", "code"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microlb_gateway_upstream_attempts_total",
			Help: "Upstream attempts (first tries and retries) by route and service.",
		}, []string{"route", "service"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "microlb_gateway_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		series: map[seriesKey]*series{},
	}
	m.reg.MustRegister(m.duration, m.attempts, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sel == nil {
		m.reg.MustRegister(m.requests)
		return m
	}
	// The selector collector collects the requests vector itself, after
	// pruning it, so that a scrape never shows a departed node.
	m.reg.MustRegister(newSelectorCollector(sel, m.prune, m.requests))
	return m
}

// Registry returns the Prometheus registry, e.g. to add collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Begin counts a request in flight; call the returned func when it ends.
func (m *Metrics) Begin() (end func()) {
	m.inflight.Inc()
	return m.inflight.Dec
}

// Enter counts a request in flight until the matching Leave (Begin without
// the closure).
func (m *Metrics) Enter() { m.inflight.Inc() }

// Leave ends what Enter counted.
func (m *Metrics) Leave() { m.inflight.Dec() }

// Observe records one finished request.
func (m *Metrics) Observe(route, service, node, method string, code int, d time.Duration, attempts int) {
	s := m.seriesFor(seriesKey{route, service, node, method, code})
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
	if attempts > 0 {
		a := s.attempts.Load()
		if a == nil {
			c := m.attempts.WithLabelValues(route, service)
			a = &c
			s.attempts.Store(a)
		}
		(*a).Add(float64(attempts))
	}
}

// seriesFor returns the cached children for k, creating them on first use.
// The cache holds the label sets the requests vector holds (prune deletes
// from both), so it grows no further than the exported metrics do.
func (m *Metrics) seriesFor(k seriesKey) *series {
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	c := strconv.Itoa(k.code)
	s = &series{
		requests: m.requests.WithLabelValues(k.route, k.service, k.node, k.method, c),
		duration: m.duration.WithLabelValues(k.route, k.service, c),
	}
	m.mu.Lock()
	if old := m.series[k]; old != nil {
		s = old
	} else {
		m.series[k] = s
	}
	m.mu.Unlock()
	return s
}

// prune deletes the request series of the nodes that left: of each
// service in live (the services the selector watches), a node label not in
// its set. Requests without a node and services the selector does not watch
// are left alone. A request that ends on a departed node after this
// recreates its series until the next scrape.
func (m *Metrics) prune(live map[string]map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.series {
		nodes, watched := live[k.service]
		if k.node == "" || !watched || nodes[k.node] {
			continue
		}
		m.requests.DeleteLabelValues(k.route, k.service, k.node, k.method, strconv.Itoa(k.code))
		delete(m.series, k)
	}
}

// selectorCollector exports Selector.Stats at scrape time.
//
// microlb_selector_ejections_total is a counter of its own: each scrape
// counts the ejection events that appeared in a service's event log since
// the newest event the previous scrape saw, so it only ever grows (a node
// that leaves loses its series; one that comes back starts again at 0).
// The selector keeps its last 64 events per service, so more than 64
// events of one service between two scrapes lose the oldest of them.
type selectorCollector struct {
	sel   StatsSource
	prune func(live map[string]map[string]bool)
	after prometheus.Collector // collected once prune is done

	mu        sync.Mutex
	ejections map[[2]string]uint64      // service, node → ejections counted
	last      map[string]selector.Event // service → newest event counted
}

var (
	picksDesc    = prometheus.NewDesc("microlb_selector_picks_total", "Nodes returned by the selector, by service, node and strategy.", []string{"service", "node", "strategy"}, nil)
	ejectedDesc  = prometheus.NewDesc("microlb_selector_node_ejected", "1 while the node is ejected by outlier detection.", []string{"service", "node"}, nil)
	ejectionDesc = prometheus.NewDesc("microlb_selector_ejections_total", "Ejections of the node by outlier detection since the gateway first saw it.", []string{"service", "node"}, nil)
	inflightDesc = prometheus.NewDesc("microlb_selector_node_in_flight", "Calls in flight to the node.", []string{"service", "node"}, nil)
	ewmaDesc     = prometheus.NewDesc("microlb_selector_node_ewma_seconds", "Moving average of the node's latency.", []string{"service", "node"}, nil)
	weightDesc   = prometheus.NewDesc("microlb_selector_node_weight", "The node's weight.", []string{"service", "node"}, nil)
	infoDesc     = prometheus.NewDesc("microlb_selector_node_info", "Always 1: the node's address, zone and version as labels.", []string{"service", "node", "address", "zone", "version"}, nil)
	staleDesc    = prometheus.NewDesc("microlb_selector_service_stale", "1 while the service is served from a stale registry snapshot.", []string{"service"}, nil)
)

func newSelectorCollector(sel StatsSource, prune func(map[string]map[string]bool), after prometheus.Collector) *selectorCollector {
	return &selectorCollector{sel: sel, prune: prune, after: after, ejections: map[[2]string]uint64{}, last: map[string]selector.Event{}}
}

func (c *selectorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{picksDesc, ejectedDesc, ejectionDesc, inflightDesc, ewmaDesc, weightDesc, infoDesc, staleDesc} {
		ch <- d
	}
	if c.after != nil {
		c.after.Describe(ch)
	}
}

func (c *selectorCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.sel.Stats()
	live := make(map[string]map[string]bool, len(stats))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range stats {
		nodes := make(map[string]bool, len(s.Nodes))
		for _, n := range s.Nodes {
			nodes[n.ID] = true
		}
		live[s.Name] = nodes
		c.countEjectionsLocked(s.Name, s.Events)
		ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, b2f(s.Stale), s.Name)
		for _, n := range s.Nodes {
			for strat, v := range n.Picks {
				ch <- prometheus.MustNewConstMetric(picksDesc, prometheus.CounterValue, float64(v), s.Name, n.ID, strat)
			}
			ch <- prometheus.MustNewConstMetric(ejectedDesc, prometheus.GaugeValue, b2f(n.Health == selector.HealthEjected), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(ejectionDesc, prometheus.CounterValue, float64(c.ejections[[2]string{s.Name, n.ID}]), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(inflightDesc, prometheus.GaugeValue, float64(n.InFlight), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(ewmaDesc, prometheus.GaugeValue, n.EWMA.Seconds(), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(weightDesc, prometheus.GaugeValue, float64(n.Weight), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1, s.Name, n.ID, n.Address, n.Zone, n.Version)
		}
	}
	// Forget what departed: nodes left, services no longer watched.
	for k := range c.ejections {
		if !live[k[0]][k[1]] {
			delete(c.ejections, k)
		}
	}
	for name := range c.last {
		if _, ok := live[name]; !ok {
			delete(c.last, name)
		}
	}
	if c.prune != nil {
		c.prune(live)
	}
	if c.after != nil {
		c.after.Collect(ch)
	}
}

// countEjectionsLocked adds the ejection events of service that are newer
// than the last one counted: those after its last occurrence in events, or
// every one when it fell out of the log (or none was counted yet). The
// caller holds c.mu.
func (c *selectorCollector) countEjectionsLocked(service string, events []selector.Event) {
	if len(events) == 0 {
		return
	}
	from := 0
	if last, ok := c.last[service]; ok {
		for i := len(events) - 1; i >= 0; i-- {
			if events[i] == last {
				from = i + 1
				break
			}
		}
	}
	for _, e := range events[from:] {
		if e.Kind == selector.EventEjected {
			c.ejections[[2]string{service, e.Node}]++
		}
	}
	c.last[service] = events[len(events)-1]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
