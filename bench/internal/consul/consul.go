// Package consul starts a throwaway Consul dev agent on free loopback ports
// for one benchmark run, and calls the few HTTP API endpoints the stages
// need.
package consul

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
)

// Agent is a running dev agent.
type Agent struct {
	// Addr is host:port of the HTTP API.
	Addr string
	// Proc is the agent's process.
	Proc *proc.Proc
}

// Start starts `consul agent -dev` (bin) with every port on a free loopback
// port and DNS off, and waits until it has a leader. It retries on fresh
// ports when a port was taken in between.
func Start(ctx context.Context, g *proc.Group, bin, dataDir string) (*Agent, error) {
	var err error
	for try := range 3 {
		var ports []int
		if ports, err = freePorts(5); err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(ports[0])
		args := []string{"agent", "-dev", "-log-level=warn",
			"-node=bench-" + strconv.Itoa(ports[0]),
			"-bind=127.0.0.1", "-client=127.0.0.1",
			"-data-dir=" + fmt.Sprintf("%s/consul-%d", dataDir, try),
			"-http-port=" + strconv.Itoa(ports[0]),
			"-grpc-port=" + strconv.Itoa(ports[1]),
			"-serf-lan-port=" + strconv.Itoa(ports[2]),
			"-serf-wan-port=" + strconv.Itoa(ports[3]),
			"-server-port=" + strconv.Itoa(ports[4]),
			"-dns-port=-1"}
		if newerThan113(bin) {
			args = append(args, "-grpc-tls-port=-1")
		}
		var p *proc.Proc
		if p, err = g.Start(proc.Spec{Name: "consul", Bin: bin, Args: args}); err != nil {
			return nil, err
		}
		a := &Agent{Addr: addr, Proc: p}
		err = proc.WaitReady(ctx, p, 30*time.Second, "consul leader", a.hasLeader)
		if err == nil {
			return a, nil
		}
		p.Stop()
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, err
}

// hasLeader succeeds once /v1/status/leader names a leader.
func (a *Agent) hasLeader() error {
	resp, err := http.Get(a.URL("/v1/status/leader"))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(strings.Trim(string(b), "\" \n")) == 0 {
		return fmt.Errorf("no leader yet (%s %q)", resp.Status, b)
	}
	return nil
}

// URL returns the API URL of path.
func (a *Agent) URL(path string) string { return "http://" + a.Addr + path }

// Deregister removes the service instance id from the agent, as an operator
// would with `consul services deregister`.
func (a *Agent) Deregister(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, a.URL("/v1/agent/service/deregister/"+id), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("deregister %s: %s %s", id, resp.Status, b)
	}
	return nil
}

// freePorts returns n distinct ports free on 127.0.0.1 for TCP and UDP (serf
// needs both) a moment ago.
func freePorts(n int) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 20*n {
			return nil, fmt.Errorf("no free TCP+UDP loopback ports")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			l.Close()
			continue
		}
		u.Close()
		held = append(held, l)
		ports = append(ports, port)
	}
	return ports, nil
}

var versionRE = regexp.MustCompile(`Consul v(\d+)\.(\d+)`)

// newerThan113 reports whether bin is Consul 1.14 or later, whose dev mode
// also binds a fixed gRPC TLS port that must be switched off.
func newerThan113(bin string) bool {
	out, _ := exec.Command(bin, "version").Output()
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 1 || (major == 1 && minor >= 14)
}
