// Package catalog caches what the registry says about each service beyond
// its nodes: its endpoints (which of them stream, their request fields) and
// whether it is an HTTP service. The selector owns node picking; the catalog
// only answers "does this endpoint exist, does it stream, how do I type a
// query parameter", and shields the registry from floods of unknown names
// with a short negative cache.
package catalog

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"go-micro.dev/v4/registry"
)

// ErrNotFound is returned for a service the registry does not know.
var ErrNotFound = errors.New("service not found")

// negativeTTL is how long an unknown name is remembered.
const negativeTTL = time.Second

// maxNegative bounds the names remembered as unknown. Beyond it, a negative
// entry is dropped (never a service that exists: the cache of those is
// bounded by the registry's own size).
const maxNegative = 4096

// Service is what the catalog knows about one service.
type Service struct {
	Name string
	// Endpoints by name ("Greeter.Hello"); empty when the registry has no
	// endpoint list for the service (then nothing is assumed).
	Endpoints map[string]*Endpoint
	// HTTP is true for a plain HTTP service that opted in: its nodes say
	// protocol=http (or https, or h2 for cleartext HTTP/2) and none is a
	// go-micro server.
	HTTP bool
	// Foreign is true for a service registered by something other than
	// go-micro that did not opt in as HTTP (Consul itself, Vault, an admin
	// UI): no node carries go-micro's server metadata (server: mucp or
	// grpc) nor protocol: http. The dynamic route never publishes one; only
	// a configured route naming it does.
	Foreign bool
}

// Endpoint describes one RPC endpoint.
type Endpoint struct {
	Name   string
	Stream bool
	// Fields maps a normalized request field name (lower case, no '_') to
	// its JSON name and Go type name ("int32", "bool", "[]string").
	Fields map[string]Field
}

// Field is one top-level request field.
type Field struct{ Name, Type string }

type entry struct {
	svc     *Service
	err     error // ErrNotFound for a negative entry
	fetched time.Time
	loading chan struct{} // non-nil while a fetch runs
}

// Catalog is a TTL cache over registry.GetService. It is safe for
// concurrent use.
type Catalog struct {
	reg registry.Registry
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	entries  map[string]*entry
	negative int // entries with err == ErrNotFound
}

// New returns a catalog over reg whose entries are refreshed after ttl.
func New(reg registry.Registry, ttl time.Duration) *Catalog {
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	return &Catalog{reg: reg, ttl: ttl, now: time.Now, entries: map[string]*entry{}}
}

// Lookup returns the service called name. A fresh entry is served from the
// cache; a stale one is served while one caller refreshes it; a missing one
// is fetched, with concurrent callers sharing the fetch. It returns
// ErrNotFound for an unknown service and the registry's error when the
// registry fails and nothing is cached. A service once found keeps its
// description when the registry later lists no node for it.
func (c *Catalog) Lookup(name string) (*Service, error) {
	c.mu.Lock()
	e := c.entries[name]
	now := c.now()
	if e != nil && e.loading == nil {
		ttl := c.ttl
		if e.err != nil {
			ttl = negativeTTL
		}
		if now.Sub(e.fetched) < ttl {
			svc, err := e.svc, e.err // read under the lock: a refresh may be writing them
			c.mu.Unlock()
			return svc, err
		}
		if svc := e.svc; svc != nil { // stale but usable: refresh in the background
			e.loading = make(chan struct{})
			c.mu.Unlock()
			go c.fetch(name, e)
			return svc, nil
		}
	}
	if e != nil && e.loading != nil {
		ch, svc := e.loading, e.svc
		c.mu.Unlock()
		if svc != nil {
			return svc, nil
		}
		<-ch
		c.mu.Lock()
		defer c.mu.Unlock()
		return e.svc, e.err
	}
	if e == nil {
		e = &entry{}
		c.entries[name] = e
	}
	e.loading = make(chan struct{})
	c.mu.Unlock()
	c.fetch(name, e)
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.svc, e.err
}

// fetch reads name from the registry into e and ends its loading state.
func (c *Catalog) fetch(name string, e *entry) {
	services, err := c.reg.GetService(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case errors.Is(err, registry.ErrNotFound) || err == nil && !hasNodes(services):
		// A known service that lists no node now (all gone, or a registry
		// that restarted empty) keeps its description: the selector, which
		// may hold its last nodes, decides between serving and a 503.
		if e.svc == nil {
			if e.err != ErrNotFound {
				c.makeRoomLocked(name)
				c.negative++
			}
			e.err = ErrNotFound
		}
		e.fetched = c.now()
	case err != nil:
		if e.svc == nil {
			e.err = err
			delete(c.entries, name) // do not cache registry failures
		}
	default:
		if e.err == ErrNotFound {
			c.negative--
		}
		e.svc, e.err = build(name, services), nil
		e.fetched = c.now()
	}
	close(e.loading)
	e.loading = nil
}

// makeRoomLocked drops negative entries (other than keep) while there are
// maxNegative of them: expired ones first, any other after. Entries of
// services that exist are never dropped. The caller holds c.mu.
func (c *Catalog) makeRoomLocked(keep string) {
	if c.negative < maxNegative {
		return
	}
	now := c.now()
	var victim string
	for k, e := range c.entries {
		if k == keep || e.err != ErrNotFound || e.loading != nil {
			continue
		}
		victim = k
		if now.Sub(e.fetched) >= negativeTTL {
			break
		}
	}
	if victim != "" {
		delete(c.entries, victim)
		c.negative--
	}
}

// Forget drops name from the cache, so that the next Lookup asks the
// registry (used after the RPC layer learns that an endpoint vanished).
func (c *Catalog) Forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[name]; e != nil && e.loading == nil {
		if e.err == ErrNotFound {
			c.negative--
		}
		delete(c.entries, name)
	}
}

// hasNodes reports whether any of services lists a node.
func hasNodes(services []*registry.Service) bool {
	return slices.ContainsFunc(services, func(s *registry.Service) bool { return s != nil && len(s.Nodes) > 0 })
}

// build merges the endpoint lists of every version of the service.
func build(name string, services []*registry.Service) *Service {
	svc := &Service{Name: name, Endpoints: map[string]*Endpoint{}}
	rpcNodes, httpNodes := 0, 0
	for _, s := range services {
		if s == nil {
			continue
		}
		for _, n := range s.Nodes {
			switch NodeKind(n) {
			case KindRPC:
				rpcNodes++
			case KindHTTP:
				httpNodes++
			}
		}
		for _, ep := range s.Endpoints {
			if ep == nil || ep.Name == "" {
				continue
			}
			e := &Endpoint{Name: ep.Name, Stream: ep.Metadata["stream"] == "true", Fields: map[string]Field{}}
			if ep.Request != nil {
				for _, v := range ep.Request.Values {
					if v != nil && v.Name != "" {
						e.Fields[Normalize(v.Name)] = Field{Name: v.Name, Type: v.Type}
					}
				}
			}
			svc.Endpoints[ep.Name] = e
		}
	}
	svc.HTTP = httpNodes > 0 && rpcNodes == 0 && len(svc.Endpoints) == 0
	svc.Foreign = rpcNodes == 0 && !svc.HTTP
	return svc
}

// Node kinds.
const (
	KindRPC     = "rpc"     // a go-micro server
	KindHTTP    = "http"    // an HTTP service that opted in
	KindForeign = "foreign" // anything else
)

// NodeKind classifies a node by its metadata. go-micro's servers register
// server (mucp or grpc, from server.String()) together with transport,
// broker, registry and protocol; an HTTP service opts in with protocol:
// http or https. Anything else, such as a plain Consul registration, is
// foreign.
func NodeKind(n *registry.Node) string {
	if n == nil {
		return KindForeign
	}
	md := n.Metadata
	switch p := md["protocol"]; {
	case md["server"] == "mucp" || md["server"] == "grpc":
		return KindRPC
	case p == "http" || p == "https" || p == "h2":
		return KindHTTP
	}
	return KindForeign
}

// Normalize folds a field name for matching: "node_id", "nodeId" and
// "NodeID" all give "nodeid".
func Normalize(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}
