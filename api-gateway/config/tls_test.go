package config

import (
	"testing"
	"time"
)

func TestListenSettings(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string // wantErr "" for valid
		check               func(*Config) bool
	}{
		{name: "defaults: no TLS, no h2c, no grace", yaml: "", check: func(c *Config) bool {
			return c.Server.TLS == nil && c.Server.AdminTLS == nil && !c.Server.H2C && c.Server.AcceptGrace == 0
		}},
		{name: "both listeners over TLS, grace",
			yaml: "server: {tls: {cert_file: a.crt, key_file: a.key}, admin_tls: {cert_file: b.crt, key_file: b.key}, accept_grace: 5s}",
			check: func(c *Config) bool {
				return *c.Server.TLS == TLS{"a.crt", "a.key"} && *c.Server.AdminTLS == TLS{"b.crt", "b.key"} && c.Server.AcceptGrace == 5*time.Second
			}},
		{name: "h2c", yaml: "server: {h2c: true}", check: func(c *Config) bool { return c.Server.H2C }},
		{name: "key missing", yaml: "server: {tls: {cert_file: a.crt}}", wantErr: "server.tls: cert_file and key_file are both required"},
		{name: "admin cert missing", yaml: "server: {admin_tls: {key_file: a.key}}", wantErr: "server.admin_tls: cert_file and key_file are both required"},
		{name: "h2c with tls", yaml: "server: {h2c: true, tls: {cert_file: a.crt, key_file: a.key}}", wantErr: "server.h2c: cleartext HTTP/2 cannot be combined with server.tls"},
		{name: "negative grace", yaml: "server: {accept_grace: -1s}", wantErr: "server.accept_grace must not be negative"},
		{name: "unknown key", yaml: "server: {tls: {cert: a.crt}}", wantErr: "field cert not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseValid(tt.yaml)
			if checkErr(t, err, tt.wantErr) && !tt.check(cfg) {
				t.Errorf("got %+v", cfg.Server)
			}
		})
	}
}
