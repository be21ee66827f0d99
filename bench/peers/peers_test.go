package peers

import (
	"os"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	p := Params{Listen: "127.0.0.1:9000", Admin: "127.0.0.1:9001", Backends: []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"},
		Workers: 2, Dir: "/tmp/peer", Registry: "127.0.0.1:8500", Service: "bench-http", Root: true}
	tests := []struct {
		tmpl string
		want []string
	}{
		{"nginx.conf.tmpl", []string{"user root;", "worker_processes 2;", "access_log off;", "daemon off;", "pid /tmp/peer/nginx.pid;",
			"server 127.0.0.1:1;", "server 127.0.0.1:3;", "keepalive 64;", "listen 127.0.0.1:9000;",
			"proxy_http_version 1.1;", `proxy_set_header Connection "";`}},
		{"haproxy.cfg.tmpl", []string{"nbthread 2", "balance roundrobin", "http-reuse always", "bind 127.0.0.1:9000",
			"server b0 127.0.0.1:1", "server b2 127.0.0.1:3"}},
		{"Caddyfile.tmpl", []string{"GOMAXPROCS=2", "admin off", "output discard", "http://127.0.0.1:9000 {", "bind 127.0.0.1",
			"reverse_proxy 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 {", "lb_policy round_robin", "keepalive_idle_conns_per_host 64"}},
		{"gateway-proxy.yaml.tmpl", []string{"address: 127.0.0.1:9000", "admin_address: 127.0.0.1:9001", "registry_address: 127.0.0.1:8500",
			"log_level: error", "kind: proxy", "service: bench-http", "strategy: roundrobin"}},
		{"gateway-rpc.yaml.tmpl", []string{"address: 127.0.0.1:9000", "log_level: error", "strategy: roundrobin"}},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			got, err := Render(tt.tmpl, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("rendered %s lacks %q:\n%s", tt.tmpl, w, got)
				}
			}
			if strings.Contains(got, "<no value>") {
				t.Errorf("rendered %s has an unfilled field:\n%s", tt.tmpl, got)
			}
		})
	}
	p.Root = false
	if got, _ := Render("nginx.conf.tmpl", p); strings.Contains(got, "user ") {
		t.Errorf("nginx config names a user when not root:\n%s", got)
	}
	p.Strategy, p.Timeout, p.Extra = "leastloaded", "1s", "  retries: 2\n"
	if got, _ := Render("gateway-rpc.yaml.tmpl", p); !strings.Contains(got, "defaults:\n  strategy: leastloaded\n  timeout: 1s\n  retries: 2\n") {
		t.Errorf("the tail stage's gateway config lacks its defaults:\n%s", got)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path, err := Write("haproxy.cfg.tmpl", Params{Listen: "127.0.0.1:1", Backends: []string{"127.0.0.1:2"}, Workers: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if path != dir+"/haproxy.cfg" {
		t.Fatalf("path = %s", path)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "server b0 127.0.0.1:2") {
		t.Fatalf("file: %v\n%s", err, b)
	}
}
