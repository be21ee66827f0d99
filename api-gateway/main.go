// Command api-gateway is microlb's HTTP front door to go-micro services.
//
//	api-gateway [--config gateway.yaml|consul://<key>] [--address :8080] [--admin_address 127.0.0.1:8081]
//	            [--registry consul] [--registry_address 127.0.0.1:8500]
//
// --version prints the version, the commit and the go-micro version.
// Logs (JSON, go-micro's and the selector's included) go to stderr; stdout
// carries only the access log.
//
// Every flag has a MICRO_* variable (MICRO_ADDRESS, MICRO_REGISTRY_ADDRESS,
// ...); flags override variables, which override the YAML file (or the
// Consul KV key of --config consul://<key>, read from the registry address
// with the ACL token of CONSUL_HTTP_TOKEN and watched). With no
// configuration every registry service is reachable at /{service}/{method}.
// See docs/gateway.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/cmd"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/gateway"
	"github.com/microlb/microlb/api-gateway/tracing"
	"github.com/microlb/microlb/internal/buildinfo"
	"github.com/microlb/microlb/internal/consulhealth"
	"github.com/microlb/microlb/internal/slogmicro"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "api-gateway:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if buildinfo.Requested(args) {
		fmt.Println(buildinfo.Read().Line("api-gateway"))
		return nil
	}
	loader, err := config.NewLoader(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(os.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	defer loader.Close()
	cfg, err := loader.Load()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	access := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	slogmicro.SetDefault(log) // go-micro's and the selector's logs, off stdout

	shutdownTracing, err := tracing.Setup(context.Background(), cfg.Tracing, "microlb-gateway", os.Stdout)
	if err != nil {
		return err
	}
	defer shutdownTracing(context.Background()) // flushes the spans of the last requests
	reg, err := newRegistry(cfg.Registry, cfg.RegistryAddress)
	if err != nil {
		return err
	}
	g, err := gateway.New(gateway.Options{Config: cfg, Registry: reg, Logger: log, AccessLog: access})
	if err != nil {
		return err
	}
	// SIGHUP, or a change of what the configuration loads to, reloads it;
	// a change of a consul:// key reloads at once.
	g.ReloadFrom(loader.Load)
	g.ReloadOn(loader.Changed())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	gateway.TuneGC()
	return g.ListenAndServe(ctx)
}

// newRegistry builds the go-micro registry called name: consul (default),
// mdns, memory, or any plugin registered in go-micro's cmd.DefaultRegistries.
func newRegistry(name, addrs string) (registry.Registry, error) {
	var opts []registry.Option
	if addrs != "" {
		opts = append(opts, registry.Addrs(strings.Split(addrs, ",")...))
	}
	switch name {
	case "", "consul":
		// Consul warnings lower a node's weight (critical nodes are dropped by the registry).
		return consulhealth.Wrap(consul.NewRegistry(opts...)), nil
	case "mdns":
		return registry.NewRegistry(opts...), nil
	case "memory":
		return registry.NewMemoryRegistry(opts...), nil
	}
	if f, ok := cmd.DefaultRegistries[name]; ok {
		return f(opts...), nil
	}
	return nil, fmt.Errorf("unknown registry %q: want consul, mdns or memory", name)
}
