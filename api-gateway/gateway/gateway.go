// Package gateway assembles microlb's API gateway: the route table, the
// middleware onion (see Layers), the RPC handler and the reverse proxy on
// the public listener, and the admin listener.
package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/api-gateway/catalog"
	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/metrics"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/proxy"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/api-gateway/rpc"
	"github.com/microlb/microlb/selector"
)

// EmptyHold is how long the gateway's own selector keeps serving the last
// known nodes of a service whose registry entry suddenly lists none. A
// Consul agent that restarts answers with an empty catalog until its
// services are synced or registered again (a dev agent for up to a
// producer's register interval); without the hold, every service would be
// unavailable for that moment. The price: when every node of a service is
// really gone, requests fail with 502 (refused) for this long before the
// gateway answers 503.
const EmptyHold = 10 * time.Second

// Options are a gateway's dependencies. Only Config and Registry are required.
type Options struct {
	Config   *config.Config
	Registry registry.Registry
	// Selector picks nodes; nil builds a microlb selector over Registry
	// with the configuration's default strategy and EmptyHold (closed by
	// Close).
	Selector *selector.Selector
	// Transport is the go-micro transport of mucp streams (nil: HTTP
	// transport); unary RPCs use the rpc package's own pooled connections.
	Transport transport.Transport
	// HTTPTransport is the proxy's transport (nil: proxy.NewTransport()).
	HTTPTransport http.RoundTripper
	// Logger gets the gateway's own messages; AccessLog the access lines
	// (nil: Logger). nil Logger: JSON on stderr.
	Logger    *slog.Logger
	AccessLog *slog.Logger
}

// Gateway is an assembled gateway.
type Gateway struct {
	cfg       *config.Config
	reg       registry.Registry
	sel       *selector.Selector
	ownSel    bool
	table     *route.Table
	catalog   *catalog.Catalog
	rpc       *rpc.Handler
	proxy     *proxy.Proxy
	httpRT    http.RoundTripper
	metrics   *metrics.Metrics
	limiter   *middleware.RateLimiter
	auth      *middleware.Authenticator
	trusted   []netip.Prefix
	log       *slog.Logger
	accessLog *slog.Logger
	handler   http.Handler
	rl        reloadState // hot reload: see reload.go

	testRun atomic.Bool // a test-calls run is under way (one at a time)

	probeMu  sync.Mutex
	probeAt  time.Time
	probeErr error

	closeOnce sync.Once
}

// New assembles a gateway. The configuration must be valid (config.Load
// validates it).
func New(o Options) (*Gateway, error) {
	if o.Config == nil || o.Registry == nil {
		return nil, errors.New("gateway: Config and Registry are required")
	}
	cfg := o.Config
	g := &Gateway{cfg: cfg, reg: o.Registry, sel: o.Selector, log: o.Logger, accessLog: o.AccessLog}
	if g.log == nil {
		g.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if g.accessLog == nil {
		g.accessLog = g.log
	}
	for _, cidr := range cfg.Server.TrustedProxies {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("gateway: trusted proxy %q: %w", cidr, err)
		}
		g.trusted = append(g.trusted, p.Masked())
	}
	var err error
	if g.table, err = route.NewTable(cfg); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if g.auth, err = middleware.NewAuthenticator(cfg.Auth); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if g.sel == nil {
		strategy, err := selector.ParseStrategy(cfg.Defaulted(config.Route{}).Strategy)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		g.sel, g.ownSel = selector.New(gselector.Registry(o.Registry), selector.WithStrategy(strategy),
			selector.WithEmptyHold(EmptyHold)), true
	}
	g.catalog = catalog.New(o.Registry, cfg.CatalogTTL)
	g.rpc = rpc.NewHandler(rpc.Options{Selector: g.sel, Transport: o.Transport, Catalog: g.catalog, Headers: cfg.Metadata.Headers, Known: g.sel.Watching, Log: g.log})
	g.httpRT = o.HTTPTransport
	if g.httpRT == nil {
		g.httpRT = proxy.NewTransport()
	}
	g.proxy = proxy.New(g.sel, g.httpRT, g.log)
	g.proxy.SetAPIKeyHeader(cfg.Auth.APIKeyHeader)
	g.metrics = metrics.New(g.sel)
	g.limiter = middleware.NewRateLimiter(middleware.DefaultMaxBuckets)
	g.handler = Chain(http.HandlerFunc(g.dispatch), g.Layers()...)
	g.warnOpenSideDoors()
	return g, nil
}

// warnOpenSideDoors logs a warning for each configured route without auth
// that names a service another configured route protects with auth. Routes
// that take the service from the path are guarded (see route.Table.Match);
// a configured route says what it means, so the gateway serves it as
// written, but the operator should know that it is a way around the other.
func (g *Gateway) warnOpenSideDoors() {
	protected := map[string]string{}
	for _, r := range g.table.Routes() {
		if r.Service != "" && r.Auth.Mode != config.AuthNone {
			protected[strings.ToLower(r.Service)] = r.Name
		}
	}
	for _, r := range g.table.Routes() {
		if p, ok := protected[strings.ToLower(r.Service)]; ok && r.Service != "" && r.Auth.Mode == config.AuthNone {
			g.log.Warn("a route without auth reaches a service that another route protects with auth",
				"route", r.Name, "service", r.Service, "protected_by", p)
		}
	}
}

// Handler returns the public handler: the onion around dispatch (the
// newest one after a reload; see ReloadFrom).
func (g *Gateway) Handler() http.Handler { return http.HandlerFunc(g.serveLive) }

// Metrics returns the gateway's collectors.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// Selector returns the selector the gateway picks nodes with.
func (g *Gateway) Selector() *selector.Selector { return g.sel }

// Routes returns the compiled routes, longest prefix first.
func (g *Gateway) Routes() []*route.Route { return g.table.Routes() }

// Close releases what New created: the selector's watches (when the
// gateway built the selector).
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.rpc.Close()
		if g.ownSel {
			g.sel.Close()
		}
	})
	return nil
}
