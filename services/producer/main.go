// Command producer is microlb's sample greeter node: a go-micro service that
// registers in Consul with node metadata weight, zone and version, serves
// Greeter.Hello and Greeter.Stream, and answers with its own node id so that
// callers see how the load balancer spread them. Beside the RPC server it runs
// a plain HTTP endpoint, registered as <name>-http, for the gateway's reverse
// proxy. On SIGTERM or SIGINT it drains: deregister, serve for a grace period,
// finish in-flight calls, exit 0.
//
//	producer --registry_address 127.0.0.1:8500 --weight 5 --zone a --version v1
//
// Logs, go-micro's included, are JSON lines on stderr through log/slog.
// --version with no value prints the version, the commit and the go-micro
// version (with a value, --version v1 is the node's version).
//
// go-micro's flags work as usual (--registry, --registry_address,
// --server_name, --server_address, --register_ttl, --register_interval, and
// their MICRO_* variables); Consul is the default registry.
package main

import (
	"fmt"
	"log/slog"
	"os"

	_ "github.com/go-micro/plugins/v4/registry/consul" // registers "consul" for --registry
	_ "github.com/go-micro/plugins/v4/server/grpc"     // registers "grpc" for --server
	"go-micro.dev/v4"
	"go-micro.dev/v4/server"

	"github.com/microlb/microlb/internal/buildinfo"
	"github.com/microlb/microlb/internal/slogmicro"
)

func main() {
	if buildRequested(os.Args[1:]) {
		fmt.Println(buildinfo.Read().Line("producer"))
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slogmicro.SetDefault(log) // before go-micro builds the server
	cfg := newConfig()
	// The server is built here so that it waits for in-flight calls on Stop.
	srv := server.NewRPCServer(server.Wait(nil))
	svc := micro.NewService(
		micro.Server(srv),
		micro.Name(defaultName),
		micro.Address(defaultAddress),
		micro.Flags(cfg.flags()...),
	)
	setFlagDefaults(svc.Options().Cmd.App().Flags)
	svc.Init() // parses go-micro's flags and ours
	if helpRequested(os.Args[1:]) {
		return
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "producer: %v\n", err)
		os.Exit(2)
	}

	// The producer's own lines are slog records at info level.
	p, err := newProducer(cfg, svc.Server(), svc.Options().Registry, slog.NewLogLogger(log.Handler(), slog.LevelInfo))
	if err != nil {
		log.Error("starting", "err", err)
		os.Exit(1)
	}
	svc.Init(
		micro.BeforeStart(p.serveHTTP),
		micro.AfterStart(p.started),
		micro.BeforeStop(p.drain),
		micro.AfterStop(p.stopped),
	)
	if err := svc.Run(); err != nil {
		log.Error("running", "err", err)
		os.Exit(1)
	}
}
