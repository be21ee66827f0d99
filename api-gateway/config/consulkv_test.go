package config

import (
	"net"
	"strings"
	"testing"

	"github.com/microlb/microlb/internal/testutil"
)

func TestConsulKey(t *testing.T) {
	tests := []struct {
		name, src, want, wantErr string
		wantKV                   bool
	}{
		{name: "file", src: "gateway.yaml"},
		{name: "absolute file", src: "/etc/microlb/gateway.yaml"},
		{name: "other scheme", src: "etcd://a/b"},
		{name: "upper case is a file name", src: "CONSUL://a"},
		{name: "key", src: "consul://microlb/gateway.yaml", want: "microlb/gateway.yaml", wantKV: true},
		{name: "one segment", src: "consul://gw", want: "gw", wantKV: true},
		{name: "leading slashes dropped", src: "consul:///microlb/gw", want: "microlb/gw", wantKV: true},
		{name: "empty", src: "consul://", wantKV: true, wantErr: "names no Consul KV key"},
		{name: "only slashes", src: "consul:///", wantKV: true, wantErr: "names no Consul KV key"},
		{name: "folder", src: "consul://microlb/", wantKV: true, wantErr: "a Consul KV folder"},
		{name: "query", src: "consul://a?dc=x", wantKV: true, wantErr: "may not contain"},
		{name: "fragment", src: "consul://a#b", wantKV: true, wantErr: "may not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, ok, err := ConsulKey(tt.src)
			if key != tt.want || ok != tt.wantKV {
				t.Errorf("ConsulKey(%q) = %q, %v; want %q, %v", tt.src, key, ok, tt.want, tt.wantKV)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ConsulKey(%q) error = %v, want one containing %q", tt.src, err, tt.wantErr)
			}
		})
	}
}

func TestConsulAddrs(t *testing.T) {
	testutil.Table(t, "consulAddrs", consulAddrs,
		testutil.Row("default", "", []string{"127.0.0.1:8500"}),
		testutil.Row("one", "10.0.0.1:8501", []string{"10.0.0.1:8501"}),
		testutil.Row("port added", "consul.local", []string{"consul.local:8500"}),
		testutil.Row("list", "a:1, b ,,c:3", []string{"a:1", "b:8500", "c:3"}))
}

// TestConsulSource checks where a consul:// configuration is read from:
// --config or MICRO_CONFIG, on the agents of --registry_address or
// MICRO_REGISTRY_ADDRESS (the flag wins).
func TestConsulSource(t *testing.T) {
	tests := []struct {
		name                string
		args                []string
		env                 map[string]string
		wantSource, wantReg string
	}{
		{"flag", []string{"--config", "consul://gw"}, nil, "consul://gw", ""},
		{"variable", nil, map[string]string{"MICRO_CONFIG": "consul://gw", "MICRO_REGISTRY_ADDRESS": "e:1"}, "consul://gw", "e:1"},
		{"flag over variable", []string{"--config", "consul://a", "--registry_address", "f:1"},
			map[string]string{"MICRO_CONFIG": "consul://b", "MICRO_REGISTRY_ADDRESS": "e:1"}, "consul://a", "f:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := parseArgs(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cl.source != tt.wantSource || cl.registry != tt.wantReg {
				t.Errorf("source %q on %q, want %q on %q", cl.source, cl.registry, tt.wantSource, tt.wantReg)
			}
		})
	}
}

// TestConsulUnreachable: with no Consul agent answering, both Load and
// NewLoader fail with the address and the key, instead of starting on the
// defaults.
func TestConsulUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	args := []string{"--config", "consul://microlb/gw", "--registry_address", addr}
	want := []string{"consul " + addr, `reading KV key "microlb/gw"`}
	_, errLoad := Load(args, env(nil))
	_, errNew := NewLoader(args, env(nil))
	for name, err := range map[string]error{"Load": errLoad, "NewLoader": errNew} {
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s error = %v, want one containing %q", name, err, w)
			}
		}
	}
}

// TestConsulBadKey: a malformed consul:// source is refused before any
// request.
func TestConsulBadKey(t *testing.T) {
	_, err := NewLoader([]string{"--config", "consul://"}, env(nil))
	if err == nil || !strings.Contains(err.Error(), "names no Consul KV key") {
		t.Errorf("NewLoader error = %v, want the empty-key error", err)
	}
}
