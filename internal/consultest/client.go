package consultest

import (
	"fmt"
	"testing"
)

// StartClient starts a consul client agent (not a server) on free
// 127.0.0.1 ports with its own directory, joined to the cluster's servers
// with -retry-join, as a machine of a real fleet runs next to the gateway:
// it forwards queries to whichever server is alive. It waits until the
// agent knows the leader, and registers a cleanup that kills it. It fails
// the test, with the tail of the agent's log, if that takes more than 30 s.
func (c *Cluster) StartClient(t testing.TB) *Agent {
	t.Helper()
	skipIfRequested(t)
	return startAgent(t, "client agent", func(p Ports) (string, []string) {
		extra := []string{"-retry-interval=200ms", "-hcl=" + clusterHCL}
		for _, s := range c.Agents {
			extra = append(extra, fmt.Sprintf("-retry-join=127.0.0.1:%d", s.Ports.SerfLAN))
		}
		return fmt.Sprintf("client-%d", p.HTTP), extra
	})
}
