package consulhealth

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	consulapi "github.com/hashicorp/consul/api"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/internal/consultest"
	"github.com/microlb/microlb/selector"
)

// TestWarningLowersWeight registers three nodes in a real Consul agent,
// gives one a check in state warning and another a critical one: through
// Wrap, the selector gives the warning node a quarter of a passing node's
// weight, and never picks the critical one (go-micro's registry drops it).
func TestWarningLowersWeight(t *testing.T) {
	agent := consultest.Start(t)
	reg := consul.NewRegistry(registry.Addrs(agent.Addr))
	for i, id := range []string{"health-ok", "health-warn", "health-crit"} {
		// go-micro's Consul registry registers one node per call.
		svc := &registry.Service{Name: "health", Version: "v1", Nodes: []*registry.Node{
			{Id: id, Address: fmt.Sprintf("127.0.0.1:%d", 10001+i)}}}
		if err := reg.Register(svc, registry.RegisterTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	api := reg.(clienter).Client().Agent()
	for id, status := range map[string]string{"health-warn": consulapi.HealthWarning, "health-crit": consulapi.HealthCritical} {
		err := api.CheckRegister(&consulapi.AgentCheckRegistration{Name: "disk-" + id, ServiceID: id,
			AgentServiceCheck: consulapi.AgentServiceCheck{TTL: "10m", Status: status}})
		if err != nil {
			t.Fatal(err)
		}
	}
	sel := selector.New(gselector.Registry(Wrap(reg)), selector.WithStrategy(selector.Weighted))
	defer sel.Close()
	got := map[string]int{}
	for range 50 {
		next, err := sel.Select("health")
		if err != nil {
			t.Fatal(err)
		}
		n, err := next()
		if err != nil {
			t.Fatal(err)
		}
		got[n.Id]++
	}
	if got["health-ok"] != 40 || got["health-warn"] != 10 || got["health-crit"] != 0 {
		t.Errorf("picks = %v, want health-ok 40, health-warn 10, health-crit 0", got)
	}
}

// TestWrapOtherRegistry: a registry that is not Consul's is left alone.
func TestWrapOtherRegistry(t *testing.T) {
	r := registry.NewMemoryRegistry()
	if Wrap(r) != r {
		t.Error("Wrap changed a memory registry")
	}
}
