package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// NewServer returns an http.Server for h with the configured hygiene:
// ReadHeaderTimeout, ReadTimeout, WriteTimeout (streams extend it as they
// flush), IdleTimeout and MaxHeaderBytes.
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
	listeners := []net.Listener{pub}
	adminAddr := ""
	if adm != nil {
		servers = append(servers, g.NewServer(g.AdminHandler()))
		listeners = append(listeners, adm)
		adminAddr = adm.Addr().String()
	}
	routes := make([]string, 0, len(g.table.Routes()))
	for _, r := range g.table.Routes() {
		routes = append(routes, r.Kind+" "+r.Prefix+"→"+orDynamic(r.Service))
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

func orDynamic(s string) string {
	if s == "" {
		return "{service}"
	}
	return s
}
