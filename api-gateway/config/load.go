package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// setting is one value that a flag and a MICRO_* variable can override.
type setting struct {
	flag, env, usage string
	field            func(*Config) *string
}

// settings lists the overridable values. Each flag's variable is MICRO_ and
// the flag name in upper case.
var settings = []setting{
	{"address", "MICRO_ADDRESS", "public listener address", func(c *Config) *string { return &c.Address }},
	{"admin_address", "MICRO_ADMIN_ADDRESS", "admin listener address (/healthz, /readyz, /metrics, /admin/api/services)", func(c *Config) *string { return &c.AdminAddress }},
	{"admin_token", "MICRO_ADMIN_TOKEN", "bearer token required by the admin listener (except /healthz)", func(c *Config) *string { return &c.AdminToken }},
	{"registry", "MICRO_REGISTRY", "go-micro registry: consul, mdns or memory", func(c *Config) *string { return &c.Registry }},
	{"registry_address", "MICRO_REGISTRY_ADDRESS", "comma-separated registry addresses", func(c *Config) *string { return &c.RegistryAddress }},
	{"namespace", "MICRO_NAMESPACE", "service name prefix of dynamic RPC routes", func(c *Config) *string { return &c.Namespace }},
	{"strategy", "MICRO_STRATEGY", "default strategy: random, roundrobin, weighted, hash, leastloaded", func(c *Config) *string { return &c.Defaults.Strategy }},
	{"log_level", "MICRO_LOG_LEVEL", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }},
	{"jwt_hs256_secret", "MICRO_JWT_HS256_SECRET", "HS256 secret for JWT auth", func(c *Config) *string { return &c.Auth.JWT.HS256Secret }},
}

// Load builds the configuration from the command-line args (without the
// program name) and the environment (getenv, usually os.Getenv). Precedence,
// lowest first: Default, the YAML file of --config (MICRO_CONFIG), MICRO_*
// variables, flags given on the command line. The result is validated.
func Load(args []string, getenv func(string) string) (*Config, error) {
	fs := flag.NewFlagSet("api-gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", "", "YAML configuration file (MICRO_CONFIG)")
	vals := make([]*string, len(settings))
	def := Default()
	for i, s := range settings {
		vals[i] = fs.String(s.flag, *s.field(def), s.usage+" ("+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("flags: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	file := *path
	if !set["config"] {
		file = getenv("MICRO_CONFIG")
	}
	cfg := Default()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if cfg, err = Parse(data); err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
	}
	for i, s := range settings {
		if v := getenv(s.env); v != "" {
			*s.field(cfg) = v
		}
		if set[s.flag] {
			*s.field(cfg) = *vals[i]
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Usage writes the flags and their variables to w.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "usage: api-gateway [flags]")
	fmt.Fprintln(w, "  --config string\n\tYAML configuration file (MICRO_CONFIG)")
	def := Default()
	for _, s := range settings {
		fmt.Fprintf(w, "  --%s string\n\t%s (%s, default %q)\n", s.flag, s.usage, s.env, *s.field(def))
	}
}

// Parse reads a YAML configuration over the defaults. Unknown keys are an
// error, so that a typo does not silently fall back to a default; so is a
// second YAML document ("---" and more), which would otherwise be ignored.
func Parse(data []byte) (*Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document; the configuration is one document", extra.Line)
	}
	return cfg, nil
}
