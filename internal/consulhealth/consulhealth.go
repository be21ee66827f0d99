// Package consulhealth tells the selector which nodes Consul's health checks
// warn about. go-micro's Consul registry drops a node whose check is
// critical, but passes a warning node on as healthy, with nothing to tell
// it apart. Wrap wraps that registry so that GetService marks such nodes
// with the metadata selector.HealthCheckKey = selector.HealthCheckWarning,
// and the selector gives them a quarter of their weight.
package consulhealth

import (
	consulapi "github.com/hashicorp/consul/api"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/selector"
)

// clienter is go-micro's Consul registry: it exposes its API client.
type clienter interface {
	Client() *consulapi.Client
}

// Wrap returns reg with GetService annotating warning nodes, when reg is
// go-micro's Consul registry; any other registry is returned as it is.
func Wrap(reg registry.Registry) registry.Registry {
	c, ok := reg.(clienter)
	if !ok {
		return reg
	}
	return &healthRegistry{Registry: reg, client: c}
}

type healthRegistry struct {
	registry.Registry
	client clienter
}

// GetService returns the registry's answer with each node whose service
// checks include a warning marked (on a copy of the node). When Consul's
// checks cannot be read, the answer is returned unmarked: a warning only
// lowers a weight, and the registry's own answer stays authoritative.
func (r *healthRegistry) GetService(name string, opts ...registry.GetOption) ([]*registry.Service, error) {
	services, err := r.Registry.GetService(name, opts...)
	if err != nil || len(services) == 0 {
		return services, err
	}
	checks, _, cerr := r.client.Client().Health().Checks(name, nil)
	if cerr != nil {
		return services, nil
	}
	warn := map[string]bool{}
	for _, c := range checks {
		if c.Status == consulapi.HealthWarning && c.ServiceID != "" {
			warn[c.ServiceID] = true // go-micro registers each node as a Consul service with the node's id
		}
	}
	if len(warn) == 0 {
		return services, nil
	}
	out := make([]*registry.Service, len(services))
	for i, s := range services {
		cp := *s
		cp.Nodes = make([]*registry.Node, len(s.Nodes))
		for j, n := range s.Nodes {
			if n == nil || !warn[n.Id] {
				cp.Nodes[j] = n
				continue
			}
			nn := *n
			nn.Metadata = make(map[string]string, len(n.Metadata)+1)
			for k, v := range n.Metadata {
				nn.Metadata[k] = v
			}
			nn.Metadata[selector.HealthCheckKey] = selector.HealthCheckWarning
			cp.Nodes[j] = &nn
		}
		out[i] = &cp
	}
	return out, nil
}
