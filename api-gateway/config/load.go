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
// lowest first: Default, the YAML of --config (MICRO_CONFIG: a file, or
// consul://<key> for a Consul KV key, see ConsulKey), MICRO_* variables,
// flags given on the command line. The result is validated. A Loader loads
// the same arguments again and watches a Consul key between loads.
func Load(args []string, getenv func(string) string) (*Config, error) {
	return load(args, getenv, nil)
}

// cmdline is what the flags and variables say before any file is read.
type cmdline struct {
	source   string          // --config or MICRO_CONFIG
	registry string          // --registry_address or MICRO_REGISTRY_ADDRESS
	vals     []*string       // flag values, in settings order
	set      map[string]bool // the flags given
}

// parseArgs parses args and reads the variables that say where the
// configuration comes from.
func parseArgs(args []string, getenv func(string) string) (*cmdline, error) {
	fs := flag.NewFlagSet("api-gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", "", "YAML configuration file (MICRO_CONFIG)")
	cl := &cmdline{vals: make([]*string, len(settings)), set: map[string]bool{}}
	def := Default()
	for i, s := range settings {
		cl.vals[i] = fs.String(s.flag, *s.field(def), s.usage+" ("+s.env+")")
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
	fs.Visit(func(f *flag.Flag) { cl.set[f.Name] = true })
	cl.source = *path
	if !cl.set["config"] {
		cl.source = getenv("MICRO_CONFIG")
	}
	cl.registry = getenv("MICRO_REGISTRY_ADDRESS")
	if f := fs.Lookup("registry_address"); cl.set["registry_address"] {
		cl.registry = f.Value.String()
	}
	return cl, nil
}

// load is Load; the YAML of a consul:// source comes from kv when it
// watches that key, else from one read.
func load(args []string, getenv func(string) string, kv *KVWatch) (*Config, error) {
	cl, err := parseArgs(args, getenv)
	if err != nil {
		return nil, err
	}
	cfg := Default()
	if src := cl.source; src != "" {
		key, isKV, err := ConsulKey(src)
		var data []byte
		switch {
		case err != nil:
		case isKV && kv != nil && kv.c.key == key:
			data, err = kv.Value()
		case isKV:
			data, err = readKV(key, consulAddrs(cl.registry), getenv)
		default:
			data, err = os.ReadFile(src)
		}
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if cfg, err = Parse(data); err != nil {
			return nil, fmt.Errorf("config %s: %w", src, err)
		}
	}
	for i, s := range settings {
		if v := getenv(s.env); v != "" {
			*s.field(cfg) = v
		}
		if cl.set[s.flag] {
			*s.field(cfg) = *cl.vals[i]
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Loader loads the configuration of the same arguments and environment
// again and again, for hot reload. When --config is consul://<key> it
// watches the key (WatchKV) on the agents of --registry_address
// (MICRO_REGISTRY_ADDRESS, default DefaultConsulAddress), with the ACL
// token of CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE; the key's address
// and token never come from the key itself.
type Loader struct {
	args   []string
	getenv func(string) string
	kv     *KVWatch // nil unless the source is a Consul key
}

// NewLoader parses args and, for a consul:// source, reads the key and
// starts watching it: a key that does not exist, or no agent that
// answers, is an error. Close the Loader when done.
func NewLoader(args []string, getenv func(string) string) (*Loader, error) {
	cl, err := parseArgs(args, getenv)
	if err != nil {
		return nil, err
	}
	l := &Loader{args: args, getenv: getenv}
	key, isKV, err := ConsulKey(cl.source)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if isKV {
		if l.kv, err = WatchKV(key, consulAddrs(cl.registry), getenv); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Load builds the configuration as Load does, from the watched key's
// latest value for a consul:// source.
func (l *Loader) Load() (*Config, error) { return load(l.args, l.getenv, l.kv) }

// Changed receives a value when the watched Consul key changes, so that
// the caller reloads at once; it is nil (never ready) for a file.
func (l *Loader) Changed() <-chan struct{} {
	if l.kv == nil {
		return nil
	}
	return l.kv.Changed()
}

// Close stops watching the Consul key, if any.
func (l *Loader) Close() {
	if l.kv != nil {
		l.kv.Close()
	}
}

// Usage writes the flags and their variables to w.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "usage: api-gateway [flags]")
	fmt.Fprintln(w, "  --config string\n\tYAML configuration file, or consul://<key> for a Consul KV key (MICRO_CONFIG)")
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
