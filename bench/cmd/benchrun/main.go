// Command benchrun is microlb's benchmark harness: it builds what it needs,
// starts Consul, the backends, the producers, the peers (nginx, HAProxy,
// Caddy), go-micro's api and microlb's gateway on loopback, drives load with
// wrk, and writes bench/results/latest.{md,json}. scripts/bench.sh
// installs the tools and runs it; `make bench` and `make bench-smoke` call
// that script.
//
// Stages: 1 selector micro-benchmarks, 2 HTTP proxy route, 3 HTTP → RPC
// route, 4 failover under load, 5 registry propagation, 6 HTTP → RPC to
// stock go-micro services (mucp and gRPC), 7 no port exhaustion with
// net.ipv4.tcp_tw_reuse=0 (skipped unless that can be set). A stage whose inputs
// do not exist yet (the gateway or producer do not build) is reported as
// skipped; a stage whose inputs exist but that produces no numbers is
// failed, and makes benchrun exit 1.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
)

func main() {
	o := parseFlags(os.Args[1:])
	os.Exit(run(o))
}

// run executes the stages and returns the process exit code.
func run(o options) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	if err := os.MkdirAll(o.work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		return 2
	}
	g := proc.NewGroup(o.work, o.pgidFile)
	h := &harness{o: o, g: g, ctx: ctx}
	go func() {
		s := <-sig
		h.logf("received %v: stopping every process this run started", s)
		cancel()
		<-sig // a second signal: do not wait for graceful stops
		h.logf("second signal: killing")
		restorePending() // the timewait stage's sysctl
		g.KillAll()
		os.Exit(130)
	}()
	defer g.StopAll()

	res, err := h.all()
	g.StopAll()
	if ctx.Err() != nil {
		h.logf("interrupted; results not written; logs in %s", o.work)
		return 130
	}
	if err != nil {
		h.logf("error: %v (logs in %s)", err, o.work)
		return 1
	}
	if err := writeResults(o, res); err != nil {
		h.logf("writing results: %v", err)
		return 1
	}
	code := 0
	for _, st := range res.Stages {
		if st.Status == report.StatusFailed {
			code = 1
		}
	}
	h.summary(res)
	return code
}

// all builds, samples the idle machine and runs the selected stages.
func (h *harness) all() (*report.Results, error) {
	start := time.Now()
	res := &report.Results{Mode: h.o.mode(), Command: h.o.cmd, Date: start,
		Machine: machine(h.o.repo), Settings: h.o.settings()}
	h.res = res
	if err := h.buildAll(); err != nil {
		return nil, err
	}
	h.logf("sampling the machine's load for %v before starting", h.o.idle)
	res.Before = idleLoad(h.ctx, h.o.idle)
	h.logf("before the run: machine %.0f%% busy", res.Before.Busy*100)
	for _, st := range stages {
		if !h.o.wants(st.id) {
			continue
		}
		if err := h.ctx.Err(); err != nil {
			return nil, err
		}
		h.runStage(st)
	}
	h.logf("all stages done in %v", time.Since(start).Round(100*time.Millisecond))
	return res, nil
}
