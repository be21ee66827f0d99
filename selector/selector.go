package selector

import (
	"errors"
	"sync"
	"sync/atomic"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/util/cmd"
)

// Name is the selector's name, for --selector / MICRO_SELECTOR.
const Name = "microlb"

// ErrClosed is returned by Select after Close.
var ErrClosed = errors.New("microlb: selector closed")

var _ selector.Selector = (*Selector)(nil)

func init() {
	cmd.DefaultSelectors[Name] = newFromEnv
}

// Selector is microlb's go-micro selector. Create it with New or NewSelector.
type Selector struct {
	cfg      atomic.Pointer[config]
	services atomic.Pointer[map[string]*service] // copy-on-write

	mu      sync.Mutex // guards the fields below and writes to services
	opts    selector.Options
	pending map[string]*pendingLoad
	done    chan struct{} // closed to stop the watches
	closed  bool
	wg      sync.WaitGroup // the watch goroutines
}

// NewSelector returns a microlb selector as go-micro's interface. It accepts
// go-micro's selector.Registry (default registry.DefaultRegistry),
// selector.SetStrategy (RoundRobin and Random map to microlb's; any other
// function is applied as go-micro would) and selector.WithLogger (default
// go-micro's logger.DefaultLogger; the selector logs only through it), and
// the microlb options such as WithStrategy. An invalid microlb option is
// logged at error level and keeps its default; the valid options apply.
func NewSelector(opts ...selector.Option) selector.Selector { return New(opts...) }

// New is NewSelector returning the concrete type, for Stats and Track.
func New(opts ...selector.Option) *Selector {
	s := &Selector{done: make(chan struct{}), pending: map[string]*pendingLoad{}}
	m := map[string]*service{}
	s.services.Store(&m)
	if err := s.applyLocked(opts); err != nil {
		s.cfg.Load().log.Logf(logger.ErrorLevel, "microlb: invalid option: %v", err)
	}
	return s
}

// applyLocked applies opts to s.opts and rebuilds the config. An invalid
// option keeps its previous value, is pinned to it in s.opts (so that a later
// Init does not report it again) and is reported in the error; the valid ones
// apply. The caller holds s.mu (or owns s exclusively).
func (s *Selector) applyLocked(opts []selector.Option) error {
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.Registry == nil {
		s.opts.Registry = registry.DefaultRegistry
	}
	cfg, err := newConfig(s.opts, s.cfg.Load())
	if err != nil {
		for _, o := range cfg.pin() {
			o(&s.opts)
		}
	}
	s.cfg.Store(cfg)
	return err
}

// Init applies options. A change of registry stops every watch and forgets
// every service, which the next Select loads from the new registry. An
// invalid microlb option is logged and returned as the error, and keeps its
// previous value; the valid options of the call apply all the same.
func (s *Selector) Init(opts ...selector.Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	reg := s.opts.Registry
	err := s.applyLocked(opts)
	if err != nil {
		s.cfg.Load().log.Logf(logger.ErrorLevel, "microlb: invalid option: %v", err)
	}
	if s.opts.Registry != reg {
		s.stopLocked()
		s.done = make(chan struct{})
		m := map[string]*service{}
		s.services.Store(&m)
	}
	return err
}

// Options returns the go-micro options the selector was built with.
func (s *Selector) Options() selector.Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// Select returns a Next for service. It reads only the service's current
// snapshot: an unknown service is loaded from the registry once and then
// watched. The errors are go-micro's selector.ErrNotFound for a service the
// registry does not know and selector.ErrNoneAvailable when no node is left
// (after filters).
func (s *Selector) Select(service string, opts ...selector.SelectOption) (selector.Next, error) {
	svc, err := s.service(service)
	if err != nil {
		return nil, err
	}
	cfg := s.cfg.Load()
	c := &call{cfg: cfg, svc: svc, snap: svc.snap.Load(), strat: cfg.strat}
	if len(opts) > 0 {
		o := applySelectOptions(opts)
		defer o.release()
		if o.strategy != "" {
			c.strat = uint8(o.strategy.index())
		}
		if o.hasKey {
			c.key, c.hasKey = hashKey(o.key), true
		}
		if o.so.Strategy == nil && o.strategy == "" && cfg.custom != nil {
			o.so.Strategy = cfg.custom
		}
		if o.so.Strategy != nil || len(o.so.Filters) > 0 {
			return c.filtered(&o.so)
		}
	} else if cfg.custom != nil {
		return c.filtered(&selector.SelectOptions{Strategy: cfg.custom})
	}
	if len(c.snap.services) == 0 {
		return nil, selector.ErrNotFound
	}
	if c.snap.empty() {
		return nil, selector.ErrNoneAvailable
	}
	return c.next, nil
}

// filtered is the slow path of Select for go-micro filters and strategies
// (per call, or the selector's own from SetStrategy). Filters run on a copy of
// the snapshot's services; the call then picks only among the nodes they
// kept. A go-micro strategy gets the filtered services and makes the whole
// choice, as in go-micro's own selector.
func (c *call) filtered(so *selector.SelectOptions) (selector.Next, error) {
	if len(c.snap.services) == 0 {
		return nil, selector.ErrNotFound
	}
	services := make([]*registry.Service, 0, len(c.snap.services))
	for _, svc := range c.snap.services {
		cp := *svc
		cp.Nodes = append([]*registry.Node(nil), svc.Nodes...)
		services = append(services, &cp)
	}
	for _, f := range so.Filters {
		services = f(services)
	}
	if len(services) == 0 {
		return nil, selector.ErrNoneAvailable
	}
	if so.Strategy != nil {
		return so.Strategy(services), nil
	}
	allowed := make([]bool, len(c.snap.nodes))
	c.more = &callExtras{allowed: allowed}
	kept := false
	for _, svc := range services {
		for _, n := range svc.Nodes {
			if i, ok := c.snap.byID[n.Id]; ok {
				allowed[i], kept = true, true
			}
		}
	}
	if !kept {
		return nil, selector.ErrNoneAvailable
	}
	return c.next, nil
}

// Close stops every watch and waits for their goroutines. The selector is
// unusable afterwards.
func (s *Selector) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.stopLocked()
		s.services.Store(&map[string]*service{}) // Select now reaches the closed check
	}
	return nil
}

// stopLocked stops the watches and waits for them. The caller holds s.mu.
func (s *Selector) stopLocked() {
	close(s.done)
	s.wg.Wait()
}

// String returns "microlb".
func (s *Selector) String() string { return Name }
