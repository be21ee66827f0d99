package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/sysload"
	"github.com/microlb/microlb/internal/consultest"
)

// harness is the state of one run.
type harness struct {
	o   options
	g   *proc.Group
	ctx context.Context
	res *report.Results

	bins    map[string]string // built binaries by name
	missing map[string]string // why a binary is unavailable, by name
	agent   *consulAgent
	stage   atomic.Value // current stage's label (a string), for progress lines
}

// stageDef is one stage: its number, short name and body. The body fills
// the harness's results and returns the stage's outcome.
type stageDef struct {
	id   int
	name string
	run  func(h *harness, st *report.Stage) error
}

var stages = []stageDef{
	{1, "selector", (*harness).selectorStage},
	{2, "proxy", (*harness).proxyStage},
	{3, "rpc", (*harness).rpcStage},
	{4, "failover", (*harness).failoverStage},
	{5, "propagation", (*harness).propagationStage},
	{6, "stock", (*harness).stockStage},
	{7, "timewait", (*harness).timeWaitStage},
	{8, "tail", (*harness).tailStage},
}

// errSkip marks a stage whose inputs do not exist.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// skip returns an error that makes the stage "skipped: reason".
func skip(format string, a ...any) error { return errSkip{fmt.Sprintf(format, a...)} }

// runStage runs one stage with the load meter around it and records its
// outcome. The processes a stage starts are stopped when it ends, except
// Consul, which lives for the whole run.
func (h *harness) runStage(sd stageDef) {
	st := report.Stage{ID: sd.id, Name: sd.name, Status: report.StatusOK}
	h.stage.Store(fmt.Sprintf("%d/%d %s", sd.id, len(stages), sd.name))
	h.logf("start")
	before := h.g.Pgids()
	m := sysload.Start(h.g.Pgids)
	err := sd.run(h, &st)
	st.Load = m.Stop()
	h.stopSince(before)
	if err != nil && h.ctx.Err() != nil {
		err = fmt.Errorf("interrupted")
	}
	switch e := err.(type) {
	case nil:
	case errSkip:
		st.Status, st.Reason = report.StatusSkipped, e.reason
	default:
		st.Status, st.Reason = report.StatusFailed, oneLine(err.Error())
		h.logf("FAILED: %v", err)
	}
	h.res.Stages = append(h.res.Stages, st)
	h.logf("%s in %s", strings.ToUpper(st.Status), report.LoadNote(st.Load))
	if st.Reason != "" && st.Status == report.StatusSkipped {
		h.logf("skipped: %s", st.Reason)
	}
}

// stopSince stops every process started after the snapshot before.
func (h *harness) stopSince(before map[int]bool) {
	stop := map[int]bool{}
	for pgid := range h.g.Pgids() {
		if !before[pgid] && (h.agent == nil || pgid != h.agent.Proc.Pid()) {
			stop[pgid] = true
		}
	}
	h.g.StopOnly(stop)
}

// consulAgent is the run's Consul dev agent.
type consulAgent struct {
	Addr string     // host:port of the HTTP API
	Proc *proc.Proc // the agent's process
}

// Deregister removes the service instance id from the agent.
func (a *consulAgent) Deregister(ctx context.Context, id string) error {
	return consultest.Deregister(ctx, a.Addr, id)
}

// consul returns the run's Consul agent, starting it on first use: the
// command line of internal/consultest, run in the harness's process group so
// that the load meter counts it. It retries on fresh ports when a port was
// taken in between.
func (h *harness) consul() (*consulAgent, error) {
	if h.agent != nil {
		return h.agent, nil
	}
	h.logf("starting consul (%s)", h.o.consul)
	var err error
	for try := range 3 {
		args, addr, aerr := consultest.DevArgs(h.o.consul, fmt.Sprintf("%s/consul-%d", h.o.work, try), "-log-level=warn")
		if aerr != nil {
			return nil, fmt.Errorf("consul: %w", aerr)
		}
		var p *proc.Proc
		if p, err = h.g.Start(proc.Spec{Name: "consul", Bin: h.o.consul, Args: args}); err != nil {
			break
		}
		err = proc.WaitReady(h.ctx, p, 30*time.Second, "consul leader", func() error {
			if consultest.HasLeader(addr) {
				return nil
			}
			return errors.New("no leader yet")
		})
		if err == nil {
			h.agent = &consulAgent{Addr: addr, Proc: p}
			h.logf("consul ready at %s", addr)
			return h.agent, nil
		}
		p.Stop()
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("consul: %w", err)
}

// logf prints one progress line, prefixed with the time and stage.
func (h *harness) logf(format string, a ...any) {
	label, _ := h.stage.Load().(string)
	if label == "" {
		label = "setup"
	}
	fmt.Fprintf(os.Stderr, "%s [%s] %s\n", time.Now().Format("15:04:05.0"), label, fmt.Sprintf(format, a...))
}

// oneLine keeps the first line of s, shortened, for tables.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}
