package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"
)

// NewServer returns an http.Server for h with the configured hygiene:
// ReadHeaderTimeout, ReadTimeout, WriteTimeout (streams extend it as they
// flush), IdleTimeout and MaxHeaderBytes. Serve it on a listener wrapped by
// JSONErrors, as Serve does, so that net/http's own answers (431 and the
// like) are go-micro error JSON too.
func (g *Gateway) NewServer(h http.Handler) *http.Server {
	s := g.cfg.Server
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		ConnState:         markHijacked,
	}
}

// ListenAndServe listens on the configured addresses and serves until ctx
// ends; see Serve.
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
	return g.Serve(ctx, pub, adm)
}

// Serve serves the public handler on pub and the admin handler on adm (nil:
// no admin listener) until ctx ends or a listener fails. It logs one line
// saying where it listens. When ctx ends it stops accepting, lets in-flight
// requests finish for the configured shutdown timeout, then closes what is
// left (long streams) and the gateway.
func (g *Gateway) Serve(ctx context.Context, pub, adm net.Listener) error {
	defer g.Close()
	servers := []*http.Server{g.NewServer(g.handler)}
	listeners := []net.Listener{JSONErrors(pub)}
	adminAddr := ""
	if adm != nil {
		servers = append(servers, g.NewServer(g.AdminHandler()))
		listeners = append(listeners, JSONErrors(adm))
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
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	timeout := g.cfg.Server.ShutdownTimeout
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
