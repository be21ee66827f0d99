package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
)

// Defaults of the go-micro flags the producer changes (its own flags'
// defaults are in newConfig), and the stream limits.
const (
	defaultName             = "greeter"
	defaultAddress          = "127.0.0.1:0"
	defaultRegistry         = "consul"
	defaultRegisterTTL      = 10 // seconds
	defaultRegisterInterval = 5  // seconds
	defaultStreamCount      = 3
	maxStreamCount          = 10000
)

// config is the producer's own configuration, filled in by its flags. The
// go-micro flags (--registry, --server_name, --server_address, --register_ttl,
// ...) configure the server directly.
type config struct {
	weight       int
	zone         string
	version      string
	grace        time.Duration
	drainTimeout time.Duration
	latencyText  string
	latency      latency
	failRate     float64
	failMode     string
	httpAddress  string
	httpName     string
}

// newConfig returns the defaults.
func newConfig() *config {
	return &config{
		weight:       1,
		grace:        2 * time.Second,
		drainTimeout: 10 * time.Second,
		failMode:     failError,
		httpAddress:  "127.0.0.1:0",
	}
}

// flags returns the producer's own flags, which write into c and show c's
// values as their defaults. They join go-micro's flags on one command line.
//
// --version is safe to define: urfave/cli adds its built-in --version/-v
// flag only when the app has a version, and go-micro's cmd leaves it empty
// unless the service is built with micro.Version, which this program is not.
// A --version with no value prints the build instead (see
// buildRequested).
func (c *config) flags() []cli.Flag {
	return []cli.Flag{
		intFlag("weight", &c.weight, "load-balancing weight, registered as node metadata \"weight\" (0 drains the node)"),
		stringFlag("zone", &c.zone, "zone, registered as node metadata \"zone\""),
		stringFlag("version", &c.version, "version, registered as node metadata \"version\" (and as the service version unless --server_version is set)"),
		durationFlag("grace", &c.grace, "on SIGTERM/SIGINT, how long to keep serving after deregistering, so that watchers move away"),
		durationFlag("drain_timeout", &c.drainTimeout, "on SIGTERM/SIGINT, how long to wait for in-flight calls after the grace period"),
		stringFlag("latency", &c.latencyText, "delay added to every call: a duration (20ms) or a uniform distribution (5ms±2ms, or 5ms+-2ms)"),
		&cli.Float64Flag{Name: "fail_rate", Value: c.failRate, Destination: &c.failRate, Usage: "fraction of calls (0..1) that fail, see --fail_mode"},
		stringFlag("fail_mode", &c.failMode, "how a call fails: \"error\" answers a go-micro 500, \"drop\" closes the connection without a reply"),
		stringFlag("http_address", &c.httpAddress, "address of the plain HTTP endpoint"),
		stringFlag("http_name", &c.httpName, "service name of the HTTP endpoint in the registry (default: <server_name>-http)"),
	}
}

// intFlag, stringFlag and durationFlag return the flag name that writes into
// p and shows *p as its default.
func intFlag(name string, p *int, usage string) cli.Flag {
	return &cli.IntFlag{Name: name, Value: *p, Destination: p, Usage: usage}
}

func stringFlag(name string, p *string, usage string) cli.Flag {
	return &cli.StringFlag{Name: name, Value: *p, Destination: p, Usage: usage}
}

func durationFlag(name string, p *time.Duration, usage string) cli.Flag {
	return &cli.DurationFlag{Name: name, Value: *p, Destination: p, Usage: usage}
}

// validate checks the flag values and parses the ones that need parsing.
func (c *config) validate() error {
	var err error
	if c.weight < 0 {
		return fmt.Errorf("weight %d: want 0 or more", c.weight)
	}
	if c.latency, err = parseLatency(c.latencyText); err != nil {
		return err
	}
	if err = checkFailRate(c.failRate); err != nil {
		return err
	}
	if c.failMode, err = parseFailMode(c.failMode); err != nil {
		return err
	}
	if c.grace < 0 || c.drainTimeout < 0 {
		return fmt.Errorf("grace and drain_timeout must not be negative")
	}
	return nil
}

// setFlagDefaults changes the defaults of go-micro's own flags for the
// producer: Consul is the registry, and a registration lives 10 s and is
// renewed every 5 s, so a node that dies without deregistering leaves
// discovery by itself. Flags and MICRO_* variables still override them.
func setFlagDefaults(flags []cli.Flag) {
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.Name == "registry" {
				f.Value = defaultRegistry
			}
		case *cli.IntFlag:
			switch f.Name {
			case "register_ttl":
				f.Value = defaultRegisterTTL
			case "register_interval":
				f.Value = defaultRegisterInterval
			}
		}
	}
}

// helpRequested reports whether args ask for help, which go-micro's cmd
// prints while parsing the flags.
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "--help", "-help":
			return true
		}
	}
	return false
}

// buildRequested reports whether args asks for the build's version: a
// --version (or -version) with no value, that is, the last argument. With a
// value, as in --version v1, it is the node's version.
func buildRequested(args []string) bool {
	if len(args) == 0 {
		return false
	}
	last := args[len(args)-1]
	return last == "--version" || last == "-version"
}
