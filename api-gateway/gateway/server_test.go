package gateway

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
)

func TestAcceptGrace(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startHTTP(t, reg, "plain-http", "p1")
	g := serveGateway(t, reg, `
admin_token: tok-0123456789
server: {accept_grace: 1s}
routes:
  - {name: plain, path: /plain, kind: proxy, service: plain-http, strip_prefix: true}
`, nil)
	auth := []string{"Authorization", "Bearer tok-0123456789"}
	if code, _, body := do(t, "GET", "http://"+g.adm+"/readyz", "", auth...); code != 200 || !strings.Contains(body, `"status": "ready"`) {
		t.Fatalf("before SIGTERM: %d %s", code, body)
	}
	start := time.Now()
	g.stop() // what SIGTERM does in the binary
	waitFor(t, "/readyz to report draining", func() bool {
		code, _, body := do(t, "GET", "http://"+g.adm+"/readyz", "", auth...)
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"status": "draining"`)
	})
	tests := []struct {
		name, url string
		hdr       []string
		wantCode  int
		wantBody  string
	}{
		{"a new connection is still served", "http://" + g.pub + "/plain/x", nil, 200, `"node_id":"p1"`},
		{"readyz without the token is still refused", "http://" + g.adm + "/readyz", nil, 401, "admin token required"},
		{"healthz stays ok", "http://" + g.adm + "/healthz", nil, 200, `"status": "ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh connection each time: the balancer's new ones must get in.
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			code, _, body := doWith(t, c, "GET", tt.url, "", tt.hdr...)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %s; want %d containing %s", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
	if err := <-g.done; err != nil {
		t.Fatal(err)
	}
	g.done <- nil // for the cleanup
	if d := time.Since(start); d < time.Second {
		t.Errorf("Serve returned %s after the signal, before the 1s grace period ended", d)
	}
	if _, err := net.Dial("tcp", g.pub); err == nil {
		t.Error("the public listener still accepts after the grace period")
	}
	if n := len(g.logs.lines("api-gateway draining: still serving, /readyz answers 503")); n != 1 {
		t.Errorf("%d draining log lines; want 1", n)
	}
}

func TestNoAcceptGraceByDefault(t *testing.T) {
	g := serveGateway(t, registry.NewMemoryRegistry(), "", nil)
	g.stop()
	if err := <-g.done; err != nil {
		t.Fatal(err)
	}
	g.done <- nil
	if n := len(g.logs.lines("api-gateway draining: still serving, /readyz answers 503")); n != 0 {
		t.Errorf("drained with accept_grace 0: %s", g.logs.String())
	}
}
