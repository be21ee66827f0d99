package main

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"time"

	"github.com/microlb/microlb/bench/internal/load"
	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/peers"
)

// Registry names of the tail stage's stock nodes.
const (
	tailService     = "tailgreeter" // scenario (a): 10 equal nodes
	tailSlowService = "tailspeeds"  // scenario (b): 1×, 2×, 4× nodes
)

// Tail stage settings. The rate is what the 2-core machine serves through
// either front door with room to spare (the stock stage measures well over
// 1,000 req/s to 3 nodes), so queueing comes from the fault, not from the
// load generator or the front door.
const (
	tailRate        = 300.0
	tailGatewayTO   = time.Second     // the gateway's timeout
	tailClientTO    = 2 * time.Second // the load's, from a request's scheduled start
	tailStall       = 2 * time.Second // one SIGSTOP
	tailResume      = time.Second     // running between two stalls
	tailNodeWorkers = 1               // --workers of scenario (b)'s nodes
)

// tailTiming is one mode's lengths: the faulted run is lead + window +
// after, the stalls fill window.
type tailTiming struct {
	warmup, lead, window, after, base, unequal time.Duration
}

var (
	tailFull  = tailTiming{warmup: 2 * time.Second, lead: 5 * time.Second, window: 30 * time.Second, after: 10 * time.Second, base: 20 * time.Second, unequal: 20 * time.Second}
	tailSmoke = tailTiming{lead: time.Second, window: 2 * time.Second, after: time.Second, base: 2 * time.Second, unequal: 2 * time.Second}
)

// tailDelays are scenario (b)'s service times, 1×, 2× and 4×; each node
// serves tailNodeWorkers request at a time.
var tailDelays = []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond}

// tailConfig is one front door's configuration in the tail stage.
type tailConfig struct {
	strategy string // gateway strategy; "" for go-micro's api
	extra    string // YAML lines added under defaults
	label    string // the settings column
	dflt     bool   // only strategy and timeout set
}

// tailConfigs are the rows: each strategy with the gateway's defaults,
// the best-placed one with a per-try timeout and retries, and go-micro's
// api. --smoke keeps one strategy.
func (h *harness) tailConfigs() []tailConfig {
	def := func(s string) tailConfig {
		return tailConfig{strategy: s, label: "timeout: 1s, defaults otherwise", dflt: true}
	}
	if h.o.smoke {
		return []tailConfig{def("leastloaded")}
	}
	return []tailConfig{
		def("random"), def("roundrobin"), def("weighted"), def("leastloaded"),
		{strategy: "leastloaded", extra: "  per_try_timeout: 200ms\n  retries: 2\n  retry_non_idempotent: true\n",
			label: "timeout: 1s, per_try_timeout: 200ms, retries: 2, retry_non_idempotent: true"},
		{label: "go-micro client defaults (5 s request timeout, 1 retry)"},
	}
}

// tailStage measures tail latency with open-loop load: (a) 10 stock mucp
// nodes, one of which is SIGSTOPped for tailStall then resumed for
// tailResume, again and again over a window mid-run, and (b) 3 nodes whose
// service times are 1×, 2× and 4×. Each gateway strategy and go-micro's
// api is a row.
func (h *harness) tailStage(st *report.Stage) error {
	if err := h.need(binGateway); err != nil {
		return err
	}
	tm := map[bool]tailTiming{false: tailFull, true: tailSmoke}[h.o.smoke]
	nodes, _, err := h.startStockNodes("mucp", tailService, make([][]string, 10)...)
	if err != nil {
		return err
	}
	var slow [][]string
	for _, d := range tailDelays {
		slow = append(slow, []string{"--delay", d.String(), "--workers", fmt.Sprint(tailNodeWorkers)})
	}
	if _, _, err := h.startStockNodes("mucp", tailSlowService, slow...); err != nil {
		return err
	}
	stalled := nodes[0]
	out := &report.Tail{Rate: tailRate, ClientTimeout: tailClientTO, Duration: tm.lead + tm.window + tm.after, BaseDuration: tm.base,
		UnequalDuration: tm.unequal,
		Fault: fmt.Sprintf("From %v into the run, one node (pid %d) is SIGSTOPped for %v and then SIGCONTed for %v, repeatedly for %v; %v of load follow.",
			tm.lead, stalled.Pid(), tailStall, tailResume, tm.window, tm.after),
		Unequal: fmt.Sprintf("3 stock mucp nodes with --delay %v, %v and %v, each serving %d request at a time (the rest queue in the node).",
			tailDelays[0], tailDelays[1], tailDelays[2], tailNodeWorkers)}
	h.res.Tail = out
	h.logf("%.0f req/s open loop; 10 nodes for (a), 3 of unequal speed for (b)", tailRate)

	for _, c := range h.tailConfigs() {
		name, stop, base, err := h.startTailFrontDoor(c)
		a := report.TailRow{Name: name, Strategy: c.strategy, Config: c.label, Default: c.dflt}
		b := a
		if err == nil {
			err = h.tailRuns(base, tm, stalled, &a, &b)
		}
		stop()
		if err != nil {
			if h.ctx.Err() != nil {
				return err
			}
			a.Err, b.Err = report.OneLine(err.Error()), report.OneLine(err.Error())
			h.logf("%s: %v", name, err)
		}
		out.Stalled = append(out.Stalled, a)
		if c.extra == "" { // scenario (b) compares strategies at their defaults
			out.Speeds = append(out.Speeds, b)
		}
	}
	return nil
}

// tailRuns runs one front door's measurements at base (its URL prefix):
// scenario (a) without and with the stall into a, scenario (b) into b.
func (h *harness) tailRuns(base string, tm tailTiming, stalled *proc.Proc, a, b *report.TailRow) error {
	urlA, urlB := base+helloPath(tailService), base+helloPath(tailSlowService)
	if tm.warmup > 0 {
		h.openLoop(urlA, tm.warmup)
		h.openLoop(urlB, tm.warmup)
	}
	nf := h.openLoop(urlA, tm.base)
	a.Base = &nf
	stopStalls := h.stallLoop(stalled, tm.lead, tm.window)
	a.Run = h.openLoop(urlA, tm.lead+tm.window+tm.after)
	stopStalls()
	if err := h.ctx.Err(); err != nil {
		return err
	}
	b.Run = h.openLoop(urlB, tm.unequal)
	h.logf("%s: (a) success %.2f%%, p99 %v (no fault %v), p99.9 %v; (b) p99 %v; sent ≥ 10 ms late: %d, %d, %d",
		a.Name, a.Run.Success*100, a.Run.P99.Round(time.Millisecond), nf.P99.Round(time.Millisecond),
		a.Run.P999.Round(time.Millisecond), b.Run.P99.Round(time.Millisecond), a.Run.Late, nf.Late, b.Run.Late)
	return h.ctx.Err()
}

// openLoop sends tailRate req/s of Greeter.Hello to url for d.
func (h *harness) openLoop(url string, d time.Duration) report.TailFigures {
	_, recs := load.RunOpen(h.ctx, load.Config{Method: "POST", URL: url, Body: rpcBody, ContentType: "application/json",
		Rate: tailRate, Duration: d, Timeout: tailClientTO})
	t := load.Summarise(recs, 0, math.MaxInt64)
	return report.TailFigures{Requests: t.Requests, Failed: t.Failed, Success: t.Success, P50: t.P50, P99: t.P99, P999: t.P999,
		Max: t.Max, Late: t.Late, MaxLag: t.MaxLag, Errors: t.ErrorKinds}
}

// stallLoop starts stalling p: after lead, SIGSTOP for tailStall, SIGCONT
// for tailResume, until window has passed. The returned function ends the
// loop and leaves p running.
func (h *harness) stallLoop(p *proc.Proc, lead, window time.Duration) func() {
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	go func() {
		defer close(done)
		defer syscall.Kill(p.Pid(), syscall.SIGCONT)
		if !sleep(lead) {
			return
		}
		end := time.Now().Add(window)
		for time.Now().Before(end) {
			if err := syscall.Kill(p.Pid(), syscall.SIGSTOP); err != nil {
				h.logf("SIGSTOP %d: %v", p.Pid(), err)
				return
			}
			ok := sleep(min(tailStall, time.Until(end)))
			syscall.Kill(p.Pid(), syscall.SIGCONT)
			if !ok || !sleep(min(tailResume, time.Until(end))) {
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// startTailFrontDoor starts the front door of c and returns its row name,
// a function that stops it, and its base URL, once it answers from every
// node of both services.
func (h *harness) startTailFrontDoor(c tailConfig) (string, func(), string, error) {
	name := report.TailGoMicro
	var p *proc.Proc
	var base string
	var err error
	if c.strategy == "" {
		p, base, err = h.startGoMicroAPI()
	} else {
		name = "microlb api-gateway, " + c.strategy
		p, base, _, err = h.startGateway("gateway-rpc.yaml.tmpl", peers.Params{Strategy: c.strategy, Timeout: tailGatewayTO.String(), Extra: c.extra})
	}
	if err != nil {
		return name, func() {}, "", err
	}
	for svc, n := range map[string]int{tailService: 10, tailSlowService: len(tailDelays)} {
		if _, err := h.waitHello(p, name, base+helloPath(svc), n); err != nil {
			return name, p.Stop, "", err
		}
	}
	return name, p.Stop, base, nil
}
