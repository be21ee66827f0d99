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
	MaxResponseBytes   int64 // a buffered upstream answer's cap; 0: the package default
	// Hedge is the route's hedging policy; nil: no hedged requests.
	Hedge *Hedge
	// Budget bounds the route's retries and hedges in flight; it is shared
	// by every request of the route (never nil once compiled).
	Budget *selector.RetryBudget
	Auth               config.RouteAuth
	RateLimit          *config.RateLimit
	CORS               *config.CORS
}

// Allows reports whether the route accepts the HTTP method. OPTIONS is
// always let through to the CORS layer.
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
		r.methods = nil // RPC allows GET and POST; an HTTP service found by name, anything
		t.routes = append(t.routes, r)
	}
	slices.SortStableFunc(t.routes, func(a, b *Route) int { return len(b.Prefix) - len(a.Prefix) })
	return t, nil
}

// Routes returns the compiled routes, longest prefix first.
func (t *Table) Routes() []*Route { return t.routes }

// Namespace returns the service-name prefix of path-named services.
func (t *Table) Namespace() string { return t.namespace }

func compile(cr *config.Route, cfg *config.Config) (*Route, error) {
	o := cr.RouteOptions.Merge(cfg.Defaults)
	r := &Route{
		Name:          cr.Name,
		Kind:          cr.Kind,
		Prefix:        cr.Path,
		Service:       cr.Service,
		Endpoint:      cr.Endpoint,
		StripPrefix:   cr.StripPrefix,
		Rewrite:       strings.TrimSuffix(cr.Rewrite, "/"),
		Timeout:       o.Timeout,
		StreamTimeout: o.StreamTimeout,
		PerTryTimeout: o.PerTryTimeout,
		MaxBodyBytes:  o.MaxBodyBytes,
		RateLimit:     o.RateLimit,
		CORS:          cr.CORS,
		Strategy:      selector.DefaultStrategy,
	}
	if r.Kind == "" {
		r.Kind = config.KindRPC
	}
	if r.Name == "" {
		r.Name = r.Prefix
	}
	if r.CORS == nil {
		r.CORS = &cfg.CORS
	}
	if len(cr.Methods) > 0 {
		r.methods = append([]string(nil), cr.Methods...)
	} else if r.Kind == config.KindRPC {
		r.methods = []string{http.MethodGet, http.MethodPost}
	}
	if o.Strategy != "" {
		s, err := selector.ParseStrategy(o.Strategy)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Name, err)
		}
		r.Strategy = s
	}
	if o.HashKey != "" {
		ks, err := ParseKeySource(o.HashKey)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Name, err)
		}
		r.HashKey = ks
	}
	if o.Retries != nil {
		r.Retries = *o.Retries
	}
	if o.RetryNonIdempotent != nil {
		r.RetryNonIdempotent = *o.RetryNonIdempotent
	}
	if err := r.compileResilience(o); err != nil {
		return nil, fmt.Errorf("route %q: %w", r.Name, err)
	}
	r.Auth = config.RouteAuth{Mode: config.AuthNone}
	if o.Auth != nil {
		r.Auth = *o.Auth
		if r.Auth.Mode == "" {
			r.Auth.Mode = config.AuthNone
		}
	}
	return r, nil
}

// Match returns the route whose prefix is the longest one that path starts
// with, on a segment boundary; ok is false when none does.
func (t *Table) Match(path string) (r *Route, ok bool) {
	for _, r := range t.routes {
		if hasPrefix(path, r.Prefix) {
			return r, true
		}
	}
	return nil, false
}

// hasPrefix reports whether path is prefix or lies below it.
func hasPrefix(path, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(path, "/")
	}
	return strings.HasPrefix(path, prefix) && (len(path) == len(prefix) || path[len(prefix)] == '/')
}

// Rest returns the part of path below the route's prefix, starting with "/"
// (or "" when path is the prefix itself).
func (r *Route) Rest(path string) string {
	if r.Prefix == "/" {
		return path
	}
	return path[len(r.Prefix):]
}
