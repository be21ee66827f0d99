package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/internal/testutil"
	"github.com/microlb/microlb/selector"
)

// fixture is a real microlb selector over a memory registry with the
// service svc of nodes n1 and n2 (n1 in zone z1, version v1), ejecting
// after 1 failure for 10 s, on a fake clock.
func fixture(t *testing.T) (*Metrics, *selector.Selector, registry.Registry, *testutil.Clock) {
	t.Helper()
	reg := registry.NewMemoryRegistry()
	svc := &registry.Service{Name: "svc", Version: "v1", Nodes: []*registry.Node{
		{Id: "n1", Address: "10.0.0.1:80", Metadata: map[string]string{"zone": "z1"}},
		{Id: "n2", Address: "10.0.0.2:80"},
	}}
	if err := reg.Register(svc); err != nil {
		t.Fatal(err)
	}
	clk := testutil.NewClock(time.Unix(1_700_000_000, 0))
	sel := selector.New(gselector.Registry(reg), selector.WithFailureThreshold(1),
		selector.WithEjection(10*time.Second, 10*time.Second), selector.WithClock(clk.Now))
	t.Cleanup(func() { sel.Close() })
	if _, err := sel.Select("svc"); err != nil {
		t.Fatal(err)
	}
	return New(sel), sel, reg, clk
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func node(id string) *registry.Node { return &registry.Node{Id: id} }

// eject fails node id once (the threshold), then lets the ejection expire
// and recovers it with a success: two events.
func eject(sel *selector.Selector, clk *testutil.Clock, id string) {
	sel.Mark("svc", node(id), io.EOF)
	clk.Advance(10 * time.Second)
	sel.Mark("svc", node(id), nil)
}

func TestNames(t *testing.T) {
	m, _, _, _ := fixture(t)
	m.Observe("r", "svc", "n1", "GET", 200, 3*time.Millisecond, 1)
	out := scrape(t, m)
	for _, want := range []string{
		`microlb_gateway_requests_total{code="200",method="GET",node="n1",route="r",service="svc"} 1`,
		`microlb_gateway_request_duration_seconds_count{code="200",route="r",service="svc"} 1`,
		`microlb_gateway_upstream_attempts_total{route="r",service="svc"} 1`,
		`microlb_selector_node_weight{node="n1",service="svc"} `,
		`microlb_selector_node_info{address="10.0.0.1:80",node="n1",service="svc",version="v1",zone="z1"} 1`,
		`microlb_selector_node_info{address="10.0.0.2:80",node="n2",service="svc",version="v1",zone=""} 1`,
		`microlb_selector_ejections_total{node="n1",service="svc"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, gone := range []string{`class="`, `microlb_selector_node_weight{node="n1",service="svc",version=`} {
		if strings.Contains(out, gone) {
			t.Errorf("metrics still have %s", gone)
		}
	}
}

func TestEjectionsTotal(t *testing.T) {
	m, sel, _, clk := fixture(t)
	value := func(t *testing.T, id string) string {
		t.Helper()
		prefix := `microlb_selector_ejections_total{node="` + id + `",service="svc"} `
		for _, l := range strings.Split(scrape(t, m), "\n") {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				return v
			}
		}
		t.Fatalf("no %s", prefix)
		return ""
	}
	tests := []struct {
		name   string
		act    func()
		n1, n2 string
	}{
		{"none yet", func() {}, "0", "0"},
		{"one ejection", func() { sel.Mark("svc", node("n1"), io.EOF) }, "1", "0"},
		// Same clock reading as the event counted last: still counted.
		{"same instant, other node", func() { sel.Mark("svc", node("n2"), io.EOF) }, "1", "1"},
		{"nothing new", func() {}, "1", "1"},
		{"recovered, then ejected twice more", func() {
			clk.Advance(10 * time.Second)
			sel.Mark("svc", node("n1"), nil)
			eject(sel, clk, "n1")
			eject(sel, clk, "n1")
		}, "3", "1"},
		// 30 cycles of 2 events, 60 events: within the selector's 64.
		{"60 events between two scrapes", func() {
			for range 30 {
				eject(sel, clk, "n2")
			}
		}, "3", "31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.act()
			if n1, n2 := value(t, "n1"), value(t, "n2"); n1 != tt.n1 || n2 != tt.n2 {
				t.Errorf("ejections n1 %s n2 %s; want %s and %s", n1, n2, tt.n1, tt.n2)
			}
		})
	}
	t.Run("never backwards past the log's 64 events", func(t *testing.T) {
		for range 50 { // 100 events: the oldest 36 fall out of the log
			eject(sel, clk, "n1")
		}
		if got := value(t, "n1"); got != "35" { // 3 + the 32 ejections still in the log
			t.Errorf("n1 %s; want 35", got)
		}
		if got := value(t, "n2"); got != "31" {
			t.Errorf("n2 %s; want 31", got)
		}
	})
}

func TestDepartedNodeSeriesDeleted(t *testing.T) {
	m, sel, reg, _ := fixture(t)
	m.Observe("r", "svc", "n1", "GET", 200, time.Millisecond, 1)
	m.Observe("r", "svc", "n2", "GET", 200, time.Millisecond, 1)
	m.Observe("r", "svc", "", "GET", 503, time.Millisecond, 0)
	m.Observe("r", "other", "x9", "GET", 200, time.Millisecond, 1) // a service the selector does not watch
	sel.Mark("svc", node("n2"), io.EOF)
	out := scrape(t, m)
	if !strings.Contains(out, `node="n2"`) {
		t.Fatalf("n2 has no series before it leaves:\n%s", out)
	}
	if err := reg.Deregister(&registry.Service{Name: "svc", Version: "v1", Nodes: []*registry.Node{{Id: "n2", Address: "10.0.0.2:80"}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		gone := true
		for _, s := range sel.Stats() {
			for _, n := range s.Nodes {
				gone = gone && n.ID != "n2"
			}
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n2 never left the selector's snapshot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	out = scrape(t, m)
	if strings.Contains(out, `node="n2"`) {
		t.Errorf("series of the departed n2 remain:\n%s", testutil.Grep(out, `node="n2"`))
	}
	for _, want := range []string{
		`microlb_gateway_requests_total{code="200",method="GET",node="n1",route="r",service="svc"} 1`,
		`microlb_gateway_requests_total{code="503",method="GET",node="",route="r",service="svc"} 1`,
		`microlb_gateway_requests_total{code="200",method="GET",node="x9",route="r",service="other"} 1`,
		`microlb_selector_node_info{address="10.0.0.1:80",node="n1",service="svc",version="v1",zone="z1"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A late request on the departed node: its series comes back, and goes
	// at the next scrape.
	m.Observe("r", "svc", "n2", "GET", 200, time.Millisecond, 1)
	if out := scrape(t, m); strings.Contains(out, `node="n2"`) {
		t.Errorf("late series of n2 kept:\n%s", testutil.Grep(out, `node="n2"`))
	}
}
