package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/dashboard"
	"github.com/microlb/microlb/selector"
)

// registryProbeTTL is how long a registry probe result is reused by /readyz.
const registryProbeTTL = time.Second

// registryTimeout bounds one registry call made by the admin listener.
const registryTimeout = 3 * time.Second

// AdminHandler serves the admin listener:
//
//	/healthz             200 while the process runs
//	/readyz              200 "ready"; 200 "degraded" while a service is served
//	                     from a stale snapshot or the registry is unreachable
//	                     but snapshots serve; 503 "unavailable" when the
//	                     registry is unreachable and nothing was loaded yet,
//	                     or no route is loaded
//	/metrics             Prometheus
//	/admin/api/services  every registry service with its nodes, from Selector.Stats
//	/admin/api/test-calls POST: real calls with a chosen strategy, progress as NDJSON
//	/                    the dashboard (embedded page, script and style)
//
// With an admin token, everything but /healthz needs "Authorization: Bearer <token>".
// Every request first passes adminGuard: a Host the listener does not
// answer to gets 421, a state-changing request that is not JSON 415, and
// one from another origin 403.
func (g *Gateway) AdminHandler() http.Handler {
	return g.adminGuard(g.adminRoutes())
}

// adminRoutes is the admin mux, behind the token when one is configured.
func (g *Gateway) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", g.readyz)
	mux.Handle("GET /metrics", g.metrics.Handler())
	mux.HandleFunc("GET /admin/api/services", g.services)
	mux.HandleFunc("POST /admin/api/test-calls", g.testCalls)
	dash := dashboard.Handler()
	mux.Handle("GET /{$}", dash)
	mux.Handle("GET /static/", dash)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, http.StatusNotFound, "no admin endpoint "+r.URL.Path)
	})
	if g.cfg.AdminToken == "" {
		return mux
	}
	want := []byte("Bearer " + g.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="microlb-admin"`)
			apierr.Write(w, http.StatusUnauthorized, "admin token required")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// adminGuard protects the admin listener from web pages. DNS rebinding
// points a name the attacker controls at the listener, so a Host header
// must be an IP literal (a browser's origin is then the address itself),
// "localhost" (or a name under .localhost), the host of admin_address, or
// one of admin_hosts; ports are not compared. Anything else gets 421. A
// request that changes state (any method but GET, HEAD and OPTIONS) must
// say Content-Type: application/json (415 otherwise), which a cross-site
// form or no-CORS fetch cannot send, and carry no Origin or one of this
// very host (403 otherwise).
func (g *Gateway) adminGuard(next http.Handler) http.Handler {
	allowed := map[string]bool{"localhost": true}
	if h, _, err := net.SplitHostPort(g.cfg.AdminAddress); err == nil && h != "" {
		allowed[strings.ToLower(h)] = true
	}
	for _, h := range g.cfg.AdminHosts {
		allowed[hostOnly(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostOnly(r.Host)
		if _, err := netip.ParseAddr(host); err != nil && !allowed[host] && !strings.HasSuffix(host, ".localhost") {
			apierr.Write(w, http.StatusMisdirectedRequest, "the admin listener does not answer to host "+strconv.Quote(truncate(r.Host, 64))+"; add it to admin_hosts")
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				apierr.Write(w, http.StatusUnsupportedMediaType, "admin requests that change state need Content-Type: application/json")
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
				apierr.Write(w, http.StatusForbidden, "cross-origin admin request refused (Origin "+strconv.Quote(truncate(o, 64))+")")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostOnly is the lower-case host of a Host value, without port or IPv6
// brackets.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

// sameOrigin reports whether origin (scheme://host[:port]) names host
// (the request's Host), port included.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Path == "" && strings.EqualFold(u.Host, host)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// readiness is the body of /readyz.
type readiness struct {
	Status   string   `json:"status"` // ready, degraded, unavailable
	Registry string   `json:"registry"`
	Routes   int      `json:"routes"`
	Stale    []string `json:"stale,omitempty"`
	Error    string   `json:"error,omitempty"`
}

func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	res := readiness{Status: "ready", Registry: g.reg.String(), Routes: len(g.table.Routes())}
	stats := g.sel.Stats()
	for _, s := range stats {
		if s.Stale {
			res.Stale = append(res.Stale, s.Name)
		}
	}
	perr := g.probeRegistry()
	switch {
	case res.Routes == 0:
		res.Status, res.Error = "unavailable", "no route loaded"
	case perr != nil && len(stats) == 0:
		res.Status, res.Error = "unavailable", "registry unreachable: "+perr.Error()
	case perr != nil:
		// The snapshots keep serving: taking the gateway out of rotation
		// now would turn a registry outage into an outage of traffic.
		res.Status = "degraded"
		res.Error = "registry unreachable: " + perr.Error() + "; serving " + strconv.Itoa(len(stats)) + " services from their last snapshot"
	case len(res.Stale) > 0:
		res.Status = "degraded"
	}
	code := http.StatusOK
	if res.Status == "unavailable" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, res)
}

// probeRegistry lists the registry's services, at most once per TTL.
func (g *Gateway) probeRegistry() error {
	g.probeMu.Lock()
	defer g.probeMu.Unlock()
	if time.Since(g.probeAt) < registryProbeTTL {
		return g.probeErr
	}
	_, err := g.listServices()
	g.probeAt, g.probeErr = time.Now(), err
	return err
}

// listServices returns the registry's service names, sorted, within
// registryTimeout.
func (g *Gateway) listServices() ([]string, error) {
	type result struct {
		names []string
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		svcs, err := g.reg.ListServices()
		var names []string
		for _, s := range svcs {
			if s != nil && !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
		slices.Sort(names)
		ch <- result{names, err}
	}()
	select {
	case res := <-ch:
		return res.names, res.err
	case <-time.After(registryTimeout):
		return nil, errRegistryTimeout
	}
}

type timeoutError struct{}

func (timeoutError) Error() string {
	return "registry did not answer within " + registryTimeout.String()
}

var errRegistryTimeout error = timeoutError{}

// servicesView is the body of /admin/api/services.
type servicesView struct {
	Services []selector.ServiceStats `json:"services"`
	// Unavailable lists registry services the selector could not load
	// (for example, every node deregistered since the listing).
	Unavailable []string `json:"unavailable,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// services lists every service in the registry with its nodes. A service
// the selector does not watch yet is selected once, which loads it.
func (g *Gateway) services(w http.ResponseWriter, r *http.Request) {
	var view servicesView
	names, err := g.listServices()
	if err != nil {
		view.Error = "registry: " + err.Error() // still show what the selector knows
	}
	known := map[string]bool{}
	for _, s := range g.sel.Stats() {
		known[s.Name] = true
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, name := range names {
		if known[name] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.sel.Select(name); err != nil {
				mu.Lock()
				view.Unavailable = append(view.Unavailable, name)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(view.Unavailable)
	view.Services = g.sel.Stats()
	if view.Services == nil {
		view.Services = []selector.ServiceStats{}
	}
	writeJSON(w, http.StatusOK, view)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		apierr.Write(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
