package gateway

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/microlb/microlb/api-gateway/config"
)

// configPollInterval is how often the configuration is loaded again to see
// whether it changed. Tests shorten it.
var configPollInterval = 2 * time.Second

// reloadState is a gateway's hot-reload state. The public handler serves
// live's onion when set, the gateway's own otherwise.
type reloadState struct {
	live atomic.Pointer[Gateway] // the newest generation

	mu     sync.Mutex // serializes reloads; guards what follows
	load   func() (*config.Config, error)
	cfg    *config.Config  // the configuration in use
	failed string          // the last load error logged by the watcher
	now    <-chan struct{} // ReloadOn's channel
	errors prometheus.Counter
}

// serveLive is the public handler: the newest generation's onion. A request
// runs to its end on the generation it started on.
func (g *Gateway) serveLive(w http.ResponseWriter, r *http.Request) {
	if cur := g.rl.live.Load(); cur != nil {
		cur.handler.ServeHTTP(w, r)
		return
	}
	g.handler.ServeHTTP(w, r)
}

// ReloadFrom turns on hot reload: load returns the configuration again
// (the binary passes config.Load over its arguments and environment). While
// Serve runs, SIGHUP (ListenAndServe) and every change of what load returns
// (checked every 2 s) rebuild the routes, auth, CORS, rate limits, route
// options, namespace and trusted proxies, and swap them in atomically:
// requests in flight finish on the set they started with. A configuration
// that fails to load or to build is logged, counted in
// microlb_config_reload_errors_total, and the current one stays. Listener,
// registry, admin, metadata, catalog and log settings need a restart; a
// reload that changes them says so in the log.
func (g *Gateway) ReloadFrom(load func() (*config.Config, error)) {
	g.rl.mu.Lock()
	defer g.rl.mu.Unlock()
	g.rl.load = load
	if g.rl.cfg == nil {
		g.rl.cfg = g.cfg
	}
	if g.rl.errors == nil {
		g.rl.errors = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microlb_config_reload_errors_total",
			Help: "Configuration reloads rejected (unreadable, invalid, or failing to build); the previous configuration stayed.",
		})
		g.metrics.Registry().MustRegister(g.rl.errors)
	}
}

// ReloadOn makes every value received on changed (config.Loader.Changed
// for a Consul key) reload the configuration at once, as the 2 s check
// would on a change, while Serve runs. Call it before Serve.
func (g *Gateway) ReloadOn(changed <-chan struct{}) {
	g.rl.mu.Lock()
	defer g.rl.mu.Unlock()
	g.rl.now = changed
}

// Reload loads the configuration again now and swaps it in when it is
// valid; see ReloadFrom. It returns the error that kept the old one.
func (g *Gateway) Reload() error { return g.reload("call", false) }

// reload loads and applies the configuration. With onlyChanged it does
// nothing when the configuration equals the one in use, and logs an error
// only once until it changes (the file watcher's polling).
func (g *Gateway) reload(trigger string, onlyChanged bool) error {
	g.rl.mu.Lock()
	defer g.rl.mu.Unlock()
	if g.rl.load == nil {
		return nil
	}
	cfg, err := g.rl.load()
	if err == nil && onlyChanged && reflect.DeepEqual(cfg, g.rl.cfg) {
		g.rl.failed = ""
		return nil
	}
	var ng *Gateway
	if err == nil {
		ng, err = g.generation(cfg)
	}
	if err != nil {
		if onlyChanged && err.Error() == g.rl.failed {
			return err
		}
		g.rl.failed = err.Error()
		g.rl.errors.Inc()
		g.log.Error("configuration reload rejected; the previous configuration stays in use",
			"trigger", trigger, "error", err.Error())
		return err
	}
	if keys := restartKeys(g.rl.cfg, cfg); len(keys) > 0 {
		g.log.Warn("configuration reloaded, but these settings only take effect after a restart",
			"trigger", trigger, "keys", keys)
	}
	g.rl.cfg, g.rl.failed = cfg, ""
	g.rl.live.Store(ng)
	routes := make([]string, 0, len(ng.table.Routes()))
	for _, r := range ng.table.Routes() {
		routes = append(routes, r.Kind+" "+r.Prefix+"→"+orDynamic(r.Service))
	}
	g.log.Info("configuration reloaded", "trigger", trigger, "routes", routes)
	return nil
}

// generation builds the onion of cfg over g's long-lived parts: selector,
// RPC client and handler, proxy and its connections, catalog and metrics
// are shared; the route table, authenticator, trusted proxies (and the rate
// limiter when the API key header changes) are new.
func (g *Gateway) generation(cfg *config.Config) (*Gateway, error) {
	ng, err := New(Options{Config: cfg, Registry: g.reg, Selector: g.sel, HTTPTransport: g.httpRT,
		Logger: g.log, AccessLog: g.accessLog})
	if err != nil {
		return nil, err
	}
	ng.rpc, ng.proxy, ng.catalog, ng.metrics = g.rpc, g.proxy, g.catalog, g.metrics
	if cfg.Auth.APIKeyHeader == g.rl.cfg.Auth.APIKeyHeader {
		ng.limiter = g.current().limiter // keep the buckets
	}
	ng.handler = Chain(http.HandlerFunc(ng.dispatch), ng.Layers()...)
	return ng, nil
}

// current is the newest generation (g itself before any reload).
func (g *Gateway) current() *Gateway {
	if cur := g.rl.live.Load(); cur != nil {
		return cur
	}
	return g
}

// restartKeys names the settings that differ between old and cur and that
// a reload does not apply.
func restartKeys(old, cur *config.Config) []string {
	var keys []string
	add := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			keys = append(keys, key)
		}
	}
	add("address", old.Address, cur.Address)
	add("admin_address", old.AdminAddress, cur.AdminAddress)
	add("admin_token", old.AdminToken, cur.AdminToken)
	add("registry", old.Registry, cur.Registry)
	add("registry_address", old.RegistryAddress, cur.RegistryAddress)
	add("metadata", old.Metadata, cur.Metadata)
	add("catalog_ttl", old.CatalogTTL, cur.CatalogTTL)
	add("log_level", old.LogLevel, cur.LogLevel)
	a, b := old.Server, cur.Server
	a.TrustedProxies, b.TrustedProxies = nil, nil
	add("server", a, b)
	return keys
}

// watchConfig reloads whenever what the loader returns changes, checking
// every interval and on each value from ReloadOn's channel, until ctx ends.
func (g *Gateway) watchConfig(ctx context.Context, interval time.Duration) {
	g.rl.mu.Lock()
	now := g.rl.now
	g.rl.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = g.reload("config change", true)
		case <-now:
			_ = g.reload("config change", true)
		}
	}
}

// hotReload reports whether ReloadFrom was called.
func (g *Gateway) hotReload() bool {
	g.rl.mu.Lock()
	defer g.rl.mu.Unlock()
	return g.rl.load != nil
}
