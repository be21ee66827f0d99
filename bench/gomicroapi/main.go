// Command gomicroapi is the stage-3 baseline: go-micro v4's own API gateway
// (go-micro.dev/v4/api: its registry router, vpath resolver and rpc handler)
// in front of the producers registered in Consul, with go-micro's default
// client and selector. A request to /greeter/Greeter/Hello calls
// Greeter.Hello on service greeter, as it does through microlb's gateway.
//
// The handler is served by a plain net/http server with no access log,
// because the fairness rules of the benchmark switch access logs off for
// every target; go-micro's api/server/http always writes a combined access
// log to stdout. Logs, go-micro's included, go to stderr through slog, at
// error level only.
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/api/handler"
	"go-micro.dev/v4/api/handler/rpc"
	"go-micro.dev/v4/api/resolver"
	"go-micro.dev/v4/api/resolver/vpath"
	"go-micro.dev/v4/api/router"
	regrouter "go-micro.dev/v4/api/router/registry"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/microlb/microlb/internal/slogmicro"
)

func main() {
	addr := flag.String("address", "127.0.0.1:8080", "listen address")
	regAddr := flag.String("registry_address", "127.0.0.1:8500", "Consul HTTP address")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	slogmicro.SetDefault(log)

	reg := consul.NewRegistry(registry.Addrs(*regAddr))
	cli := client.NewClient(
		client.Registry(reg),
		client.Selector(selector.NewSelector(selector.Registry(reg))),
	)
	rtr := regrouter.NewRouter(
		router.WithRegistry(reg),
		router.WithHandler(rpc.Handler),
		router.WithResolver(vpath.NewResolver(
			resolver.WithHandler(rpc.Handler),
			resolver.WithNamespace(resolver.StaticNamespace("")),
		)),
	)
	h := rpc.NewHandler(handler.WithRouter(rtr), handler.WithClient(cli))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			log.Error("serving", "err", err)
			os.Exit(1)
		}
	}()
	<-stop
	srv.Close()
}
