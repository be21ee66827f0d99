// Package route maps request paths to routes and, for RPC routes, to a
// go-micro service and endpoint, following the convention of `micro api`:
//
//	/{service}/{method}            → service {service}, endpoint {Service}.{Method}
//	/{service}/{handler}/{method}  → service {service}, endpoint {Handler}.{Method}
//
// Segments are CamelCased: "say-hello" and "say_hello" become "SayHello".
package route

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/selector"
)

// Route is a compiled route: a configured one, or the dynamic RPC route.
type Route struct {
	Name   string
	Kind   string // config.KindRPC or config.KindProxy
	Prefix string // "/" for the dynamic route
	// Service is fixed by the configuration, or "" to take it from the path.
	Service  string
	Endpoint string
	// Dynamic marks the catch-all route of the default configuration.
	Dynamic     bool
	methods     []string // nil: any method
	StripPrefix bool
	Rewrite     string

	Strategy           selector.Strategy
	HashKey            KeySource
	Timeout            time.Duration
	StreamTimeout      time.Duration
	PerTryTimeout      time.Duration // each attempt's bound inside Timeout; 0: none
	Retries            int
	RetryNonIdempotent bool
	MaxBodyBytes       int64
	// MaxResponseBytes caps a response read whole into memory (always > 0).
	MaxResponseBytes int64
	// Hedge is the route's hedging policy; nil: no hedged requests.
	Hedge *Hedge
	// Budget bounds the route's retries and hedges in flight; it is shared
	// by every request of the route (never nil once compiled).
	Budget *selector.RetryBudget
	Auth   config.RouteAuth
	// Guards are the auth policies of the configured routes that name the
	// service this route reached by its path: a request must pass them too
	// (see Table.Match). Set only on the copies Match returns.
	Guards    []config.RouteAuth
	RateLimit *config.RateLimit
	CORS      *config.CORS
	// ForwardCredentials passes the API-key header and Authorization on to
	// the upstream after auth checked them; otherwise they are removed.
	ForwardCredentials bool

	// guarded holds, for a route that takes the service from the path, a
	// copy with Guards set per guarded service (lower-case name).
	guarded map[string]*Route
}

// HasAuth reports whether a request on the route must pass any auth
// policy (AuthPolicies is not empty), without building the list.
func (r *Route) HasAuth() bool {
	return r.Auth.Mode != "" && r.Auth.Mode != config.AuthNone || len(r.Guards) > 0
}

// AuthPolicies returns every auth policy a request on the route must pass:
// the route's own (unless none) and its Guards.
func (r *Route) AuthPolicies() []config.RouteAuth {
	var out []config.RouteAuth
	if r.Auth.Mode != "" && r.Auth.Mode != config.AuthNone {
		out = append(out, r.Auth)
	}
	return append(out, r.Guards...)
}

// HasCORS reports whether the route has a cross-origin policy: one that
// allows some origin.
func (r *Route) HasCORS() bool { return r.CORS != nil && len(r.CORS.AllowOrigins) > 0 }

// Allows reports whether the route accepts the HTTP method.
func (r *Route) Allows(method string) bool {
	return r.methods == nil || slices.Contains(r.methods, method)
}

// Allow returns the value of the Allow header for a 405.
func (r *Route) Allow() string { return strings.Join(r.methods, ", ") }

// Idempotent reports whether a request with this method may be retried on
// another node after it may have reached a node.
func (r *Route) Idempotent(method string) bool {
	if r.RetryNonIdempotent {
		return true
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Table is the set of routes, matched by longest prefix.
type Table struct {
	routes    []*Route // longest prefix first
	namespace string
}

// NewTable compiles the configuration's routes. Unless disabled, the dynamic
// RPC route answers every path that no configured route claims.
func NewTable(cfg *config.Config) (*Table, error) {
	t := &Table{namespace: cfg.Namespace}
	for i := range cfg.Routes {
		r, err := compile(&cfg.Routes[i], cfg)
		if err != nil {
			return nil, err
		}
		t.routes = append(t.routes, r)
	}
	if !cfg.DisableDefaultRoute && !slices.ContainsFunc(t.routes, func(r *Route) bool { return r.Prefix == "/" }) {
		r, err := compile(&config.Route{Name: "default", Path: "/", Kind: config.KindRPC}, cfg)
		if err != nil {
			return nil, err
		}
		r.Dynamic = true
		r.methods = nil // dispatch allows config.RPCMethods for RPC; an HTTP service found by name, anything
		t.routes = append(t.routes, r)
	}
	slices.SortStableFunc(t.routes, func(a, b *Route) int { return len(b.Prefix) - len(a.Prefix) })
	t.guard()
	return t, nil
}

// guard closes the side doors to protected services. A configured route
// that names a service and requires auth is the service's front door; a
// route that takes the service from the path (the default route, a
// configured rpc route without a service) would reach the same service
// without those credentials. Each such route gets, per protected service,
// a copy that carries the front doors' policies as Guards, which Match
// hands out instead. Service names are compared without regard to case
// (Consul's own lookups ignore case).
func (t *Table) guard() {
	guards := map[string][]config.RouteAuth{}
	for _, r := range t.routes {
		if r.Service != "" && r.Auth.Mode != config.AuthNone {
			k := strings.ToLower(r.Service)
			if !slices.ContainsFunc(guards[k], func(a config.RouteAuth) bool { return sameAuth(a, r.Auth) }) {
				guards[k] = append(guards[k], r.Auth)
			}
		}
	}
	if len(guards) == 0 {
		return
	}
	for _, r := range t.routes {
		if !r.pathNamed() {
			continue
		}
		r.guarded = map[string]*Route{}
		for svc, g := range guards {
			c := *r
			c.guarded = nil
			c.Guards = g
			r.guarded[svc] = &c
		}
	}
}

func sameAuth(a, b config.RouteAuth) bool {
	return a.Mode == b.Mode && slices.Equal(a.Scopes, b.Scopes)
}

// pathNamed reports whether the route takes its service from the path.
func (r *Route) pathNamed() bool { return r.Service == "" && r.Kind == config.KindRPC }

// pathSegment returns the path segment that names the service on a
// path-named route ("" when there is none).
func (r *Route) pathSegment(path string) string {
	rest := strings.TrimLeft(r.Rest(path), "/")
	seg, _, _ := strings.Cut(rest, "/")
	return seg
}

// Routes returns the compiled routes, longest prefix first.
func (t *Table) Routes() []*Route { return t.routes }

// Namespace returns the service-name prefix of path-named services.
func (t *Table) Namespace() string { return t.namespace }

// compile builds the route cr from what cfg.Defaulted makes of it: every
// default is applied there, none here.
func compile(cr *config.Route, cfg *config.Config) (*Route, error) {
	d := cfg.Defaulted(*cr)
	o := d.RouteOptions
	r := &Route{
		Name:               d.Name,
		Kind:               d.Kind,
		Prefix:             d.Path,
		Service:            d.Service,
		Endpoint:           d.Endpoint,
		methods:            d.Methods,
		StripPrefix:        d.StripPrefix,
		Rewrite:            d.Rewrite,
		Timeout:            o.Timeout,
		StreamTimeout:      o.StreamTimeout,
		PerTryTimeout:      o.PerTryTimeout,
		Retries:            *o.Retries,
		RetryNonIdempotent: *o.RetryNonIdempotent,
		MaxBodyBytes:       o.MaxBodyBytes,
		MaxResponseBytes:   o.MaxResponseBytes,
		Auth:               *o.Auth,
		RateLimit:          o.RateLimit,
		CORS:               d.CORS,
		ForwardCredentials: d.ForwardCredentials,
	}
	var err error
	if r.Strategy, err = selector.ParseStrategy(o.Strategy); err != nil {
		return nil, fmt.Errorf("route %q: %w", r.Name, err)
	}
	if o.HashKey != "" {
		if r.HashKey, err = ParseKeySource(o.HashKey); err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Name, err)
		}
	}
	if err := r.compileResilience(o); err != nil {
		return nil, fmt.Errorf("route %q: %w", r.Name, err)
	}
	return r, nil
}

// Match returns the route whose prefix is the longest one that path starts
// with, on a segment boundary and without regard to ASCII case; ok is false
// when none does. On a route that takes the service from the path, a path
// naming a service that a configured route protects gets that route's copy
// with the protecting policies as Guards (see guard). path must have passed
// CheckPath.
func (t *Table) Match(path string) (r *Route, ok bool) {
	for _, r := range t.routes {
		if hasPrefix(path, r.Prefix) {
			if r.guarded != nil {
				if g := r.guarded[strings.ToLower(t.namespace+r.pathSegment(path))]; g != nil {
					return g, true
				}
			}
			return r, true
		}
	}
	return nil, false
}

// hasPrefix reports whether path is prefix or lies below it, ignoring
// ASCII case: /Admin is matched by the route of /admin, so a protected
// prefix cannot be dodged by a backend that ignores case.
func hasPrefix(path, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(path, "/")
	}
	return len(path) >= len(prefix) && strings.EqualFold(path[:len(prefix)], prefix) &&
		(len(path) == len(prefix) || path[len(prefix)] == '/')
}

// Rest returns the part of path below the route's prefix, starting with "/"
// (or "" when path is the prefix itself).
func (r *Route) Rest(path string) string {
	if r.Prefix == "/" {
		return path
	}
	return path[len(r.Prefix):]
}
