package consultest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterHCL makes raft and retries fast enough for tests.
const clusterHCL = `performance { raft_multiplier = 1 }`

// Cluster is a set of consul servers on 127.0.0.1 that form one datacenter.
type Cluster struct {
	// Agents are the servers, in start order; a stopped one stays in place.
	Agents []*Agent
}

// StartCluster starts n consul servers (`agent -server -bootstrap-expect n`)
// on free 127.0.0.1 ports, each with its own data dir and HTTP port, joined
// to each other with -retry-join. It waits until every server knows the same
// leader and sees all n members alive, and registers a cleanup that kills them
// all and removes their directories. It fails the test, with the tails of the
// logs, if that takes more than 30 s.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	skipIfRequested(t)
	if n < 1 {
		t.Fatalf("consultest: StartCluster needs n >= 1, got %d", n)
	}
	bin := Binary(t)
	dir := t.TempDir()
	c := &Cluster{}
	for i := range n {
		c.Agents = append(c.Agents, &Agent{bin: bin, Dir: filepath.Join(dir, fmt.Sprintf("server-%d", i))})
	}
	t.Cleanup(c.stopAll)
	err := retryOnClash(c.stopAll, func() error {
		if err := c.configure(); err != nil {
			t.Fatalf("consultest: %v", err)
		}
		if err := c.launchAll(); err != nil {
			return err
		}
		return c.waitHealthy(time.Now().Add(startTimeout))
	})
	if err != nil {
		t.Fatalf("consultest: starting %d-server consul cluster: %v\n%s", n, err, c.logTails())
	}
	return c
}

// configure picks fresh ports and a clean data dir for every server.
func (c *Cluster) configure() error {
	ports := make([]Ports, len(c.Agents))
	for i := range ports {
		var err error
		if ports[i], err = freePorts(); err != nil {
			return err
		}
	}
	for i, a := range c.Agents {
		if err := os.RemoveAll(filepath.Join(a.Dir, "data")); err != nil {
			return err
		}
		if err := os.MkdirAll(a.Dir, 0o755); err != nil {
			return err
		}
		extra := []string{"-server", fmt.Sprintf("-bootstrap-expect=%d", len(c.Agents)),
			"-retry-interval=200ms", "-hcl=" + clusterHCL}
		for j, p := range ports {
			if j != i {
				extra = append(extra, fmt.Sprintf("-retry-join=127.0.0.1:%d", p.SerfLAN))
			}
		}
		a.configure(ports[i], fmt.Sprintf("server-%d", i), extra...)
	}
	return nil
}

func (c *Cluster) launchAll() error {
	for _, a := range c.Agents {
		if err := a.launch(); err != nil {
			return err
		}
	}
	return nil
}

// waitHealthy waits until every server knows the same leader, the raft
// configuration holds all servers, and every server sees all of them alive.
func (c *Cluster) waitHealthy(deadline time.Time) error {
	n := len(c.Agents)
	healthy := func() bool {
		leader := c.Agents[0].leader()
		for _, a := range c.Agents {
			if l := a.leader(); l == "" || l != leader || a.peers() != n || a.aliveMembers() != n {
				return false
			}
		}
		return true
	}
	what := fmt.Sprintf("common leader with %d alive servers", n)
	return waitAll(c.Agents, deadline, what, healthy)
}

// Addrs returns the HTTP API addresses (host:port) of all servers, including
// stopped ones.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Agents))
	for i, a := range c.Agents {
		addrs[i] = a.Addr
	}
	return addrs
}

// Leader returns the index in Agents of the running server that is the raft
// leader, as reported by the first running server that knows one. It fails
// the test if there is none within 30 s.
func (c *Cluster) Leader(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		for _, a := range c.Agents {
			if a.exited() {
				continue
			}
			l := a.leader()
			for i, b := range c.Agents {
				// A stopped server may linger as the known leader for a moment.
				if l != "" && l == fmt.Sprintf("127.0.0.1:%d", b.Ports.Server) && !b.exited() {
					return i
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("consultest: no consul server knows a leader after %v\n%s", startTimeout, c.logTails())
	return -1
}

// Stop kills server i (see Agent.Stop); it keeps its data dir and ports.
func (c *Cluster) Stop(i int) { c.Agents[i].Stop() }

// Restart starts server i again with the same data dir, ports and flags, and
// waits until the whole cluster is healthy again: the same leader everywhere
// and all servers alive in raft and serf.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Agents[i].Restart(t)
	if err := c.waitHealthy(time.Now().Add(startTimeout)); err != nil {
		t.Fatalf("consultest: server-%d did not rejoin: %v\n%s", i, err, c.logTails())
	}
}

// stopAll stops all servers in parallel.
func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for _, a := range c.Agents {
		wg.Go(a.Stop)
	}
	wg.Wait()
}

func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, a := range c.Agents {
		b.WriteString(a.logTail())
		b.WriteString("\n")
	}
	return b.String()
}
