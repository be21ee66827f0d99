// Package metrics holds the gateway's Prometheus collectors, on a registry
// of their own: requests by route, service, node and status code, latency
// histograms, upstream attempts, and the selector's view (picks per node and
// strategy, ejections, in-flight, EWMA latency) read from Selector.Stats at
// scrape time.
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
			Help:    "HTTP request latency by route, service and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "service", "class"}),
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
	m.reg.MustRegister(m.requests, m.duration, m.attempts, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sel != nil {
		m.reg.MustRegister(newSelectorCollector(sel))
	}
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
// The cache holds exactly the label sets the vectors hold (nothing deletes
// series from them), so it grows no further than the exported metrics do.
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
		duration: m.duration.WithLabelValues(k.route, k.service, c[:1]+"xx"),
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

// selectorCollector exports Selector.Stats at scrape time.
type selectorCollector struct {
	sel StatsSource

	mu        sync.Mutex
	ejections map[[2]string]float64 // service, node → ejections seen
	lastEvent map[string]time.Time  // service → time of the newest event counted
}

var (
	picksDesc    = prometheus.NewDesc("microlb_selector_picks_total", "Nodes returned by the selector, by service, node and strategy.", []string{"service", "node", "strategy"}, nil)
	ejectedDesc  = prometheus.NewDesc("microlb_selector_node_ejected", "1 while the node is ejected by outlier detection.", []string{"service", "node"}, nil)
	ejectionDesc = prometheus.NewDesc("microlb_selector_ejections_total", "Ejections observed, by service and node.", []string{"service", "node"}, nil)
	inflightDesc = prometheus.NewDesc("microlb_selector_node_in_flight", "Calls in flight to the node.", []string{"service", "node"}, nil)
	ewmaDesc     = prometheus.NewDesc("microlb_selector_node_ewma_seconds", "Moving average of the node's latency.", []string{"service", "node"}, nil)
	weightDesc   = prometheus.NewDesc("microlb_selector_node_weight", "The node's weight.", []string{"service", "node", "zone", "version"}, nil)
	staleDesc    = prometheus.NewDesc("microlb_selector_service_stale", "1 while the service is served from a stale registry snapshot.", []string{"service"}, nil)
)

func newSelectorCollector(sel StatsSource) *selectorCollector {
	return &selectorCollector{sel: sel, ejections: map[[2]string]float64{}, lastEvent: map[string]time.Time{}}
}

func (c *selectorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{picksDesc, ejectedDesc, ejectionDesc, inflightDesc, ewmaDesc, weightDesc, staleDesc} {
		ch <- d
	}
}

func (c *selectorCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.sel.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, b2f(s.Stale), s.Name)
		last := c.lastEvent[s.Name]
		for _, e := range s.Events {
			if e.Time.After(last) {
				if e.Kind == selector.EventEjected {
					c.ejections[[2]string{s.Name, e.Node}]++
				}
				c.lastEvent[s.Name] = e.Time
			}
		}
		for _, n := range s.Nodes {
			for strat, v := range n.Picks {
				ch <- prometheus.MustNewConstMetric(picksDesc, prometheus.CounterValue, float64(v), s.Name, n.ID, strat)
			}
			ch <- prometheus.MustNewConstMetric(ejectedDesc, prometheus.GaugeValue, b2f(n.Health == selector.HealthEjected), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(ejectionDesc, prometheus.CounterValue, c.ejections[[2]string{s.Name, n.ID}], s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(inflightDesc, prometheus.GaugeValue, float64(n.InFlight), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(ewmaDesc, prometheus.GaugeValue, n.EWMA.Seconds(), s.Name, n.ID)
			ch <- prometheus.MustNewConstMetric(weightDesc, prometheus.GaugeValue, float64(n.Weight), s.Name, n.ID, n.Zone, n.Version)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
