package config

import (
	"testing"
	"time"
)

func TestListenSettings(t *testing.T) {
	tests := []struct {
		name, yaml string
		check      func(*Config) bool
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseValid(tt.yaml)
			checkErr(t, err, "")
			if !tt.check(cfg) {
				t.Errorf("got %+v", cfg.Server)
			}
		})
	}
}
