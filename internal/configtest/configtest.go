// Package configtest loads gateway configurations for tests.
package configtest

import (
	"testing"

	"github.com/microlb/microlb/api-gateway/config"
)

// Load parses yaml and validates it, as the gateway does at start, failing
// t on any problem.
func Load(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}
