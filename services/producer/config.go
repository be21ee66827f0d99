package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
)

// Defaults of the producer's own flags and of the go-micro flags it changes.
const (
	defaultName             = "greeter"
	defaultAddress          = "127.0.0.1:0"
	defaultHTTPAddress      = "127.0.0.1:0"
	defaultGrace            = 2 * time.Second
	defaultDrainTimeout     = 10 * time.Second
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
		grace:        defaultGrace,
		drainTimeout: defaultDrainTimeout,
		failMode:     failError,
		httpAddress:  defaultHTTPAddress,
	}
}

// flags returns the producer's own flags, which write into c. They join
// go-micro's flags on one command line.
//
// --version is safe to define: urfave/cli adds its built-in --version/-v
// flag only when the app has a version, and go-micro's cmd leaves it empty
// unless the service is built with micro.Version, which this program is not.
// A --version with no value prints the build instead (see
// buildRequested).
func (c *config) flags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "weight", Value: c.weight, Destination: &c.weight,
			Usage: "load-balancing weight, registered as node metadata \"weight\" (0 drains the node)"},
		&cli.StringFlag{Name: "zone", Value: c.zone, Destination: &c.zone,
			Usage: "zone, registered as node metadata \"zone\""},
		&cli.StringFlag{Name: "version", Value: c.version, Destination: &c.version,
			Usage: "version, registered as node metadata \"version\" (and as the service version unless --server_version is set)"},
		&cli.DurationFlag{Name: "grace", Value: c.grace, Destination: &c.grace,
			Usage: "on SIGTERM/SIGINT, how long to keep serving after deregistering, so that watchers move away"},
		&cli.DurationFlag{Name: "drain_timeout", Value: c.drainTimeout, Destination: &c.drainTimeout,
			Usage: "on SIGTERM/SIGINT, how long to wait for in-flight calls after the grace period"},
		&cli.StringFlag{Name: "latency", Value: c.latencyText, Destination: &c.latencyText,
			Usage: "delay added to every call: a duration (20ms) or a uniform distribution (5ms±2ms, or 5ms+-2ms)"},
		&cli.Float64Flag{Name: "fail_rate", Value: c.failRate, Destination: &c.failRate,
			Usage: "fraction of calls (0..1) that fail, see --fail_mode"},
		&cli.StringFlag{Name: "fail_mode", Value: c.failMode, Destination: &c.failMode,
			Usage: "how a call fails: \"error\" answers a go-micro 500, \"drop\" closes the connection without a reply"},
		&cli.StringFlag{Name: "http_address", Value: c.httpAddress, Destination: &c.httpAddress,
			Usage: "address of the plain HTTP endpoint"},
		&cli.StringFlag{Name: "http_name", Value: c.httpName, Destination: &c.httpName,
			Usage: "service name of the HTTP endpoint in the registry (default: <server_name>-http)"},
	}
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
