package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/peers"
)

// Binary names.
const (
	binBackend    = "backend"
	binGoMicroAPI = "gomicroapi"
	binGateway    = "api-gateway"
	binProducer   = "producer"
	binStockNode  = "stocknode"
)

// Stages 3 to 8 call Greeter.Hello on a go-micro service through an HTTP →
// RPC front door.
const (
	rpcPath = "/greeter/Greeter/Hello"
	rpcBody = `{"name":"bench"}`
	// rpcReadQuery is the same call as a read: GET with the request's
	// fields in the query. GET is idempotent, so the gateway may retry it
	// on another node when its node dies mid-call; the failover stage uses
	// it, as a user would for a read.
	rpcReadQuery = "?name=bench"
	// producerGrace is the producers' --grace: how long a producer keeps
	// serving after deregistering on SIGTERM. The harness stops them only
	// at the end of a stage, so the default's wait is just teardown time.
	producerGrace = "200ms"
	// backendService is the registry name of the stage-2 backends, whose
	// answers start with backendBody (see bench/backend).
	backendService = "bench-http"
	backendBody    = "hello from a microlb bench backend"
	// readyTimeout bounds the wait for a started process to answer.
	readyTimeout = 30 * time.Second
)

// helloPath is Greeter.Hello's path on the registry service svc.
func helloPath(svc string) string { return "/" + svc + "/Greeter/Hello" }

// buildAll builds the harness's own binaries (required) and the project's
// gateway and producer (optional: a stage that needs a missing one is
// skipped with the build error as its reason), and checks the tools.
func (h *harness) buildAll() error {
	dir := filepath.Join(h.o.work, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h.bins, h.missing = map[string]string{}, map[string]string{}
	t0 := time.Now()
	h.logf("building the harness binaries into %s", dir)
	if err := h.goBuild(dir+"/", "./bench/backend", "./bench/gomicroapi", "./bench/stocknode"); err != nil {
		return fmt.Errorf("building the harness: %w", err)
	}
	for _, name := range []string{binBackend, binGoMicroAPI, binStockNode} {
		h.bins[name] = filepath.Join(dir, name)
	}
	for name, pkg := range map[string]string{binGateway: "./api-gateway", binProducer: "./services/producer"} {
		out := filepath.Join(dir, name)
		if err := h.goBuild(out, pkg); err != nil {
			h.missing[name] = fmt.Sprintf("%s does not build (%s)", pkg, report.OneLine(err.Error()))
			h.logf("%s", h.missing[name])
			continue
		}
		h.bins[name] = out
	}
	h.logf("built in %v", time.Since(t0).Round(100*time.Millisecond))
	for name, bin := range map[string]*string{"wrk": &h.o.wrk, "nginx": &h.o.nginx, "haproxy": &h.o.haproxy, "caddy": &h.o.caddy, "consul": &h.o.consul} {
		p, err := exec.LookPath(*bin)
		if err != nil {
			h.missing[name] = fmt.Sprintf("%s not found (%s); scripts/bench.sh installs it", name, *bin)
			h.logf("%s", h.missing[name])
			continue
		}
		*bin = p
		h.bins[name] = p
	}
	return nil
}

// goBuild runs `go build -o out pkgs...` in the repository and returns the
// compiler's first error line on failure.
func (h *harness) goBuild(out string, pkgs ...string) error {
	args := append([]string{"build", "-o", out}, pkgs...)
	name := "go-build-" + strings.ReplaceAll(strings.Trim(pkgs[0], "./"), "/", "-")
	_, err := h.g.Run(h.ctx, proc.Spec{Name: name, Bin: "go", Args: args, Dir: h.o.repo})
	if err != nil {
		_, log, _ := strings.Cut(err.Error(), "\n") // after proc's "name: exit status" line
		if msg := firstError(log); msg != "" {
			return fmt.Errorf("%s", msg)
		}
	}
	return err
}

// firstError returns the first line of go build's output that is not a
// "# package" header.
func firstError(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// need returns nil when every binary of names is available, or a skip
// error saying why the first missing one is.
func (h *harness) need(names ...string) error {
	for _, name := range names {
		if _, ok := h.bins[name]; !ok {
			return skip("%s", h.missing[name])
		}
	}
	return nil
}

// waitReady waits up to readyTimeout for check to pass while p runs.
func (h *harness) waitReady(p *proc.Proc, what string, check func() error) error {
	return proc.WaitReady(h.ctx, p, readyTimeout, what, check)
}

// startNodes starts n processes of binary bin, the i-th with the arguments
// args(i, addr, registry) for a free address addr and the run's Consul,
// each with the worker budget, and waits until each accepts connections on
// its address.
func (h *harness) startNodes(name, bin string, n int, args func(i int, addr, registry string) []string) ([]*proc.Proc, []string, error) {
	agent, err := h.consul()
	if err != nil {
		return nil, nil, err
	}
	addrs, err := proc.FreeAddrs(n)
	if err != nil {
		return nil, nil, err
	}
	ps := make([]*proc.Proc, n)
	for i, a := range addrs {
		if ps[i], err = h.g.Start(proc.Spec{Name: name, Bin: h.bins[bin], Env: []string{h.o.gomaxprocs()}, Args: args(i, a, agent.Addr)}); err != nil {
			return nil, nil, err
		}
	}
	for i, p := range ps {
		if err := h.waitReady(p, name+" on "+addrs[i], proc.DialCheck(addrs[i])); err != nil {
			return nil, nil, err
		}
	}
	return ps, addrs, nil
}

// startProducers starts n producers registered in Consul and returns their
// processes and go-micro server addresses.
func (h *harness) startProducers(n int) ([]*proc.Proc, []string, error) {
	web, err := proc.FreeAddrs(n)
	if err != nil {
		return nil, nil, err
	}
	return h.startNodes("producer", binProducer, n, func(i int, a, registry string) []string {
		return []string{"--server_address", a, "--http_address", web[i], "--registry", "consul", "--registry_address", registry, "--grace", producerGrace}
	})
}

// startStockNodes starts one stocknode per entry of extra, serving service
// name with go-micro's server kind ("mucp" or "grpc") and those extra flags.
func (h *harness) startStockNodes(kind, name string, extra ...[]string) ([]*proc.Proc, []string, error) {
	return h.startNodes("stocknode-"+name, binStockNode, len(extra), func(i int, a, registry string) []string {
		return append([]string{"--server", kind, "--name", name, "--address", a, "--registry_address", registry}, extra[i]...)
	})
}

// startGoMicroAPI starts go-micro's api (bench/gomicroapi) and returns it
// with its base URL.
func (h *harness) startGoMicroAPI() (*proc.Proc, string, error) {
	ps, addrs, err := h.startNodes("gomicroapi", binGoMicroAPI, 1, func(_ int, a, registry string) []string {
		return []string{"--address", a, "--registry_address", registry}
	})
	if err != nil {
		return nil, "", err
	}
	return ps[0], "http://" + addrs[0], nil
}

// startGateway starts microlb's api-gateway with the configuration template
// tmpl rendered from p (its addresses, Consul and directory filled in
// here), and returns it with its base URL and admin address.
func (h *harness) startGateway(tmpl string, p peers.Params) (*proc.Proc, string, string, error) {
	if err := h.need(binGateway); err != nil {
		return nil, "", "", err
	}
	agent, err := h.consul()
	if err != nil {
		return nil, "", "", err
	}
	addrs, err := proc.FreeAddrs(2)
	if err != nil {
		return nil, "", "", err
	}
	p.Listen, p.Admin, p.Workers, p.Registry, p.Service = addrs[0], addrs[1], h.o.workers, agent.Addr, backendService
	if p.Dir, err = h.peerDir("gateway" + p.Strategy); err != nil {
		return nil, "", "", err
	}
	conf, err := peers.Write(tmpl, p)
	if err != nil {
		return nil, "", "", err
	}
	g, err := h.g.Start(proc.Spec{Name: "api-gateway", Bin: h.bins[binGateway], Dir: p.Dir, Env: []string{h.o.gomaxprocs()},
		Args: []string{"--config", conf}})
	if err != nil {
		return nil, "", "", err
	}
	if err := h.waitReady(g, "gateway listening", proc.DialCheck(addrs[0])); err != nil {
		g.Stop()
		return nil, "", "", err
	}
	return g, "http://" + addrs[0], addrs[1], nil
}

// peerDir returns a fresh private directory for one peer.
func (h *harness) peerDir(name string) (string, error) {
	d := filepath.Join(h.o.work, name)
	return d, os.MkdirAll(d, 0o755)
}

// startBackends starts the 3 HTTP backends in one process, registered in
// Consul as service bench-http, and returns their addresses.
func (h *harness) startBackends() ([]string, error) {
	agent, err := h.consul()
	if err != nil {
		return nil, err
	}
	addrs, err := proc.FreeAddrs(3)
	if err != nil {
		return nil, err
	}
	p, err := h.g.Start(proc.Spec{Name: "backends", Bin: h.bins[binBackend], Env: []string{h.o.gomaxprocs()},
		Args: []string{"--addrs", strings.Join(addrs, ","), "--registry_address", agent.Addr, "--service", backendService}})
	for _, a := range addrs {
		if err == nil {
			err = h.waitReady(p, "backend "+a, proc.DialCheck(a))
		}
	}
	return addrs, err
}

// peerTemplates are the peers' configuration templates in bench/peers.
var peerTemplates = map[string]string{"nginx": "nginx.conf.tmpl", "haproxy": "haproxy.cfg.tmpl", "caddy": "Caddyfile.tmpl"}

// proxyReady checks that GET url answers with a backend's body.
func proxyReady(url string) func() error {
	return func() error {
		b, err := fetch(http.MethodGet, url, "", 2*time.Second)
		if err == nil && !bytes.HasPrefix(b, []byte(backendBody)) {
			err = fmt.Errorf("GET %s: not a backend's answer: %.100q", url, b)
		}
		return err
	}
}

// startPeer renders the peer's configuration, starts it in the foreground
// with its own pid, temp and log paths, and waits until a request through it
// reaches a backend. It returns the URL to load.
func (h *harness) startPeer(name string, backends []string) (string, error) {
	dir, err := h.peerDir(name)
	if err != nil {
		return "", err
	}
	addrs, err := proc.FreeAddrs(1)
	if err != nil {
		return "", err
	}
	p := peers.Params{Listen: addrs[0], Backends: backends, Workers: h.o.workers, Dir: dir, Root: os.Geteuid() == 0}
	conf, err := peers.Write(peerTemplates[name], p)
	if err != nil {
		return "", err
	}
	spec := proc.Spec{Name: name, Dir: dir, Bin: h.bins[name], Args: map[string][]string{
		"nginx":   {"-e", filepath.Join(dir, "nginx-error.log"), "-p", dir, "-c", conf},
		"haproxy": {"-db", "-f", conf},
		"caddy":   {"run", "--config", conf, "--adapter", "caddyfile"},
	}[name]}
	if name == "caddy" {
		spec.Env = []string{h.o.gomaxprocs(), "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	}
	pr, err := h.g.Start(spec)
	if err != nil {
		return "", err
	}
	url := "http://" + addrs[0] + "/"
	return url, h.waitReady(pr, name+" proxying to a backend", proxyReady(url))
}

// hello is the part of Greeter.Hello's JSON answer the harness reads.
type hello struct {
	Message string `json:"message"`
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
}

// postHello POSTs rpcBody to url and decodes a greeter's 2xx answer.
func postHello(url string) (hello, error) {
	var r hello
	b, err := fetch(http.MethodPost, url, rpcBody, 2*time.Second)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Message != "Hello bench" {
		return r, fmt.Errorf("POST %s: not a greeter's answer: %.200s", url, b)
	}
	return r, nil
}

// waitHello waits, while p runs, until Greeter.Hello at url has answered
// from want distinct nodes (or once, for answers without node ids), and
// returns the node id of each server address it saw.
func (h *harness) waitHello(p *proc.Proc, name, url string, want int) (map[string]string, error) {
	nodes := map[string]string{}
	err := h.waitReady(p, fmt.Sprintf("%s answering Greeter.Hello from %d nodes", name, want), func() error {
		for range 4 * want {
			r, err := postHello(url)
			if err != nil || r.NodeID == "" {
				return err
			}
			nodes[r.Address] = r.NodeID
		}
		if len(nodes) < want {
			return fmt.Errorf("answers from %d of %d nodes so far", len(nodes), want)
		}
		return nil
	})
	return nodes, err
}

// fetch sends one request with body (JSON, when not empty) and returns
// the answer's body; an answer other than 2xx is an error carrying its
// start.
func fetch(method, url, body string, timeout time.Duration) ([]byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c := http.Client{Timeout: timeout}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 != 2 {
		err = fmt.Errorf("%s %s: %s: %.200s", method, url, resp.Status, b)
	}
	return b, err
}
