// Package config holds the gateway's configuration: the YAML file named by
// --config, overridden by MICRO_* environment variables, overridden by flags.
// With no file at all the defaults give a working gateway: every service in
// the registry is reachable over RPC at /{service}/{method}.
package config

import "time"

// Route kinds.
const (
	KindRPC   = "rpc"   // HTTP → go-micro RPC with the JSON codec
	KindProxy = "proxy" // HTTP reverse proxy to nodes of an HTTP service
)

// Auth modes of a route.
const (
	AuthNone   = "none"    // no credentials needed
	AuthAPIKey = "api_key" // a configured API key
	AuthJWT    = "jwt"     // a valid JWT bearer token
	AuthAny    = "any"     // either an API key or a JWT
)

// Rate-limit keys.
const (
	LimitByIP        = "ip"        // one bucket per client IP
	LimitByAPIKey    = "api_key"   // one bucket per authenticated API key (api_key or any routes)
	LimitByPrincipal = "principal" // one bucket per authenticated principal; per IP when there is none
)

// Defaults that other packages read too; the rest are written out in Default.
const (
	DefaultAPIKeyHeader    = "X-API-Key"
	DefaultRateLimitBucket = 10 * time.Minute // how long an idle rate-limit bucket is kept
	// DefaultMaxResponseBytes caps a response the gateway holds in memory
	// (a unary RPC answer, a buffered proxy answer): 8 MiB.
	DefaultMaxResponseBytes = 8 << 20
)

// Config is the whole gateway configuration. Its YAML keys are the
// snake_case names in the struct tags.
type Config struct {
	// Address is the public listener (--address, MICRO_ADDRESS).
	Address string `yaml:"address"`
	// AdminAddress is the admin listener (--admin_address, MICRO_ADMIN_ADDRESS).
	AdminAddress string `yaml:"admin_address"`
	// AdminToken, when set, is required as "Authorization: Bearer <token>"
	// on the admin listener except /healthz (--admin_token, MICRO_ADMIN_TOKEN).
	AdminToken string `yaml:"admin_token"`
	// AdminHosts are the extra Host names (with or without a port) the
	// admin listener answers to, besides its listen address and loopback
	// names (localhost, 127.0.0.1, [::1]). Any other Host gets 421, which
	// defeats DNS rebinding.
	AdminHosts []string `yaml:"admin_hosts"`
	// Registry is the go-micro registry plugin name (--registry, MICRO_REGISTRY).
	Registry string `yaml:"registry"`
	// RegistryAddress is a comma-separated list of registry addresses
	// (--registry_address, MICRO_REGISTRY_ADDRESS).
	RegistryAddress string `yaml:"registry_address"`
	// Namespace prefixes the service named in the path of a dynamic RPC
	// route: with "go.micro.srv." /greeter/hello calls go.micro.srv.greeter.
	Namespace string `yaml:"namespace"`
	// DisableDefaultRoute turns off the catch-all dynamic RPC route, so only
	// the configured routes answer.
	DisableDefaultRoute bool `yaml:"disable_default_route"`
	// Defaults apply to every route (the dynamic one included) unless the
	// route sets its own value.
	Defaults RouteOptions `yaml:"defaults"`
	// Server holds the listeners' timeouts and limits.
	Server Server `yaml:"server"`
	// CORS is the cross-origin policy; a route may replace it.
	CORS CORS `yaml:"cors"`
	// Auth holds the credentials; routes choose a mode.
	Auth Auth `yaml:"auth"`
	// Metadata chooses which request headers become go-micro metadata.
	Metadata Metadata `yaml:"metadata"`
	// CatalogTTL is how long the registry's endpoint list of a service is
	// cached (streaming detection, unknown-method 404s).
	CatalogTTL time.Duration `yaml:"catalog_ttl"`
	// LogLevel is debug, info, warn or error (--log_level, MICRO_LOG_LEVEL).
	LogLevel string `yaml:"log_level"`
	// Routes are matched by longest path prefix; the dynamic RPC route is
	// the fallback at "/".
	Routes []Route `yaml:"routes"`
	// Tracing turns on OpenTelemetry tracing; nil: off (see tracing.go).
	Tracing *Tracing `yaml:"tracing"`
}

// Server holds the listeners' hygiene settings.
type Server struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response; streaming responses push the
	// deadline forward by this much on every flush.
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	MaxHeaderBytes  int           `yaml:"max_header_bytes"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies lists CIDRs whose X-Forwarded-For is believed when
	// finding the client IP (rate limits, client_ip hash keys, logs).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Listen holds tls, admin_tls, h2c and accept_grace (see tls.go).
	Listen `yaml:",inline"`
}

// RouteOptions are the per-route settings that Defaults can also hold.
// A nil pointer or zero value means "inherit".
type RouteOptions struct {
	// Strategy is a microlb strategy: random, roundrobin, weighted, hash,
	// leastloaded.
	Strategy string `yaml:"strategy"`
	// HashKey is the hash strategy's key source: header:<name>,
	// cookie:<name>, query:<name>, path or client_ip.
	HashKey string `yaml:"hash_key"`
	// Timeout bounds the time until the upstream's response starts.
	Timeout time.Duration `yaml:"timeout"`
	// StreamTimeout bounds a whole streamed response (SSE, NDJSON, a
	// streamed proxy body); 0 in a route means inherit.
	StreamTimeout time.Duration `yaml:"stream_timeout"`
	// PerTryTimeout bounds each attempt inside Timeout: an idempotent
	// request whose attempt times out is retried on another node, and the
	// node counts a failure. 0: an attempt may use all of Timeout.
	PerTryTimeout time.Duration `yaml:"per_try_timeout"`
	// Retries is how many extra attempts, each on a different node.
	Retries *int `yaml:"retries"`
	// RetryNonIdempotent lets POST, PATCH and the like retry after the
	// request may have reached a node. Requests that never left the
	// gateway (connection refused) are retried regardless.
	RetryNonIdempotent *bool `yaml:"retry_non_idempotent"`
	// Hedge sends hedged requests (idempotent ones only); nil: none.
	Hedge *Hedge `yaml:"hedge"`
	// RetryBudget bounds retries and hedges; nil: 20 %, minimum 3.
	RetryBudget *RetryBudget `yaml:"retry_budget"`
	// MaxBodyBytes caps the request body (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxResponseBytes caps a response the gateway reads whole into memory
	// (unary RPC answers, buffered proxy answers): 502 beyond. Default
	// 8 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// Auth is the route's auth policy.
	Auth *RouteAuth `yaml:"auth"`
	// RateLimit is the route's rate limit.
	RateLimit *RateLimit `yaml:"rate_limit"`
}

// Route is one configured route.
type Route struct {
	// Name labels the route in logs and metrics; defaults to the path.
	Name string `yaml:"name"`
	// Path is a path prefix: "/api" matches /api and /api/..., not /apix.
	Path string `yaml:"path"`
	// Kind is rpc (default) or proxy.
	Kind string `yaml:"kind"`
	// Service is the registry name. An rpc route without one takes the
	// service from the first path segment after Path (namespace-prefixed).
	Service string `yaml:"service"`
	// Endpoint fixes the RPC endpoint ("Greeter.Hello"); otherwise the rest
	// of the path names it: /{method} or /{handler}/{method}.
	Endpoint string `yaml:"endpoint"`
	// Methods are the allowed HTTP methods (405 otherwise). Default: GET
	// and POST for rpc, every method for proxy.
	Methods []string `yaml:"methods"`
	// StripPrefix removes Path before proxying.
	StripPrefix bool `yaml:"strip_prefix"`
	// Rewrite replaces Path with this prefix before proxying.
	Rewrite string `yaml:"rewrite"`
	// CORS replaces the global CORS policy for this route.
	CORS *CORS `yaml:"cors"`
	// ForwardCredentials passes the credentials the gateway checked (the
	// API-key header, "Authorization") on to the upstream. Off by default:
	// they are removed once consumed.
	ForwardCredentials bool `yaml:"forward_credentials"`

	RouteOptions `yaml:",inline"`
}

// RouteAuth is a route's auth policy.
type RouteAuth struct {
	// Mode is none, api_key, jwt or any.
	Mode string `yaml:"mode"`
	// Scopes must all be granted (403 otherwise): by the API key's scopes,
	// or by the JWT's "scope" (space-separated) or "scopes" claim.
	Scopes []string `yaml:"scopes"`
}

// RateLimit is a token bucket per client.
type RateLimit struct {
	// RPS is the refill rate; 0 disables the limit.
	RPS float64 `yaml:"rps"`
	// Burst is the bucket size (default: max(1, ceil(RPS))).
	Burst int `yaml:"burst"`
	// By is ip (default), api_key (the authenticated API key; the route
	// must use api_key or any auth) or principal (the authenticated API
	// key or JWT subject; per IP on a route without auth).
	By string `yaml:"by"`
}

// CORS is a cross-origin policy. An empty AllowOrigins disables CORS.
type CORS struct {
	AllowOrigins     []string      `yaml:"allow_origins"` // "*" allows any
	AllowMethods     []string      `yaml:"allow_methods"`
	AllowHeaders     []string      `yaml:"allow_headers"`
	ExposeHeaders    []string      `yaml:"expose_headers"`
	AllowCredentials bool          `yaml:"allow_credentials"`
	MaxAge           time.Duration `yaml:"max_age"`
}

// Auth holds credentials.
type Auth struct {
	// APIKeyHeader carries the API key (default X-API-Key); "Authorization:
	// ApiKey <key>" is accepted too.
	APIKeyHeader string   `yaml:"api_key_header"`
	APIKeys      []APIKey `yaml:"api_keys"`
	JWT          JWT      `yaml:"jwt"`
}

// APIKey is one API key.
type APIKey struct {
	Name   string   `yaml:"name"`
	Key    string   `yaml:"key"`
	Scopes []string `yaml:"scopes"`
}

// JWT configures bearer-token validation. Only HS256 and RS256 are accepted;
// alg "none" and every other algorithm are rejected.
type JWT struct {
	// HS256Secret enables HS256 (MICRO_JWT_HS256_SECRET overrides it).
	HS256Secret string `yaml:"hs256_secret"`
	// RS256PublicKeyFile is a PEM public key that enables RS256.
	RS256PublicKeyFile string `yaml:"rs256_public_key_file"`
	// RS256PublicKey is the PEM itself, inline.
	RS256PublicKey string `yaml:"rs256_public_key"`
	Issuer         string `yaml:"issuer"`
	Audience       string `yaml:"audience"`
	// RequireExp rejects tokens without an exp claim (default true).
	RequireExp *bool         `yaml:"require_exp"`
	Leeway     time.Duration `yaml:"leeway"`
}

// Metadata configures header → go-micro metadata forwarding.
type Metadata struct {
	// Headers is the allow-list of request headers copied into the RPC's
	// metadata. X-Request-Id is always forwarded. Credentials (Authorization,
	// Cookie, Set-Cookie, the API-key header) and the gateway's own headers
	// (X-Auth-Principal, X-Microlb-*, X-Forwarded-*, Forwarded, X-Real-Ip,
	// True-Client-Ip, Micro-*) are refused.
	Headers []string `yaml:"headers"`
}

// Default returns the configuration used when no file is given, which the
// YAML, the environment and the flags then override. (The defaults of a
// route's unset options are Defaulted's.)
func Default() *Config {
	return &Config{
		Address:      ":8080",
		AdminAddress: "127.0.0.1:8081",
		Registry:     "consul",
		CatalogTTL:   10 * time.Second,
		LogLevel:     "info",
		Defaults: RouteOptions{
			Strategy:         "weighted",
			Timeout:          10 * time.Second,
			StreamTimeout:    5 * time.Minute,
			Retries:          ptr(1),
			MaxBodyBytes:     1 << 20,
			MaxResponseBytes: DefaultMaxResponseBytes,
			Auth:             &RouteAuth{Mode: AuthNone},
		},
		Server: Server{
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ShutdownTimeout:   20 * time.Second,
		},
		Auth: Auth{APIKeyHeader: DefaultAPIKeyHeader},
		Metadata: Metadata{Headers: []string{
			"X-Request-Id", "Traceparent", "Tracestate", "Accept-Language", "X-Hash-Key",
		}},
	}
}

func ptr[T any](v T) *T { return &v }
