package config

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/microlb/microlb/selector"
)

// Validate checks the whole configuration and reports every problem at once.
// It changes nothing: the defaults are Defaulted's.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Address == "" {
		add("address must not be empty")
	}
	for _, a := range []string{c.Address, c.AdminAddress} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			add("listen address %q: %v", a, err)
		}
	}
	if c.Address != "" && c.Address == c.AdminAddress {
		add("address and admin_address must differ")
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		add("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	for _, cidr := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			add("server.trusted_proxies: %v", err)
		}
	}
	errs = append(errs, c.Server.Listen.validate()...)
	if c.Server.MaxHeaderBytes < 0 {
		add("server.max_header_bytes must not be negative")
	}
	for _, h := range c.Metadata.Headers {
		if err := checkMetadataHeader(h, c.Auth.APIKeyHeader); err != nil {
			add("metadata.headers: %v", err)
		}
	}
	for i, h := range c.AdminHosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/ \t") {
			add("admin_hosts[%d]: %q is not a host name", i, h)
		}
	}
	errs = append(errs, c.Defaults.validate("defaults")...)
	errs = append(errs, c.CORS.validate("cors")...)
	names, paths := map[string]bool{}, map[string]bool{}
	usesJWT := usesMode(c.Defaults.Auth, AuthJWT)
	for i, r := range c.Routes {
		d := c.Defaulted(r)
		where := fmt.Sprintf("routes[%d]", i)
		if d.Name != "" {
			where = fmt.Sprintf("route %q", d.Name)
		}
		errs = append(errs, r.validate(where, d)...)
		errs = append(errs, checkLimitKey(where, d.RouteOptions)...)
		if names[d.Name] {
			add("%s: duplicate name", where)
		}
		names[d.Name] = true
		if lp := strings.ToLower(d.Path); paths[lp] {
			add("%s: duplicate path %q (paths match without regard to case)", where, r.Path)
		} else {
			paths[lp] = true
		}
		usesJWT = usesJWT || usesMode(r.Auth, AuthJWT)
	}
	if !c.DisableDefaultRoute && !paths["/"] {
		errs = append(errs, checkLimitKey("the default route", c.Defaults)...)
	}
	keys := map[string]bool{}
	for i, k := range c.Auth.APIKeys {
		if k.Key == "" {
			add("auth.api_keys[%d]: empty key", i)
		}
		if keys[k.Key] {
			add("auth.api_keys[%d]: duplicate key", i)
		}
		keys[k.Key] = true
	}
	j := c.Auth.JWT
	if usesJWT && j.HS256Secret == "" && j.RS256PublicKey == "" && j.RS256PublicKeyFile == "" {
		add("a route uses jwt auth but auth.jwt has neither hs256_secret nor an rs256 public key")
	}
	if j.HS256Secret != "" && len(j.HS256Secret) < 16 {
		add("auth.jwt.hs256_secret must be at least 16 bytes")
	}
	return errors.Join(errs...)
}

func usesMode(a *RouteAuth, mode string) bool {
	return a != nil && (a.Mode == mode || a.Mode == AuthAny && mode == AuthJWT)
}

// checkLimitKey refuses a rate limit keyed by API key on a route whose auth
// does not check API keys: the key would be whatever the client sent, and a
// new one per request would never be limited. o is the route's merged
// options.
func checkLimitKey(where string, o RouteOptions) []error {
	if o.RateLimit == nil || o.RateLimit.By != LimitByAPIKey {
		return nil
	}
	if o.Auth == nil || o.Auth.Mode != AuthAPIKey && o.Auth.Mode != AuthAny {
		return []error{fmt.Errorf("%s: rate_limit.by api_key needs auth mode api_key or any (the key must be checked before it counts)", where)}
	}
	return nil
}

// reservedMetadata are go-micro's own transport headers: a client must never
// set them through the allow-list.
var reservedMetadata = []string{"micro-", "content-type", "accept", "timeout", "host", "method", "local", "remote", "connection"}

// privateHeaders are credentials and the gateway's own headers: copying them
// from a client into RPC metadata would hand a backend a secret, or a value
// it trusts as the gateway's, that the client chose.
var privateHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-principal",
	"x-microlb-", "x-forwarded-", "forwarded", "x-real-ip", "true-client-ip"}

// checkMetadataHeader refuses go-micro's reserved headers, credentials
// (apiKeyHeader among them) and the gateway's own headers.
func checkMetadataHeader(h, apiKeyHeader string) error {
	l := strings.ToLower(h)
	if l == "" {
		return errors.New("empty header name")
	}
	if apiKeyHeader == "" {
		apiKeyHeader = DefaultAPIKeyHeader
	}
	for _, r := range reservedMetadata {
		if l == r || strings.HasSuffix(r, "-") && strings.HasPrefix(l, r) {
			return fmt.Errorf("%q is reserved by go-micro", h)
		}
	}
	for _, r := range append(privateHeaders, strings.ToLower(apiKeyHeader)) {
		if l == r || strings.HasSuffix(r, "-") && strings.HasPrefix(l, r) {
			return fmt.Errorf("%q carries credentials or the gateway's own information; it is never copied from a client", h)
		}
	}
	return nil
}

// validate checks the route as written, r, and as Defaulted made it, d.
func (r *Route) validate(where string, d Route) []error {
	var errs []error
	add := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{where}, a...)...))
	}
	if !strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "//") || strings.Contains(r.Path, "/../") || strings.HasSuffix(r.Path, "/..") {
		add("path %q must be a clean absolute path", r.Path)
	}
	switch d.Kind {
	case KindRPC:
		if r.StripPrefix || r.Rewrite != "" {
			add("strip_prefix and rewrite apply to proxy routes only")
		}
		if r.Endpoint != "" {
			if r.Service == "" {
				add("endpoint needs a service")
			}
			if p := strings.Split(r.Endpoint, "."); len(p) != 2 || p[0] == "" || p[1] == "" {
				add("endpoint %q must look like Handler.Method", r.Endpoint)
			}
		}
	case KindProxy:
		if r.Service == "" {
			add("a proxy route needs a service")
		}
		if r.Endpoint != "" {
			add("endpoint applies to rpc routes only")
		}
		if r.StripPrefix && r.Rewrite != "" {
			add("strip_prefix and rewrite are exclusive")
		}
		if r.Rewrite != "" && !strings.HasPrefix(r.Rewrite, "/") {
			add("rewrite %q must start with /", r.Rewrite)
		}
	default:
		add("kind %q: want rpc or proxy", r.Kind)
	}
	for _, m := range d.Methods {
		if !validMethod(m) {
			add("method %q is not an HTTP method token", m)
		}
	}
	if r.CORS != nil {
		errs = append(errs, r.CORS.validate(where+".cors")...)
	}
	return append(errs, r.RouteOptions.validate(where)...)
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func (o RouteOptions) validate(where string) []error {
	var errs []error
	add := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{where}, a...)...))
	}
	if o.Strategy != "" {
		if _, err := selector.ParseStrategy(o.Strategy); err != nil {
			add("%v", err)
		}
	}
	if o.HashKey != "" {
		if _, _, err := ParseHashKey(o.HashKey); err != nil {
			add("%v", err)
		}
	}
	if o.Timeout < 0 || o.StreamTimeout < 0 || o.PerTryTimeout < 0 {
		add("timeouts must not be negative")
	}
	o.validateResilience(add)
	if o.PerTryTimeout > 0 && o.Timeout > 0 && o.PerTryTimeout > o.Timeout {
		add("per_try_timeout (%s) must not exceed timeout (%s)", o.PerTryTimeout, o.Timeout)
	}
	if o.Retries != nil && (*o.Retries < 0 || *o.Retries > 10) {
		add("retries must be between 0 and 10")
	}
	if o.MaxBodyBytes < 0 {
		add("max_body_bytes must not be negative")
	}
	if o.MaxResponseBytes < 0 {
		add("max_response_bytes must not be negative")
	}
	if o.Auth != nil {
		switch o.Auth.Mode {
		case "", AuthNone, AuthAPIKey, AuthJWT, AuthAny:
		default:
			add("auth.mode %q: want none, api_key, jwt or any", o.Auth.Mode)
		}
		if (o.Auth.Mode == "" || o.Auth.Mode == AuthNone) && len(o.Auth.Scopes) > 0 {
			add("auth.scopes need an auth mode")
		}
	}
	if rl := o.RateLimit; rl != nil {
		if rl.RPS < 0 || rl.Burst < 0 {
			add("rate_limit: rps and burst must not be negative")
		}
		switch rl.By {
		case "", LimitByIP, LimitByAPIKey, LimitByPrincipal:
		default:
			add("rate_limit.by %q: want ip, api_key or principal", rl.By)
		}
	}
	return errs
}

func (c *CORS) validate(where string) []error {
	var errs []error
	for _, o := range c.AllowOrigins {
		if o == "*" && c.AllowCredentials {
			errs = append(errs, fmt.Errorf("%s: allow_origins \"*\" cannot be combined with allow_credentials", where))
		}
	}
	for _, m := range c.AllowMethods {
		if !validMethod(strings.ToUpper(m)) {
			errs = append(errs, fmt.Errorf("%s: allow_methods: %q is not a method", where, m))
		}
	}
	for _, h := range c.AllowHeaders {
		if h != "*" && http.CanonicalHeaderKey(h) == "" {
			errs = append(errs, fmt.Errorf("%s: allow_headers: empty header", where))
		}
	}
	return errs
}

// Hash key sources.
const (
	KeyHeader   = "header"
	KeyCookie   = "cookie"
	KeyQuery    = "query"
	KeyPath     = "path"
	KeyClientIP = "client_ip"
)

// ParseHashKey splits a hash key source such as "header:X-User" into its
// kind and name. path and client_ip take no name.
func ParseHashKey(s string) (kind, name string, err error) {
	kind, name, _ = strings.Cut(strings.TrimSpace(s), ":")
	switch kind {
	case KeyHeader, KeyCookie, KeyQuery:
		if name == "" {
			return "", "", fmt.Errorf("hash_key %q: %s needs a name, e.g. %s:X-User", s, kind, kind)
		}
		if kind == KeyHeader {
			name = http.CanonicalHeaderKey(name)
		}
		return kind, name, nil
	case KeyPath, KeyClientIP:
		if name != "" {
			return "", "", fmt.Errorf("hash_key %q: %s takes no name", s, kind)
		}
		return kind, "", nil
	}
	return "", "", fmt.Errorf("hash_key %q: want header:<name>, cookie:<name>, query:<name>, path or client_ip", s)
}
