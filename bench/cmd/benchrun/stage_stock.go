package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/wrk"
)

// Registry names of the stock go-micro services (bench/stocknode).
const (
	stockService = "stockgreeter" // mucp server
	grpcService  = "grpcgreeter"  // gRPC server plugin
)

// stockPaths are the spellings of Greeter.Hello on stockService that must
// both answer through the gateway, as they do through `micro api`.
var stockPaths = []string{"/" + stockService + "/Greeter/Hello", "/" + stockService + "/greeter/hello"}

// stockStage compares HTTP → RPC to stock go-micro v4.11.0 services in
// alternated A/B pairs: go-micro's api → 3 stock mucp nodes (the base),
// microlb's gateway → the same nodes, and the gateway → 3 stock gRPC nodes.
// It also records each front door's CPU per request.
func (h *harness) stockStage(st *report.Stage) error {
	if _, err := h.need(binGateway); err != nil {
		return err
	}
	agent, err := h.consul()
	if err != nil {
		return err
	}
	for _, svc := range []struct{ kind, name string }{{"mucp", stockService}, {"grpc", grpcService}} {
		if _, _, err := h.startStockNodes(svc.kind, svc.name, 3, agent.Addr); err != nil {
			return err
		}
	}
	h.logf("3 stock mucp and 3 stock gRPC nodes up")
	addrs, err := proc.FreeAddrs(1)
	if err != nil {
		return err
	}
	gm, err := h.g.Start(proc.Spec{Name: "gomicroapi", Bin: h.bins[binGoMicroAPI], Env: []string{h.o.gomaxprocs()},
		Args: []string{"--address", addrs[0], "--registry_address", agent.Addr}})
	if err != nil {
		return err
	}
	base := abTarget{name: report.NameGoMicroStock, url: "http://" + addrs[0] + stockPaths[0], cpu: &cpuMeter{pid: gm.Pid()}}
	if err := h.waitHello(gm, base.name, base.url, 3); err != nil {
		return fmt.Errorf("go-micro api: %w", err)
	}
	gw, gwAddr, _, err := h.startGateway("gateway-rpc.yaml.tmpl", agent.Addr)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	mucp := abTarget{name: report.NameGatewayStock, url: "http://" + gwAddr + stockPaths[0], cpu: &cpuMeter{pid: gw.Pid()}}
	grpc := abTarget{name: report.NameGatewayGRPC, url: "http://" + gwAddr + "/" + grpcService + "/Greeter/Hello", cpu: &cpuMeter{pid: gw.Pid()}}
	for _, t := range []abTarget{mucp, grpc} {
		if err := h.waitHello(gw, t.name, t.url, 3); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for _, p := range stockPaths {
		if _, err := postHelloURL(c, "http://"+gwAddr+p); err != nil {
			return fmt.Errorf("gateway path spelling: %w", err)
		}
	}
	script, err := wrk.PostScript(h.o.work, rpcBody)
	if err != nil {
		return err
	}
	ts := []abTarget{mucp, grpc, base}
	res, err := h.abCompare(base.name, ts, script)
	if err != nil {
		return err
	}
	out := &report.Stock{Targets: res, Paths: stockPaths}
	for _, t := range ts {
		process := "microlb api-gateway"
		if t.name == base.name {
			process = "go-micro api"
		}
		out.CPU = append(out.CPU, t.cpu.use(t.name, process))
	}
	h.res.Stock = out
	return nil
}

// startStockNodes starts n stocknode processes serving service name with
// go-micro's server kind ("mucp" or "grpc"), registered in Consul, and waits
// until each listens. It returns their processes and addresses.
func (h *harness) startStockNodes(kind, name string, n int, registry string) ([]*proc.Proc, []string, error) {
	addrs, err := proc.FreeAddrs(n)
	if err != nil {
		return nil, nil, err
	}
	var ps []*proc.Proc
	for _, a := range addrs {
		p, err := h.g.Start(proc.Spec{Name: "stocknode-" + kind, Bin: h.bins[binStockNode], Env: []string{h.o.gomaxprocs()},
			Args: []string{"--server", kind, "--name", name, "--address", a, "--registry_address", registry}})
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		if err := h.waitReady(p, kind+" stock node on "+addrs[i], proc.DialCheck(addrs[i])); err != nil {
			return nil, nil, err
		}
	}
	return ps, addrs, nil
}

// postHelloURL POSTs rpcBody to url and decodes a 2xx answer.
func postHelloURL(c *http.Client, url string) (hello, error) {
	var r hello
	resp, err := c.Post(url, "application/json", bytes.NewReader([]byte(rpcBody)))
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("POST %s: %s: %.200s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("POST %s: %w: %.200s", url, err, b)
	}
	if r.Message != "Hello bench" || r.NodeID == "" {
		return r, fmt.Errorf("POST %s: not a greeter's answer: %.200s", url, b)
	}
	return r, nil
}

// waitHello waits until url has answered Greeter.Hello from want distinct
// nodes, while p runs.
func (h *harness) waitHello(p *proc.Proc, name, url string, want int) error {
	c := &http.Client{Timeout: 2 * time.Second}
	nodes := map[string]bool{}
	return h.waitReady(p, fmt.Sprintf("%s answering Greeter.Hello from %d nodes", name, want), func() error {
		for range 4 * want {
			r, err := postHelloURL(c, url)
			if err != nil {
				return err
			}
			nodes[r.NodeID] = true
		}
		if len(nodes) < want {
			return fmt.Errorf("answers from %d of %d nodes so far", len(nodes), want)
		}
		return nil
	})
}

// cpuMeter adds up one process's CPU time and the requests it served over
// the measured runs of one target. A nil *cpuMeter measures nothing.
type cpuMeter struct {
	pid      int
	cpu      time.Duration
	requests int64
	err      error
}

// start reads the process's CPU time and returns the function that ends
// the run: it adds the CPU used since and the run's requests.
func (m *cpuMeter) start() func(requests int64) {
	if m == nil {
		return func(int64) {}
	}
	t0, err0 := procCPU(m.pid)
	return func(requests int64) {
		t1, err1 := procCPU(m.pid)
		if err := errors.Join(err0, err1); err != nil {
			m.err = err
			return
		}
		m.cpu += t1 - t0
		m.requests += requests
	}
}

// use is the meter's result for the report.
func (m *cpuMeter) use(target, process string) report.CPUUse {
	u := report.CPUUse{Target: target, Process: process, CPU: m.cpu, Requests: m.requests}
	switch {
	case m.err != nil:
		u.Note = oneLine(m.err.Error())
	case m.requests > 0:
		u.PerRequest = m.cpu / time.Duration(m.requests)
	}
	return u
}

// procCPU returns the user + system CPU time of process pid (all its
// threads) from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// clockTick is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// parseStatCPU reads utime + stime from the text of /proc/<pid>/stat. The
// command name, in parentheses, may hold spaces, so fields are counted
// after its closing parenthesis: state is the first, utime the 12th and
// stime the 13th.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat %.60q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat %.60q: %d fields after the name", stat, len(f))
	}
	var d time.Duration
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		d += time.Duration(n) * clockTick
	}
	return d, nil
}
