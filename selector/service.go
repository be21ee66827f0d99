package selector

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// Watch retry backoff bounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// service is one watched service: its current snapshot and the counters that
// outlive snapshots.
type service struct {
	name     string
	snap     atomic.Pointer[snapshot] // read by every pick
	counters []counter                // per strategy, by registered index (see withCounter)
	stale    atomic.Bool              // the registry failed; serving the last snapshot

	// The write-hot counters sit on their own cache line, away from snap.
	_        [64]byte
	drained  atomic.Uint64
	inflight atomic.Int64
	_        [48]byte

	ejectHorizon atomic.Int64 // unix nanos: no node is ejected after it

	mu      sync.Mutex // guards states, warned and rebuilds
	states  map[string]*nodeState
	warned  map[string]bool
	events  *eventLog
	emptyAt time.Time // when the registry first reported no node, while held
}

// service returns the watched service called name, loading it on first use.
func (s *Selector) service(name string) (*service, error) {
	if svc := (*s.services.Load())[name]; svc != nil {
		return svc, nil
	}
	return s.load(name)
}

// pendingLoad is a first load in progress, shared by concurrent Selects.
type pendingLoad struct {
	ready chan struct{}
	svc   *service
	err   error // set before ready closes
}

// load reads service name from the registry, publishes it and starts its
// watch. Concurrent first calls share one registry load. A name the registry
// does not know is not kept: the next Select asks again, and it costs no watch.
func (s *Selector) load(name string) (*service, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if svc := (*s.services.Load())[name]; svc != nil {
		s.mu.Unlock()
		return svc, nil
	}
	if p := s.pending[name]; p != nil {
		s.mu.Unlock()
		<-p.ready
		return p.svc, p.err
	}
	p := &pendingLoad{ready: make(chan struct{})}
	s.pending[name] = p
	cfg, reg, done := s.cfg.Load(), s.opts.Registry, s.done
	s.mu.Unlock()

	svc := &service{
		name:     name,
		states:   map[string]*nodeState{},
		warned:   map[string]bool{},
		events:   newEventLog(name),
		counters: make([]counter, len(registered)),
	}
	for k, r := range registered {
		if cs, ok := r.b.(counterStarter); ok {
			svc.counters[k].Store(cs.counterStart(cfg.randN))
		}
	}
	err := s.refresh(svc, reg, cfg)
	if err == nil && len(svc.snap.Load().services) == 0 {
		err = selector.ErrNotFound
	}

	s.mu.Lock()
	delete(s.pending, name)
	if err == nil && (s.closed || s.done != done) {
		err = ErrClosed
	}
	if err == nil {
		s.storeLocked(name, svc)
		s.wg.Add(1)
		go s.watch(svc, reg, done)
	} else {
		svc = nil
	}
	s.mu.Unlock()
	p.svc, p.err = svc, err
	close(p.ready)
	return svc, err
}

// storeLocked publishes a copy of the service map with name set to svc (or
// removed when svc is nil). The caller holds s.mu.
func (s *Selector) storeLocked(name string, svc *service) {
	m := maps.Clone(*s.services.Load())
	if svc == nil {
		delete(m, name)
	} else {
		m[name] = svc
	}
	s.services.Store(&m)
}

// lookup returns the loaded service called name, or nil, without loading it.
func (s *Selector) lookup(name string) *service { return (*s.services.Load())[name] }

// refresh reads the service from the registry and swaps in a new snapshot.
// On a registry error it keeps the old snapshot and marks the service stale.
func (s *Selector) refresh(svc *service, reg registry.Registry, cfg *config) error {
	services, err := reg.GetService(svc.name)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		svc.stale.Store(true)
		if svc.snap.Load() == nil {
			return err
		}
		cfg.log.Logf(logger.WarnLevel, "microlb: refreshing %s: %v; serving the last snapshot", svc.name, err)
		return err
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	old := svc.snap.Load()
	if hold := cfg.emptyHold; hold > 0 && old != nil && !old.empty() && !slices.ContainsFunc(services, hasNodes) {
		now := cfg.now()
		if svc.emptyAt.IsZero() {
			svc.emptyAt = now
		}
		if now.Sub(svc.emptyAt) < hold {
			svc.stale.Store(true)
			return nil // keep serving the last nodes for a while
		}
	}
	svc.emptyAt = time.Time{}
	var joinedAt int64
	if old != nil && !old.empty() {
		joinedAt = cfg.now().UnixNano() // new nodes of a serving service slow-start
	}
	snap := buildSnapshot(services, svc.states, svc.warned, cfg.log, joinedAt)
	svc.events.diff(old, snap, cfg.now())
	svc.snap.Store(snap)
	svc.stale.Store(false)
	return nil
}

// hasNodes reports whether svc lists a node.
func hasNodes(svc *registry.Service) bool { return svc != nil && len(svc.Nodes) > 0 }

// watch keeps svc's snapshot current until done closes. It watches the
// registry for the service and rebuilds on every event (bursts coalesce into
// one rebuild). It also re-reads the service every resync interval, because a
// watch can miss changes silently: a Consul agent that restarts with a lower
// index leaves blocking queries hanging for minutes. A failed read is retried
// with backoff while the last snapshot serves; once the registry answers
// again the watch itself is re-created, and a broken watch is re-created with
// backoff.
func (s *Selector) watch(svc *service, reg registry.Registry, done <-chan struct{}) {
	defer s.wg.Done()
	backoff := minBackoff
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	resync := time.NewTicker(s.cfg.Load().resync)
	defer resync.Stop()
	for {
		w, err := reg.Watch(registry.WatchService(svc.name))
		if err == nil {
			events := make(chan struct{}, 1)
			s.wg.Add(1)
			go s.forward(w, svc.name, events)
			failed := s.refresh(svc, reg, s.cfg.Load()) != nil
		loop:
			for {
				retry.Stop()
				if failed || svc.stale.Load() {
					retry.Reset(backoff)
					backoff = min(2*backoff, maxBackoff)
				}
				select {
				case <-done:
					w.Stop()
					return
				case _, ok := <-events:
					if !ok {
						break loop
					}
				case <-retry.C:
				case <-resync.C:
				}
				err := s.refresh(svc, reg, s.cfg.Load())
				switch {
				case err != nil:
					failed = true
				case failed:
					backoff = minBackoff
					break loop // the registry is back: watch afresh
				case !svc.stale.Load():
					backoff = minBackoff
				}
			}
			w.Stop()
		}
		svc.stale.Store(true)
		select {
		case <-done:
			return
		case <-time.After(backoff):
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// forward turns the watcher's results for name into coalesced signals on
// events, and closes events when the watcher stops or breaks.
func (s *Selector) forward(w registry.Watcher, name string, events chan<- struct{}) {
	defer s.wg.Done()
	defer close(events)
	for {
		res, err := w.Next()
		if err != nil {
			return
		}
		if res != nil && res.Service != nil && res.Service.Name != name {
			continue
		}
		select {
		case events <- struct{}{}:
		default:
		}
	}
}
