// Command consumer calls the sample greeter service through the microlb
// selector, over the registry (Consul by default), and shows how the calls
// spread over the nodes: per strategy, a table of node, weight, count, share
// and bar, then p50/p99 latency and errors; or, with --json, one JSON object
// per strategy per line.
//
//	consumer --registry_address 127.0.0.1:8500 --strategy all -n 700
//
// Logs (go-micro's and the selector's included) go to stderr as slog text,
// with the progress line; stdout carries only the report. --version prints
// the version, the commit and the go-micro version.
//
// Exit status: 0 when calls were made (some may have failed: see the error
// count), 1 when every call of a strategy failed or the registry cannot be
// set up, 2 for a bad command line, such as an unknown strategy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/go-micro/plugins/v4/registry/consul" // registers "consul"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	gmselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/util/cmd"

	"github.com/microlb/microlb/internal/buildinfo"
	"github.com/microlb/microlb/internal/slogmicro"
	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// registries are the registry plugins linked in, by name.
var registries = cmd.DefaultRegistries

func main() {
	slogmicro.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil))) // before go-micro builds anything
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: parse the flags, connect to the registry, run
// each strategy and print its result. It returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if buildinfo.Requested(args) {
		fmt.Fprintln(stdout, buildinfo.Read().Line("consumer"))
		return 0
	}
	cfg, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "consumer: %v\n", err)
		return 2
	}
	reg, err := newRegistry(cfg.registry, cfg.registryAddress)
	if err != nil {
		fmt.Fprintf(stderr, "consumer: %v\n", err)
		return 2
	}
	return runWith(ctx, cfg, reg, stdout, stderr)
}

// runWith runs each strategy of cfg against the service in reg and prints
// the results as they come. opts go to the client (tests pass a transport).
// The selector and the client log to stderr. Once ctx is done it stops,
// without printing the interrupted strategy's result, and returns 1.
func runWith(ctx context.Context, cfg *config, reg registry.Registry, stdout, stderr io.Writer, opts ...client.Option) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	mlog := slogmicro.New(log.Handler())
	sel := selector.New(gmselector.Registry(reg), gmselector.WithLogger(mlog))
	defer sel.Close()
	opts = append([]client.Option{client.WithLogger(mlog)}, opts...)
	svc := pb.NewGreeterService(cfg.service, newClient(cfg, sel, opts...))
	prog := newProgress(stderr, isTerminal(stderr))
	code := 0
	for _, s := range cfg.strategies {
		res := load(ctx, svc, sel, cfg, s, prog)
		if ctx.Err() != nil {
			// Interrupted (Ctrl-C): the calls left were not made, so the
			// result would mislead; stdout gets none of it.
			log.Info("interrupted: the incomplete result is not printed", "strategy", string(s))
			return 1
		}
		var err error
		if cfg.json {
			err = writeJSON(stdout, res)
		} else {
			err = writeTable(stdout, res)
		}
		if err != nil {
			log.Error("writing the report", "err", err)
			return 1
		}
		if res.Errors == res.Requests {
			code = 1
		}
	}
	return code
}
