package main

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/microlb/microlb/selector"
)

// noEnv is a getenv with nothing set.
func noEnv(string) string { return "" }

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		service:     "greeter",
		strategies:  []selector.Strategy{selector.Weighted},
		requests:    700,
		concurrency: 4,
		retries:     2,
		timeout:     5 * time.Second,
		registry:    "consul",
	}
	if !equalConfig(*cfg, want) {
		t.Fatalf("defaults = %+v, want %+v", *cfg, want)
	}
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{"MICRO_REGISTRY": "memory", "MICRO_REGISTRY_ADDRESS": "10.0.0.1:8500"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *config)
	}{
		{name: "all strategies", args: []string{"--strategy", "all"},
			want: func(c *config) { c.strategies = selector.Strategies[:] }},
		{name: "strategy is case-insensitive", args: []string{"-strategy=RoundRobin"},
			want: func(c *config) { c.strategies = []selector.Strategy{selector.RoundRobin} }},
		{name: "-n", args: []string{"-n", "30"}, want: func(c *config) { c.requests = 30 }},
		{name: "--requests", args: []string{"--requests=40"}, want: func(c *config) { c.requests = 40 }},
		{name: "hash with keys", args: []string{"--strategy", "hash", "--keys", "1000", "--json"},
			want: func(c *config) { c.strategies, c.keys, c.json = []selector.Strategy{selector.Hash}, 1000, true }},
		{name: "one key", args: []string{"--key", "user-7"}, want: func(c *config) { c.key = "user-7" }},
		{name: "registry from the environment", env: env,
			want: func(c *config) { c.registry, c.registryAddress = "memory", "10.0.0.1:8500" }},
		{name: "flags beat the environment", env: env, args: []string{"--registry", "consul", "--registry_address", "127.0.0.1:8600"},
			want: func(c *config) { c.registry, c.registryAddress = "consul", "127.0.0.1:8600" }},
		{name: "service, concurrency, retries, timeout", args: []string{"--service", "other", "--concurrency", "8", "--retries", "0", "--timeout", "2s"},
			want: func(c *config) { c.service, c.concurrency, c.retries, c.timeout = "other", 8, 0, 2*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			got, err := parseFlags(tt.args, getenv, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := parseFlags(nil, noEnv, &bytes.Buffer{})
			tt.want(want)
			if !equalConfig(*got, *want) {
				t.Fatalf("parseFlags(%q) = %+v, want %+v", tt.args, *got, *want)
			}
		})
	}
}

func equalConfig(a, b config) bool {
	return slices.Equal(a.strategies, b.strategies) && a.service == b.service && a.key == b.key &&
		a.keys == b.keys && a.requests == b.requests && a.concurrency == b.concurrency &&
		a.retries == b.retries && a.timeout == b.timeout && a.json == b.json &&
		a.registry == b.registry && a.registryAddress == b.registryAddress
}

// TestRunUsageErrors checks the exit status and message of bad command lines.
func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // the whole of stderr, when not empty
	}{
		{name: "unknown strategy", args: []string{"--strategy", "fastest"}, wantCode: 2,
			wantErr: "consumer: unknown strategy \"fastest\": valid strategies are random, roundrobin, weighted, hash, leastloaded, or all\n"},
		{name: "key and keys", args: []string{"--key", "a", "--keys", "3"}, wantCode: 2,
			wantErr: "consumer: --key and --keys exclude each other\n"},
		{name: "no requests", args: []string{"-n", "0"}, wantCode: 2,
			wantErr: "consumer: --requests 0: want 1 or more\n"},
		{name: "no concurrency", args: []string{"--concurrency", "0"}, wantCode: 2,
			wantErr: "consumer: --concurrency 0: want 1 or more\n"},
		{name: "negative keys", args: []string{"--keys", "-1"}, wantCode: 2,
			wantErr: "consumer: --keys -1: want 1 or more\n"},
		{name: "stray argument", args: []string{"weighted"}, wantCode: 2,
			wantErr: "consumer: unexpected argument \"weighted\"\n"},
		{name: "unknown registry", args: []string{"--registry", "zookeeper"}, wantCode: 2,
			wantErr: "consumer: unknown registry \"zookeeper\": want consul, mdns or memory\n"},
		{name: "unknown flag", args: []string{"--fast"}, wantCode: 2},
		{name: "help", args: []string{"-h"}, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, noEnv, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if tt.wantErr != "" && stderr.String() != tt.wantErr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}
