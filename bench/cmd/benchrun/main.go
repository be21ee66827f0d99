// Command benchrun is microlb's benchmark harness: it builds what it needs,
// starts Consul, the backends, the producers, the peers (nginx, HAProxy,
// Caddy), go-micro's api and microlb's gateway on loopback, runs the stages
// (listed in stages; bench/README.md says what each measures) and writes
// bench/results/latest.{md,json}. A stage whose inputs do not build is
// skipped; one that produces no numbers fails, and makes benchrun exit 1.
// scripts/bench.sh installs the tools and runs it.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/microlb/microlb/bench/internal/gobench"
	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/sysload"
	"github.com/microlb/microlb/bench/internal/wrk"
	"github.com/microlb/microlb/internal/consultest"
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
	h.summary(res)
	if slices.ContainsFunc(res.Stages, func(st report.Stage) bool { return st.Status == report.StatusFailed }) {
		return 1
	}
	return 0
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
	var err error
	if h.script, err = wrk.PostScript(h.o.work, rpcBody); err != nil {
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

// harness is the state of one run.
type harness struct {
	o   options
	g   *proc.Group
	ctx context.Context
	res *report.Results

	bins    map[string]string // built binaries by name
	missing map[string]string // why a binary is unavailable, by name
	script  string            // wrk's Lua script that POSTs rpcBody
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
	var sk errSkip
	switch {
	case err == nil:
	case errors.As(err, &sk):
		st.Status, st.Reason = report.StatusSkipped, sk.reason
	default:
		st.Status, st.Reason = report.StatusFailed, report.OneLine(err.Error())
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

// every calls f now and then every period until the returned stop is
// called; stop returns once a call in progress has ended.
func every(period time.Duration, f func()) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			f()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-exited }
}

// idleLoad measures the machine for d before anything starts.
func idleLoad(ctx context.Context, d time.Duration) sysload.Load {
	m := sysload.Start(func() map[int]bool { return nil })
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return m.Stop()
}

// machine describes this machine and checkout.
func machine(repo string) report.Machine {
	m := report.Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), CPU: "unknown CPU"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(string(b), "MemTotal:"), "%f", &kb)
		m.MemGiB = kb / (1 << 20)
	}
	m.Commit = gitCommit(repo)
	return m
}

// gitCommit returns the short HEAD commit, marked when the tree is dirty.
func gitCommit(repo string) string {
	out, err := runOut(repo, "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(out)
	if st, err := runOut(repo, "git", "status", "--porcelain"); err == nil && strings.TrimSpace(st) != "" {
		c += " with uncommitted changes"
	}
	return c
}

// writeResults writes <base>.md and .json into the results directory.
func writeResults(o options, r *report.Results) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for ext, write := range map[string]func(io.Writer, *report.Results) error{".md": report.Markdown, ".json": report.JSON} {
		var b bytes.Buffer
		if err := write(&b, r); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, o.base()+ext), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// summary prints where the results went and the targets' verdicts.
func (h *harness) summary(r *report.Results) {
	h.stage.Store("done")
	for _, st := range r.Stages {
		line := fmt.Sprintf("stage %d %-11s %s", st.ID, st.Name, st.Status)
		if st.Reason != "" {
			line += ": " + st.Reason
		}
		h.logf("%s", line)
	}
	for _, g := range report.Goals(r) {
		if g.Known {
			h.logf("target %-26s %-45s %s: %s", g.What, g.Target, map[bool]string{true: "met", false: "MISSED"}[g.Met], g.Measured)
		}
	}
	h.logf("results: %s", filepath.Join(h.o.out, h.o.base()+".md"))
}

// runOut runs a short command in dir and returns its output.
func runOut(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

// selectorStage runs selector.BenchmarkSelect (every strategy and go-micro's
// default selector at 3, 100 and 1000 nodes, in one run) and keeps the raw
// output next to the results, for benchstat.
func (h *harness) selectorStage(st *report.Stage) error {
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkSelect$", "-benchmem",
		"-count", fmt.Sprint(h.o.benchCount), "-benchtime", h.o.benchTime, "github.com/microlb/microlb/selector"}
	h.logf("go %v", args)
	out, err := h.g.Run(h.ctx, proc.Spec{Name: "go-test-bench", Bin: "go", Args: args, Dir: h.o.repo})
	if err != nil {
		return err
	}
	runs, err := gobench.Parse(out)
	if err != nil {
		return err
	}
	rows := gobench.SelectRows(gobench.Summarise(runs))
	if len(rows) == 0 {
		return fmt.Errorf("no BenchmarkSelect results in the output of go test")
	}
	h.res.Selector = rows
	raw := filepath.Join(h.o.out, h.o.base()+"-selector.txt")
	if err := os.WriteFile(raw, []byte(out), 0o644); err != nil {
		return err
	}
	st.Notes = append(st.Notes, "raw `go test` output: `bench/results/"+filepath.Base(raw)+"` (benchstat reads it)")
	for _, line := range strings.Split(strings.TrimSpace(gobench.Text(rows)), "\n") {
		h.logf("%s", line)
	}
	return nil
}
