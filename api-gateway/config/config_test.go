package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/microlb/microlb/internal/testutil"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gw.yaml")
	testutil.WriteFile(t, file, []byte("address: \":9000\"\nadmin_address: 127.0.0.1:9001\nregistry_address: yaml:8500\nnamespace: yaml.\n"))
	tests := []struct {
		name                      string
		args                      []string
		env                       map[string]string
		wantAddr, wantReg, wantNS string
	}{
		{name: "defaults", wantAddr: ":8080", wantReg: ""},
		{name: "yaml", args: []string{"--config", file}, wantAddr: ":9000", wantReg: "yaml:8500", wantNS: "yaml."},
		{name: "env config file", env: map[string]string{"MICRO_CONFIG": file}, wantAddr: ":9000", wantReg: "yaml:8500", wantNS: "yaml."},
		{name: "env over yaml", args: []string{"--config", file}, env: map[string]string{"MICRO_REGISTRY_ADDRESS": "env:8500", "MICRO_ADDRESS": ":9100"}, wantAddr: ":9100", wantReg: "env:8500", wantNS: "yaml."},
		{name: "flag over env", args: []string{"--config=" + file, "--registry_address", "flag:8500"}, env: map[string]string{"MICRO_REGISTRY_ADDRESS": "env:8500"}, wantAddr: ":9000", wantReg: "flag:8500", wantNS: "yaml."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Address != tt.wantAddr || cfg.RegistryAddress != tt.wantReg || cfg.Namespace != tt.wantNS {
				t.Fatalf("got address %q registry %q namespace %q", cfg.Address, cfg.RegistryAddress, cfg.Namespace)
			}
			if cfg.Registry != "consul" {
				t.Fatalf("registry %q, want consul", cfg.Registry)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdminAddress != "127.0.0.1:8081" || cfg.Defaults.Timeout != 10*time.Second || cfg.Server.ReadHeaderTimeout == 0 ||
		cfg.Server.MaxHeaderBytes == 0 || len(cfg.Routes) != 0 {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.Defaults.MaxResponseBytes != 8<<20 {
		t.Fatalf("default max_response_bytes %d, want 8 MiB", cfg.Defaults.MaxResponseBytes)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // in the error; "" for a configuration that loads
	}{
		{"unknown key", "adress: x", "field adress not found"},
		{"bad strategy", "defaults: {strategy: fastest}", "unknown strategy"},
		{"bad hash key", "defaults: {hash_key: 'header:'}", "needs a name"},
		{"bad hash kind", "defaults: {hash_key: body}", "want header"},
		{"proxy without service", "routes: [{path: /x, kind: proxy}]", "needs a service"},
		{"bad kind", "routes: [{path: /x, kind: grpc}]", "want rpc or proxy"},
		{"relative path", "routes: [{path: x, service: s}]", "clean absolute path"},
		{"dot path", "routes: [{path: /a/../b, service: s}]", "clean absolute path"},
		{"duplicate path", "routes: [{path: /x, service: s, name: a}, {path: /x, service: t, name: b}]", "duplicate path"},
		{"bad endpoint", "routes: [{path: /x, service: s, endpoint: Hello}]", "Handler.Method"},
		{"jwt without key", "defaults: {auth: {mode: jwt}}", "neither hs256_secret"},
		{"short secret", "auth: {jwt: {hs256_secret: short}}", "at least 16 bytes"},
		{"bad auth mode", "defaults: {auth: {mode: basic}}", "want none, api_key"},
		{"reserved metadata", "metadata: {headers: [Micro-Endpoint]}", "reserved"},
		{"cors star creds", "cors: {allow_origins: ['*'], allow_credentials: true}", "cannot be combined"},
		{"bad rate by", "defaults: {rate_limit: {rps: 1, by: user}}", "want ip, api_key or principal"},
		{"retries range", "defaults: {retries: 99}", "between 0 and 10"},
		{"bad method", "routes: [{path: /x, service: s, methods: ['G T']}]", "not an HTTP method"},
		{"strip on rpc", "routes: [{path: /x, service: s, strip_prefix: true}]", "proxy routes only"},
		// Issue 11: secure by default.
		{"second YAML document", "address: ':1'\n---\naddress: ':2'\n", "a second YAML document"},
		{"empty second YAML document", "address: ':1'\n---\n", "a second YAML document"},
		{"metadata Authorization", "metadata: {headers: [Authorization]}", "never copied from a client"},
		{"metadata Cookie", "metadata: {headers: [cookie]}", "never copied from a client"},
		{"metadata Set-Cookie", "metadata: {headers: [Set-Cookie]}", "never copied from a client"},
		{"metadata API key header", "metadata: {headers: [X-Api-Key]}", "never copied from a client"},
		{"metadata custom API key header", "auth: {api_key_header: X-Token}\nmetadata: {headers: [X-Token]}", "never copied from a client"},
		{"metadata principal", "metadata: {headers: [X-Auth-Principal]}", "never copied from a client"},
		{"metadata microlb", "metadata: {headers: [X-Microlb-Node]}", "never copied from a client"},
		{"metadata forwarded", "metadata: {headers: [X-Forwarded-For]}", "never copied from a client"},
		{"metadata real ip", "metadata: {headers: [X-Real-Ip]}", "never copied from a client"},
		{"metadata true client ip", "metadata: {headers: [True-Client-Ip]}", "never copied from a client"},
		{"metadata micro", "metadata: {headers: [micro-from-service]}", "reserved"},
		{"rate by api_key without api key auth", "routes: [{path: /x, service: s, rate_limit: {rps: 1, by: api_key}}]", "needs auth mode api_key or any"},
		{"rate by api_key on jwt", "auth: {jwt: {hs256_secret: 0123456789abcdef}}\nroutes: [{path: /x, service: s, auth: {mode: jwt}, rate_limit: {rps: 1, by: api_key}}]", "needs auth mode api_key or any"},
		{"default rate by api_key", "defaults: {rate_limit: {rps: 1, by: api_key}}", "the default route: rate_limit.by api_key needs"},
		{"negative max_response_bytes", "defaults: {max_response_bytes: -1}", "max_response_bytes must not be negative"},
		{"duplicate path by case", "routes: [{path: /x, service: s, name: a}, {path: /X, service: t, name: b}]", "duplicate path"},
		{"empty admin host", "admin_hosts: ['']", "not a host name"},
		// server: listeners, TLS and h2c.
		{"key missing", "server: {tls: {cert_file: a.crt}}", "server.tls: cert_file and key_file are both required"},
		{"admin cert missing", "server: {admin_tls: {key_file: a.key}}", "server.admin_tls: cert_file and key_file are both required"},
		{"h2c with tls", "server: {h2c: true, tls: {cert_file: a.crt, key_file: a.key}}", "server.h2c: cleartext HTTP/2 cannot be combined with server.tls"},
		{"negative grace", "server: {accept_grace: -1s}", "server.accept_grace must not be negative"},
		{"unknown server key", "server: {tls: {cert: a.crt}}", "field cert not found"},
		// tracing.
		{"unknown exporter", "tracing: {exporter: jaeger}\n", `tracing.exporter "jaeger": want none, stdout or otlp`},
		{"ratio above 1", "tracing: {sample_ratio: 1.5}\n", "tracing.sample_ratio 1.5: want 0 to 1"},
		{"negative ratio", "tracing: {sample_ratio: -0.1}\n", "tracing.sample_ratio -0.1: want 0 to 1"},
		{"unknown tracing key", "tracing: {exporter: none, sampler: always}\n", `tracing: unknown key "sampler"`},
		{"endpoint without otlp", "tracing: {exporter: stdout, endpoint: 'x:1'}\n", "tracing.endpoint is for exporter otlp only"},
		// The secure options that must still load.
		{"rate by api_key on api_key route", "routes: [{path: /x, service: s, auth: {mode: api_key}, rate_limit: {rps: 1, by: api_key}}]", ""},
		{"rate by api_key on any route", "auth: {jwt: {hs256_secret: 0123456789abcdef}}\nroutes: [{path: /x, service: s, auth: {mode: any}, rate_limit: {rps: 1, by: api_key}}]", ""},
		{"rate by principal anywhere", "defaults: {rate_limit: {rps: 1, by: principal}}", ""},
		{"default rate by api_key without a default route", "disable_default_route: true\ndefaults: {rate_limit: {rps: 1, by: api_key}}\nroutes: [{path: /x, service: s, auth: {mode: api_key}}]", ""},
		{"admin hosts", "admin_hosts: [gw.internal, 'gw.internal:8081']", ""},
		{"one document with a leading separator", "---\naddress: ':1'\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseValid(tt.yaml)
			checkErr(t, err, tt.want)
		})
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	data, err := os.ReadFile("../gateway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) == 0 {
		t.Fatal("the example has no routes")
	}
}

// parseValid parses yaml and validates the result: the configuration and the
// first error.
func parseValid(yaml string) (*Config, error) {
	cfg, err := Parse([]byte(yaml))
	if err == nil {
		err = cfg.Validate()
	}
	return cfg, err
}

// checkErr fails t unless err is as wanted: nil when want is "", else an
// error containing want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatal(err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}
