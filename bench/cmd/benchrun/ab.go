package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/microlb/microlb/bench/internal/pairs"
	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/sysload"
	"github.com/microlb/microlb/bench/internal/wrk"
	"github.com/microlb/microlb/bench/peers"
)

// Registry names of the stock go-micro services (bench/stocknode).
const (
	stockService = "stockgreeter" // mucp server
	grpcService  = "grpcgreeter"  // gRPC server plugin
)

// stockPaths are the spellings of Greeter.Hello on stockService that must
// both answer through the gateway, as they do through `micro api`.
var stockPaths = []string{helloPath(stockService), "/" + stockService + "/greeter/hello"}

// abTarget is one thing to load in an A/B comparison.
type abTarget struct {
	name string
	url  string    // empty when skipped
	skip string    // why it is skipped
	cpu  *cpuMeter // optional: the serving process's CPU over the measured runs
}

// proxyStage compares the HTTP reverse-proxy route: wrk against one backend
// directly (the ceiling), microlb's gateway, nginx, HAProxy and Caddy, each
// round robin over the same 3 backends, in A/B pairs with nginx.
func (h *harness) proxyStage(st *report.Stage) error {
	for _, name := range []string{"wrk", "nginx"} {
		if _, ok := h.bins[name]; !ok {
			return fmt.Errorf("%s, the load or the reference, is missing: %s", name, h.missing[name])
		}
	}
	backends, err := h.startBackends()
	if err != nil {
		return err
	}
	h.logf("backends on %v, registered as %s", backends, backendService)
	gw := abTarget{name: report.NameGateway}
	if err := h.gatewayTarget(&gw, "gateway-proxy.yaml.tmpl", "/", func(p *proc.Proc, url string) error {
		return h.waitReady(p, "gateway proxying to a backend", proxyReady(url))
	}); err != nil {
		return err
	}
	ts := []abTarget{{name: report.NameDirect, url: "http://" + backends[0] + "/"}, gw}
	for _, name := range []string{report.NameNginx, report.NameHAProxy, report.NameCaddy} {
		t := abTarget{name: name, skip: h.missing[name]}
		if _, ok := h.bins[name]; ok {
			if t.url, err = h.startPeer(name, backends); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		ts = append(ts, t)
	}
	for _, t := range ts {
		if t.url == "" {
			st.Notes = append(st.Notes, fmt.Sprintf("%s skipped: %s", t.name, t.skip))
		}
	}
	h.res.Proxy, err = h.abCompare(report.NameNginx, ts, "")
	return err
}

// rpcStage compares the HTTP → RPC route: microlb's gateway against go-micro
// v4's own api (rpc handler), both in front of the same 3 producers on the
// same Consul, in A/B pairs.
func (h *harness) rpcStage(st *report.Stage) error {
	if err := h.need(binProducer); err != nil {
		return err
	}
	if _, _, err := h.startProducers(3); err != nil {
		return err
	}
	h.logf("3 producers up")
	_, base, err := h.goMicroTarget(report.NameGoMicro, rpcPath)
	if err != nil {
		return err
	}
	gw := abTarget{name: report.NameGateway}
	if err := h.gatewayTarget(&gw, "gateway-rpc.yaml.tmpl", rpcPath, func(p *proc.Proc, url string) error {
		_, err := h.waitHello(p, gw.name, url, 3)
		return err
	}); err != nil {
		return err
	}
	if gw.url == "" {
		st.Notes = append(st.Notes, "microlb api-gateway skipped: "+gw.skip+"; go-micro api measured alone")
	}
	h.res.RPC, err = h.abCompare(base.name, []abTarget{gw, base}, h.script)
	return err
}

// stockStage compares HTTP → RPC to stock go-micro v4.11.0 services in
// alternated A/B pairs: go-micro's api → 3 stock mucp nodes (the base),
// microlb's gateway → the same nodes, and the gateway → 3 stock gRPC nodes.
// It also records each front door's CPU per request.
func (h *harness) stockStage(st *report.Stage) error {
	if err := h.need(binGateway); err != nil {
		return err
	}
	for _, svc := range []struct{ kind, name string }{{"mucp", stockService}, {"grpc", grpcService}} {
		if _, _, err := h.startStockNodes(svc.kind, svc.name, nil, nil, nil); err != nil {
			return err
		}
	}
	h.logf("3 stock mucp and 3 stock gRPC nodes up")
	gm, base, err := h.goMicroTarget(report.NameGoMicroStock, stockPaths[0])
	if err != nil {
		return err
	}
	base.cpu = &cpuMeter{pid: gm.Pid()}
	gw, gwURL, _, err := h.startGateway("gateway-rpc.yaml.tmpl", peers.Params{})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	mucp := abTarget{name: report.NameGatewayStock, url: gwURL + stockPaths[0], cpu: &cpuMeter{pid: gw.Pid()}}
	grpc := abTarget{name: report.NameGatewayGRPC, url: gwURL + helloPath(grpcService), cpu: &cpuMeter{pid: gw.Pid()}}
	for _, t := range []abTarget{mucp, grpc} {
		if _, err := h.waitHello(gw, t.name, t.url, 3); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	for _, p := range stockPaths {
		if _, err := postHello(gwURL + p); err != nil {
			return fmt.Errorf("gateway path spelling: %w", err)
		}
	}
	ts := []abTarget{mucp, grpc, base}
	res, err := h.abCompare(base.name, ts, h.script)
	if err != nil {
		return err
	}
	out := &report.Stock{Targets: res, Paths: stockPaths}
	for _, t := range ts {
		process := map[bool]string{true: "go-micro api", false: "microlb api-gateway"}[t.name == base.name]
		out.CPU = append(out.CPU, t.cpu.use(t.name, process))
	}
	h.res.Stock = out
	return nil
}

// goMicroTarget starts go-micro's api and waits until path answers through
// it from 3 nodes.
func (h *harness) goMicroTarget(name, path string) (*proc.Proc, abTarget, error) {
	gm, url, err := h.startGoMicroAPI()
	if err != nil {
		return nil, abTarget{}, err
	}
	t := abTarget{name: name, url: url + path}
	if _, err := h.waitHello(gm, name, t.url, 3); err != nil {
		return nil, t, fmt.Errorf("go-micro api: %w", err)
	}
	return gm, t, nil
}

// gatewayTarget starts the gateway with template tmpl and sets t's URL to
// path on it once ready(gateway, that URL) passes; when the gateway is not
// built, t is skipped instead.
func (h *harness) gatewayTarget(t *abTarget, tmpl, path string, ready func(*proc.Proc, string) error) error {
	p, url, _, err := h.startGateway(tmpl, peers.Params{})
	if errors.As(err, new(errSkip)) {
		t.skip = err.Error()
		return nil
	}
	if err == nil {
		err = ready(p, url+path)
	}
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	t.url = url + path
	return nil
}

// abCompare warms up every available target, then runs the A/B pair
// schedule against base and returns one report.Target per target, in
// order. script is an optional wrk Lua script (POST bodies).
func (h *harness) abCompare(base string, ts []abTarget, script string) ([]report.Target, error) {
	by := map[string]abTarget{}
	var others []string
	for _, t := range ts {
		if t.url != "" {
			by[t.name] = t
			if t.name != base {
				others = append(others, t.name)
			}
		}
	}
	if by[base].url == "" {
		return nil, fmt.Errorf("base target %s is not available", base)
	}
	h.logf("targets up; %d pair(s) of %v each", h.o.reps*len(others), h.o.duration)
	run := func(label string, t abTarget, d time.Duration) (wrk.Result, error) {
		r, err := wrk.Run(h.ctx, h.g, h.o.wrk, label, wrk.Load{URL: t.url, Threads: h.o.threads, Conns: h.o.conns, Duration: d, Script: script})
		if err != nil {
			err = fmt.Errorf("%s of %s: %w", label, t.name, err)
		}
		return r, err
	}
	for _, t := range ts {
		if t.url != "" && h.o.warmup > 0 {
			h.logf("warm-up %s (%v)", t.name, h.o.warmup)
			if _, err := run("warmup", t, h.o.warmup); err != nil {
				return nil, err
			}
		}
	}
	measure := func(name string) (pairs.Sample, error) {
		done := by[name].cpu.start()
		r, err := run("run", by[name], h.o.duration)
		done(r.Requests)
		return pairs.Sample{RPS: r.RPS, P50: r.P50, P99: r.P99, Errors: r.Errors()}, err
	}
	var ps []pairs.Pair
	var baseRuns []pairs.Sample
	for i := 0; len(others) == 0 && i < h.o.reps; i++ { // nothing to compare with: still measure the base
		s, err := measure(base)
		if err != nil {
			return nil, err
		}
		baseRuns = append(baseRuns, s)
		h.logf("%s: %.0f req/s, p99 %v, %d errors", base, s.RPS, s.P99, s.Errors)
	}
	slots := pairs.Schedule(base, others, h.o.reps)
	for i, slot := range slots {
		order := []string{base, slot.Other}
		if !slot.BaseFirst {
			order[0], order[1] = order[1], order[0]
		}
		got := map[string]pairs.Sample{}
		for _, name := range order {
			s, err := measure(name)
			if err != nil {
				return nil, err
			}
			got[name] = s
		}
		p := pairs.Pair{Rep: slot.Rep, Target: slot.Other, Base: got[base], Other: got[slot.Other]}
		ps, baseRuns = append(ps, p), append(baseRuns, p.Base)
		h.logf("pair %d/%d: %s %.0f req/s p99 %v | %s %.0f req/s p99 %v, %d errors → %.2f× %s",
			i+1, len(slots), base, p.Base.RPS, p.Base.P99, slot.Other, p.Other.RPS, p.Other.P99, p.Other.Errors,
			p.Other.RPS/p.Base.RPS, base)
	}
	ratios := map[string]pairs.Ratio{}
	for _, r := range pairs.Ratios(ps) {
		ratios[r.Target] = r
	}
	var out []report.Target
	for _, t := range ts {
		rt := report.Target{Name: t.name, Status: report.StatusOK, Base: t.name == base, Ratio: ratios[t.name]}
		switch {
		case t.url == "":
			rt.Status, rt.Reason = report.StatusSkipped, t.skip
		case rt.Base:
			rt.Ratio = baseSummary(baseRuns)
		}
		out = append(out, rt)
	}
	return out, nil
}

// baseSummary is the base's own medians over all its runs.
func baseSummary(runs []pairs.Sample) pairs.Ratio {
	var errs int64
	for _, s := range runs {
		errs += s.Errors
	}
	return pairs.Ratio{N: len(runs), RPS: 1, RPSMin: 1, RPSMax: 1, P50: 1, P99: 1, Errors: errs, Other: pairs.MedianSample(runs)}
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
	t0, err0 := sysload.ProcCPU(m.pid)
	return func(requests int64) {
		t1, err1 := sysload.ProcCPU(m.pid)
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
		u.Note = report.OneLine(m.err.Error())
	case m.requests > 0:
		u.PerRequest = m.cpu / time.Duration(m.requests)
	}
	return u
}
