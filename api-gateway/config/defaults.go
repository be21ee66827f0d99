package config

import (
	"cmp"
	"math"
	"net/http"
	"strings"

	"github.com/microlb/microlb/selector"
)

// RPCMethods are the HTTP methods of an RPC: an rpc route that lists no
// methods accepts these, and so does the dynamic route for a go-micro
// service. It is the one definition; read it, never change it.
var RPCMethods = []string{http.MethodGet, http.MethodPost}

// Defaulted returns r as the gateway serves it. It is the one place that
// applies the defaults of a route: Validate checks the configuration as
// written and changes nothing, and route.NewTable compiles each route from
// what Defaulted returns, reading no default of its own. (The gateway-wide
// settings start from Default, which the YAML, the environment and the
// flags then override.) Defaulted changes neither c nor r. A route without
// methods of its own shares RPCMethods, and one without a CORS policy shares
// c.CORS: both are read-only once the configuration is loaded.
//
//	name                  the path
//	path                  without a trailing "/" ("/" stays)
//	kind                  rpc
//	methods               trimmed and upper-cased; none: RPCMethods on an
//	                      rpc route, any method (nil) on a proxy route
//	rewrite               without a trailing "/"
//	cors                  the global policy, c.CORS
//	every option          the route's own, else c.Defaults' (Merge); then:
//	strategy              selector.DefaultStrategy
//	retries               0
//	retry_non_idempotent  false
//	max_response_bytes    DefaultMaxResponseBytes
//	auth                  mode none (also for an auth without a mode)
//	rate_limit            by ip; burst max(1, ⌈rps⌉)
//	hedge                 max 1
//	retry_budget          selector.DefaultRetryBudgetRatio and
//	                      selector.DefaultRetryBudgetMin
//
// Timeouts, max_body_bytes and hash_key have no default here: zero means
// none (Default's Defaults give the timeouts and the body limit).
func (c *Config) Defaulted(r Route) Route {
	if r.Path != "/" {
		r.Path = strings.TrimSuffix(r.Path, "/")
	}
	if r.Name == "" {
		r.Name = r.Path
	}
	if r.Kind == "" {
		r.Kind = KindRPC
	}
	methods := RPCMethods
	if len(r.Methods) > 0 || r.Kind != KindRPC {
		methods = nil
		for _, m := range r.Methods {
			methods = append(methods, strings.ToUpper(strings.TrimSpace(m)))
		}
	}
	r.Methods = methods
	r.Rewrite = strings.TrimSuffix(r.Rewrite, "/")
	if r.CORS == nil {
		r.CORS = &c.CORS
	}
	r.RouteOptions = r.RouteOptions.Merge(c.Defaults).defaulted()
	return r
}

// Merge returns o with every unset field taken from def.
func (o RouteOptions) Merge(def RouteOptions) RouteOptions {
	return RouteOptions{
		Strategy:           cmp.Or(o.Strategy, def.Strategy),
		HashKey:            cmp.Or(o.HashKey, def.HashKey),
		Timeout:            cmp.Or(o.Timeout, def.Timeout),
		StreamTimeout:      cmp.Or(o.StreamTimeout, def.StreamTimeout),
		PerTryTimeout:      cmp.Or(o.PerTryTimeout, def.PerTryTimeout),
		Retries:            cmp.Or(o.Retries, def.Retries),
		RetryNonIdempotent: cmp.Or(o.RetryNonIdempotent, def.RetryNonIdempotent),
		Hedge:              cmp.Or(o.Hedge, def.Hedge),
		RetryBudget:        cmp.Or(o.RetryBudget, def.RetryBudget),
		MaxBodyBytes:       cmp.Or(o.MaxBodyBytes, def.MaxBodyBytes),
		MaxResponseBytes:   cmp.Or(o.MaxResponseBytes, def.MaxResponseBytes),
		Auth:               cmp.Or(o.Auth, def.Auth),
		RateLimit:          cmp.Or(o.RateLimit, def.RateLimit),
	}
}

// defaulted fills in the options that are unset after Merge (see Defaulted).
func (o RouteOptions) defaulted() RouteOptions {
	if o.Strategy == "" {
		o.Strategy = string(selector.DefaultStrategy)
	}
	if o.Retries == nil {
		o.Retries = ptr(0)
	}
	if o.RetryNonIdempotent == nil {
		o.RetryNonIdempotent = ptr(false)
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	auth := RouteAuth{Mode: AuthNone}
	if o.Auth != nil {
		auth = *o.Auth
		if auth.Mode == "" {
			auth.Mode = AuthNone
		}
	}
	o.Auth = &auth
	if o.RateLimit != nil {
		rl := *o.RateLimit
		if rl.By == "" {
			rl.By = LimitByIP
		}
		if rl.Burst <= 0 {
			rl.Burst = max(1, int(math.Ceil(rl.RPS)))
		}
		o.RateLimit = &rl
	}
	if o.Hedge != nil {
		h := *o.Hedge
		h.Max = max(h.Max, 1)
		o.Hedge = &h
	}
	b := RetryBudget{Ratio: ptr(selector.DefaultRetryBudgetRatio), Min: ptr(selector.DefaultRetryBudgetMin)}
	if o.RetryBudget != nil {
		b.Ratio, b.Min = cmp.Or(o.RetryBudget.Ratio, b.Ratio), cmp.Or(o.RetryBudget.Min, b.Min)
	}
	o.RetryBudget = &b
	return o
}
