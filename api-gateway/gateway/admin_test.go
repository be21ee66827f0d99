package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"go-micro.dev/v4/registry"
)

// scrape returns the gateway's /metrics text.
func scrape(t testing.TB, g *testGateway) string {
	t.Helper()
	code, _, body := do(t, "GET", g.admin+"/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	return body
}

func TestAdmin(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", map[string]string{"weight": "3", "zone": "z1", "version": "v1"})
	startHTTP(t, reg, "greeter-http", "h1")
	g := newTestGateway(t, reg, "")

	if code, _, body := do(t, "GET", g.admin+"/healthz", ""); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz %d %s", code, body)
	}
	code, _, body := do(t, "GET", g.admin+"/readyz", "")
	var ready readiness
	json.Unmarshal([]byte(body), &ready)
	if code != 200 || ready.Status != "ready" || ready.Routes != 1 || ready.Registry != "memory" {
		t.Fatalf("/readyz %d %s", code, body)
	}

	for range 4 {
		do(t, "GET", g.url+"/greeter/hello?name=m", "")
	}
	do(t, "GET", g.url+"/greeter-http/x", "")

	// /admin/api/services lists every registry service, loading the ones not selected yet.
	code, _, body = do(t, "GET", g.admin+"/admin/api/services", "")
	var view struct {
		Services []struct {
			Name  string `json:"name"`
			Stale bool   `json:"stale"`
			Nodes []struct {
				ID       string            `json:"id"`
				Address  string            `json:"address"`
				Weight   int               `json:"weight"`
				Zone     string            `json:"zone"`
				Version  string            `json:"version"`
				Health   string            `json:"health"`
				InFlight int64             `json:"in_flight"`
				EWMA     int64             `json:"ewma_ns"`
				Picks    map[string]uint64 `json:"picks"`
			} `json:"nodes"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(body), &view); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(view.Services) != 2 || view.Services[0].Name != "greeter" || view.Services[1].Name != "greeter-http" {
		t.Fatalf("services %s", body)
	}
	n := view.Services[0].Nodes[0]
	if n.ID != a.id || n.Address != a.addr || n.Weight != 3 || n.Zone != "z1" || n.Version != "v1" || n.Health != "healthy" ||
		n.Picks["weighted"] != 4 || n.EWMA <= 0 {
		t.Fatalf("node %+v", n)
	}

	m := scrape(t, g)
	for _, want := range []string{
		`microlb_gateway_requests_total{code="200",method="GET",node="greeter-a",route="default",service="greeter"} 4`,
		`microlb_gateway_requests_total{code="200",method="GET",node="h1",route="default",service="greeter-http"} 1`,
		`microlb_gateway_request_duration_seconds_count{code="200",route="default",service="greeter"} 4`,
		`microlb_gateway_upstream_attempts_total{route="default",service="greeter"} 4`,
		`microlb_selector_picks_total{node="greeter-a",service="greeter",strategy="weighted"} 4`,
		`microlb_selector_node_ejected{node="greeter-a",service="greeter"} 0`,
		`microlb_selector_ejections_total{node="greeter-a",service="greeter"} 0`,
		`microlb_selector_node_weight{node="greeter-a",service="greeter"} 3`,
		`microlb_selector_node_info{address="` + a.addr + `",node="greeter-a",service="greeter",version="v1",zone="z1"} 1`,
		`microlb_selector_service_stale{service="greeter"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAdminToken(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), "admin_token: s3cret")
	if code, _, _ := do(t, "GET", g.admin+"/healthz", ""); code != 200 {
		t.Fatalf("/healthz needs no token: %d", code)
	}
	for _, p := range []string{"/readyz", "/metrics", "/admin/api/services"} {
		if code, _, _ := do(t, "GET", g.admin+p, ""); code != 401 {
			t.Fatalf("%s without token: %d", p, code)
		}
		if code, _, _ := do(t, "GET", g.admin+p, "", "Authorization", "Bearer s3cret"); code != 200 {
			t.Fatalf("%s with token: %d", p, code)
		}
	}
}

// failingRegistry is a registry whose listing fails, for /readyz.
type failingRegistry struct{ registry.Registry }

func (failingRegistry) ListServices(...registry.ListOption) ([]*registry.Service, error) {
	return nil, errDown
}

type downError struct{}

func (downError) Error() string { return "connection refused" }

var errDown = downError{}

func TestReadyzUnavailable(t *testing.T) {
	g := newTestGateway(t, failingRegistry{registry.NewMemoryRegistry()}, "")
	code, _, body := do(t, "GET", g.admin+"/readyz", "")
	if code != 503 || !strings.Contains(body, `"unavailable"`) || !strings.Contains(body, "connection refused") {
		t.Fatalf("%d %s", code, body)
	}
}
