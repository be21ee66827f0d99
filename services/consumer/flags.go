package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/microlb/microlb/selector"
)

// strategyAll runs every strategy in turn.
const strategyAll = "all"

// Flag defaults.
const (
	defaultService     = "greeter"
	defaultStrategy    = string(selector.Weighted)
	defaultRequests    = 700
	defaultConcurrency = 4
	defaultRetries     = 2
	defaultTimeout     = 5 * time.Second
	defaultRegistry    = "consul"
)

// config is the consumer's configuration, from its command line.
type config struct {
	service         string
	strategies      []selector.Strategy
	key             string // one hash key for every request
	keys            int    // or this many distinct keys, cycling
	requests        int
	concurrency     int
	retries         int
	timeout         time.Duration
	json            bool
	registry        string
	registryAddress string
}

// usageError is a bad command line; the consumer exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// parseFlags reads the command line. getenv supplies MICRO_REGISTRY and
// MICRO_REGISTRY_ADDRESS, the defaults of --registry and --registry_address,
// as in go-micro. It returns flag.ErrHelp for -h and a *usageError for
// anything it cannot accept; the flag package has printed its own message
// (and the usage) to stderr for a malformed flag.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	var strategy string
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: consumer [flags]\n\n"+
			"Calls Greeter.Hello through the microlb selector and shows how the calls spread over the nodes.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.service, "service", defaultService, "service to call")
	fs.StringVar(&strategy, "strategy", defaultStrategy, "strategy: "+strategyNames()+", or all (each in turn)")
	fs.StringVar(&c.key, "key", "", "hash key sent with every request (for the hash strategy)")
	fs.IntVar(&c.keys, "keys", 0, "send `N` distinct hash keys key-0..key-<N-1>, cycling")
	fs.IntVar(&c.requests, "n", defaultRequests, "number of requests per strategy (short for --requests)")
	fs.IntVar(&c.requests, "requests", defaultRequests, "number of requests per strategy")
	fs.IntVar(&c.concurrency, "concurrency", defaultConcurrency, "concurrent callers")
	fs.IntVar(&c.retries, "retries", defaultRetries, "go-micro client retries of a call that failed in transport, each on another node")
	fs.DurationVar(&c.timeout, "timeout", defaultTimeout, "timeout of one call, retries included")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per strategy per line instead of tables")
	fs.StringVar(&c.registry, "registry", envOr(getenv, "MICRO_REGISTRY", defaultRegistry), "registry: consul, mdns or memory [$MICRO_REGISTRY]")
	fs.StringVar(&c.registryAddress, "registry_address", getenv("MICRO_REGISTRY_ADDRESS"), "comma-separated registry addresses [$MICRO_REGISTRY_ADDRESS]")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}

	if strings.EqualFold(strings.TrimSpace(strategy), strategyAll) {
		c.strategies = selector.Strategies[:]
	} else {
		s, err := selector.ParseStrategy(strategy)
		if err != nil {
			return nil, usagef("%v, or all", err)
		}
		c.strategies = []selector.Strategy{s}
	}
	switch {
	case c.key != "" && c.keys != 0:
		return nil, usagef("--key and --keys exclude each other")
	case c.keys < 0:
		return nil, usagef("--keys %d: want 1 or more", c.keys)
	case c.requests < 1:
		return nil, usagef("--requests %d: want 1 or more", c.requests)
	case c.concurrency < 1:
		return nil, usagef("--concurrency %d: want 1 or more", c.concurrency)
	case c.retries < 0:
		return nil, usagef("--retries %d: want 0 or more", c.retries)
	case c.timeout <= 0:
		return nil, usagef("--timeout %s: want a positive duration", c.timeout)
	}
	return c, nil
}

// strategyNames lists the strategies, comma-separated.
func strategyNames() string {
	names := make([]string, len(selector.Strategies))
	for i, s := range selector.Strategies {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// envOr returns the variable name, or def when it is unset or empty.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
