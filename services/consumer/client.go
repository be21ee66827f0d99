package main

import (
	"context"
	"os"
	"strings"

	otelwrap "github.com/go-micro/plugins/v4/wrapper/trace/opentelemetry"
	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/tracing"
	"github.com/microlb/microlb/selector"
)

// newClient is the go-micro client the consumer calls through: the microlb
// selector picks the nodes, LoadReporter feeds it in-flight counts and
// latencies (for LeastLoaded), and a call that fails in transport is retried
// on another node. extra options (a transport, in tests) come last.
func newClient(cfg *config, sel *selector.Selector, extra ...client.Option) client.Client {
	opts := []client.Option{
		client.Selector(sel),
		client.Retries(cfg.retries),
		client.Retry(retryOnTransport),
		client.RequestTimeout(cfg.timeout),
		client.WrapCall(selector.LoadReporter(sel)),
	}
	// OTEL_TRACES_EXPORTER turns tracing on: each call starts a trace the producer joins.
	if tp, _, _ := tracing.FromEnv(os.Getenv, "consumer", os.Stderr); tp != nil {
		opts = append(opts, client.Wrap(otelwrap.NewClientWrapper(otelwrap.WithTraceProvider(tp))))
	}
	return client.NewClient(append(opts, extra...)...)
}

// retryOnTransport is the client's retry policy. It retries an attempt that
// failed in transport: go-micro's own client errors (connection refused or
// reset, EOF; ids go.micro.client*, code 500 or more), timeouts (408) and
// errors that are not go-micro errors at all. An error the service answered
// itself, such as the producer's injected 500, is final: retrying it would
// hide it. go-micro's default, RetryOnError, retries only 408, so a dead node
// would fail calls.
func retryOnTransport(ctx context.Context, _ client.Request, _ int, err error) (bool, error) {
	if err == nil || ctx.Err() != nil {
		return false, nil
	}
	me := merrors.FromError(err)
	switch {
	case me.Code == 0, me.Code == 408:
		return true, nil
	case me.Code >= 500:
		return strings.HasPrefix(me.Id, "go.micro.client"), nil
	}
	return false, nil
}

// newRegistry returns the registry called name (consul, mdns or memory) at
// the comma-separated addresses.
func newRegistry(name, addresses string) (registry.Registry, error) {
	var opts []registry.Option
	if addresses != "" {
		opts = append(opts, registry.Addrs(strings.Split(addresses, ",")...))
	}
	switch name {
	case "memory":
		return registry.NewMemoryRegistry(opts...), nil
	case "mdns":
		return registry.NewRegistry(opts...), nil
	}
	if fn, ok := registries[name]; ok {
		return fn(opts...), nil
	}
	return nil, usagef("unknown registry %q: want consul, mdns or memory", name)
}
