package gateway

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/microlb/microlb/api-gateway/config"
)

// NewServer returns an http.Server for h with the configured hygiene:
// ReadHeaderTimeout, ReadTimeout, WriteTimeout (streams extend it as they
// flush), IdleTimeout and MaxHeaderBytes, and HTTP/1.1 plus HTTP/2 (the
// latter only over TLS, by ALPN; Serve adds cleartext HTTP/2 to the public
// server when server.h2c is set). Serve it on a listener wrapped by
// JSONErrors, as Serve does, so that net/http's own answers (431 and the
// like) are go-micro error JSON too.
func (g *Gateway) NewServer(h http.Handler) *http.Server {
	s := g.cfg.Server
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		Protocols:         &protos,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		ConnState:         markHijacked,
	}
}

// ListenAndServe listens on the configured addresses and serves until ctx
// ends; see Serve. While it runs, SIGHUP reloads the TLS certificates and,
// after ReloadFrom, the configuration, instead of ending the process.
func (g *Gateway) ListenAndServe(ctx context.Context) error {
	pub, err := net.Listen("tcp", g.cfg.Address)
	if err != nil {
		return err
	}
	var adm net.Listener
	if g.cfg.AdminAddress != "" {
		if adm, err = net.Listen("tcp", g.cfg.AdminAddress); err != nil {
			pub.Close()
			return err
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return g.serve(ctx, pub, adm, hup)
}

// Serve serves the public handler on pub and the admin handler on adm (nil:
// no admin listener) until ctx ends or a listener fails. It logs one line
// saying where it listens. Each listener is TLS (HTTP/2 by ALPN) when
// server.tls or server.admin_tls names a certificate, which is reloaded when
// its files change. When ctx ends it keeps serving for server.accept_grace
// with /readyz answering 503 "draining", so that a balancer in front stops
// sending; then it stops accepting, lets in-flight requests finish for the
// configured shutdown timeout, then closes what is left (long streams) and
// the gateway. Serve closes pub and adm.
func (g *Gateway) Serve(ctx context.Context, pub, adm net.Listener) error {
	return g.serve(ctx, pub, adm, nil)
}

// serve is Serve; a value on hup (SIGHUP in ListenAndServe) reloads the
// certificates and, after ReloadFrom, the configuration. With ReloadFrom,
// a change of the configuration is also picked up every
// configPollInterval.
func (g *Gateway) serve(ctx context.Context, pub, adm net.Listener, hup <-chan os.Signal) error {
	defer g.Close()
	s := g.cfg.Server
	var certs []*certSource
	wrap := func(name string, l net.Listener, t *config.TLS) (net.Listener, error) {
		if t == nil {
			return JSONErrors(l), nil
		}
		// net/http's own plain-text answers are encrypted here, so
		// JSONErrors could not recognize them: they stay plain text.
		c, err := newCertSource(name, t, g.log)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
		return tls.NewListener(l, c.tlsConfig()), nil
	}
	pubL, err := wrap("public", pub, s.TLS)
	var admL net.Listener
	if err == nil && adm != nil {
		admL, err = wrap("admin", adm, s.AdminTLS)
	}
	if err != nil {
		pub.Close()
		if adm != nil {
			adm.Close()
		}
		return err
	}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	for _, c := range certs {
		go c.watch(watchCtx, certPollInterval)
	}
	if g.hotReload() {
		go g.watchConfig(watchCtx, configPollInterval)
	}

	var draining atomic.Bool
	pubSrv := g.NewServer(g.Handler())
	if s.H2C {
		pubSrv.Protocols.SetUnencryptedHTTP2(true)
	}
	servers := []*http.Server{pubSrv}
	listeners := []net.Listener{pubL}
	adminAddr := ""
	if adm != nil {
		servers = append(servers, g.NewServer(g.drainAware(g.AdminHandler(), &draining)))
		listeners = append(listeners, admL)
		adminAddr = adm.Addr().String()
	}
	routes := make([]string, 0, len(g.table.Routes()))
	for _, r := range g.table.Routes() {
		routes = append(routes, r.Kind+" "+r.Prefix+"→"+orDynamic(r.Service))
	}
	if adm != nil && g.cfg.AdminToken == "" && !isLoopback(adm.Addr()) {
		g.log.Warn("the admin listener is not on a loopback address and has no admin_token: whoever reaches it can list the services and send test calls",
			"admin_address", adminAddr)
	}
	g.log.Info("api-gateway listening",
		"address", pub.Addr().String(), "admin_address", adminAddr,
		"tls", s.TLS != nil, "admin_tls", s.AdminTLS != nil, "h2c", s.H2C,
		"registry", g.reg.String(), "registry_address", strings.Join(g.reg.Options().Addrs, ","),
		"routes", routes)

	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			if err := s.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	reload := func() {
		for _, c := range certs {
			c.reloadLogged("SIGHUP")
		}
		_ = g.reload("SIGHUP", false)
	}
	var serveErr error
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case serveErr = <-errc:
			break wait
		case <-hup:
			reload()
		}
	}
	if grace := s.AcceptGrace; serveErr == nil && grace > 0 {
		draining.Store(true)
		g.log.Info("api-gateway draining: still serving, /readyz answers 503", "accept_grace", grace.String())
		end := time.NewTimer(grace)
	grace:
		for {
			select {
			case <-end.C:
				break grace
			case serveErr = <-errc:
				end.Stop()
				break grace
			case <-hup:
				reload()
			}
		}
	}
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	g.log.Info("api-gateway shutting down", "drain_timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{}, len(servers))
	for _, s := range servers {
		go func() {
			if err := s.Shutdown(sctx); err != nil {
				s.Close() // drain time is up: end the streams that are left
			}
			done <- struct{}{}
		}()
	}
	for range servers {
		<-done
	}
	g.log.Info("api-gateway stopped")
	return serveErr
}

// drainAware answers /readyz on the admin listener with 503 "draining"
// while draining is set (the accept grace period); everything else, and a
// /readyz without the admin token when one is configured, goes to h.
func (g *Gateway) drainAware(h http.Handler, draining *atomic.Bool) http.Handler {
	want := []byte("Bearer " + g.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() && r.URL.Path == "/readyz" && r.Method == http.MethodGet &&
			(g.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1) {
			writeJSON(w, http.StatusServiceUnavailable, readiness{
				Status: "draining", Registry: g.reg.String(), Routes: len(g.table.Routes()),
				Error: "shutting down: still serving during the accept grace period",
			})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isLoopback reports whether a listener's address is a loopback one.
func isLoopback(a net.Addr) bool {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(a.String())
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// gcPercent is the garbage collector's target (GOGC) the gateway serves
// with. Its live heap is small (routes, selector snapshots, connection
// buffers: about 5 MB under load) while each proxied request leaves about
// 15 KB of garbage, so at Go's default of 100 it collects some 20 times a
// second at 10,000 requests/s, and marking (stacks of every connection's
// goroutines included) took about 7% of its CPU. At 400 the heap may grow to
// five times the live data (about 10 MB more resident memory measured)
// and the gateway spent about 8% less CPU per proxied request.
const gcPercent = 400

// TuneGC applies gcPercent unless GOGC is set: an operator's setting wins.
// It changes a process-wide setting, so the gateway binary calls it, not
// Serve: a program that embeds the gateway decides for itself.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

func orDynamic(s string) string {
	if s == "" {
		return "{service}"
	}
	return s
}
