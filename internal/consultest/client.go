package consultest

import (
	"errors"
	"fmt"
	"testing"
	"time"
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
	a := &Agent{bin: Binary(t), Dir: t.TempDir()}
	t.Cleanup(a.Stop)
	var err error
	for range startTries {
		var ports Ports
		if ports, err = freePorts(); err != nil {
			t.Fatalf("consultest: %v", err)
		}
		extra := []string{"-retry-interval=200ms", "-hcl=" + clusterHCL}
		for _, s := range c.Agents {
			extra = append(extra, fmt.Sprintf("-retry-join=127.0.0.1:%d", s.Ports.SerfLAN))
		}
		a.configure(ports, fmt.Sprintf("client-%d", ports.HTTP), extra...)
		if err = a.launch(); err == nil {
			err = a.waitUntil(time.Now().Add(startTimeout), "a leader", a.hasLeader)
		}
		if !errors.Is(err, errPortClash) {
			break
		}
		a.Stop()
	}
	if err != nil {
		t.Fatalf("consultest: starting consul client agent: %v\n%s", err, a.logTail())
	}
	return a
}
