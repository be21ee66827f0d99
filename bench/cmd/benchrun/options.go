package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/report"
)

// options are benchrun's flags.
type options struct {
	smoke    bool
	repo     string // repository root
	out      string // results directory
	work     string // scratch directory: binaries, configs, logs
	pgidFile string // where child process groups are recorded
	stages   []int

	consul, wrk, nginx, haproxy, caddy string // tool binaries

	idle             time.Duration // load sample before the run
	duration, warmup time.Duration // per wrk run
	reps             int           // A/B pair repetitions
	conns, threads   int           // wrk -c, -t
	workers          int           // every proxy's worker / GOMAXPROCS budget

	benchCount int
	benchTime  string

	failDur, killAt, window time.Duration
	failConns               int

	propReps           int
	propQuiet, propMax time.Duration

	cmd string // the command line that reproduces the run
}

// parseFlags reads args; --smoke changes the defaults of every flag not
// given explicitly.
func parseFlags(args []string) options {
	var o options
	fs := flag.NewFlagSet("benchrun", flag.ExitOnError)
	wd, _ := os.Getwd()
	fs.BoolVar(&o.smoke, "smoke", false, "tiny durations, one repetition; writes smoke.* instead of latest.*")
	fs.StringVar(&o.repo, "repo", wd, "repository root")
	fs.StringVar(&o.out, "out", "", "results directory (default <repo>/bench/results)")
	fs.StringVar(&o.work, "work", "", "scratch directory (default: a new temporary directory)")
	fs.StringVar(&o.pgidFile, "pgid-file", "", "append each child's process group id here (for the shell's trap)")
	stagesFlag := fs.String("stages", "1,2,3,4,5,6,7,8", "comma-separated stages to run")
	fs.StringVar(&o.consul, "consul", "", "consul binary (default <repo>/bin/consul, then PATH)")
	fs.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	fs.StringVar(&o.nginx, "nginx", "nginx", "nginx binary")
	fs.StringVar(&o.haproxy, "haproxy", "haproxy", "haproxy binary")
	fs.StringVar(&o.caddy, "caddy", "caddy", "caddy binary")
	// Knobs with a --smoke default: flag name, full default, smoke default.
	smoke := map[string]string{}
	knob := func(name, full, small, usage string, p any) {
		switch p := p.(type) {
		case *time.Duration:
			d, _ := time.ParseDuration(full)
			fs.DurationVar(p, name, d, usage)
		case *int:
			n, _ := strconv.Atoi(full)
			fs.IntVar(p, name, n, usage)
		case *string:
			fs.StringVar(p, name, full, usage)
		}
		if small != "" {
			smoke[name] = small
		}
	}
	knob("idle", "3s", "1s", "how long to sample the machine's load before starting", &o.idle)
	knob("duration", "10s", "1s", "length of one wrk run", &o.duration)
	knob("warmup", "2s", "0s", "wrk warm-up per target before measuring (0: none)", &o.warmup)
	knob("reps", "3", "1", "repetitions of each A/B pair", &o.reps)
	knob("conns", "64", "", "wrk connections", &o.conns)
	knob("threads", "1", "", "wrk threads", &o.threads)
	knob("workers", "1", "", "worker processes / threads / GOMAXPROCS of every proxy, backend and producer", &o.workers)
	knob("bench-count", "5", "1", "go test -count for the selector benchmarks", &o.benchCount)
	knob("bench-time", "1s", "200x", "go test -benchtime for the selector benchmarks", &o.benchTime)
	knob("failover-duration", "20s", "3s", "failover run length", &o.failDur)
	knob("failover-kill-at", "5s", "1s", "when the failover run kill -9s a producer", &o.killAt)
	knob("failover-window", "2s", "1s", "the event window after the kill for p99", &o.window)
	knob("failover-conns", "32", "8", "concurrent clients during failover", &o.failConns)
	knob("propagation-reps", "20", "1", "registry propagation repetitions per selector", &o.propReps)
	knob("propagation-quiet", "1s", "500ms", "a node unpicked this long counts as gone", &o.propQuiet)
	knob("propagation-max", "5s", "3s", "give up watching a deregistered node after this", &o.propMax)
	fs.StringVar(&o.cmd, "command", "", "the command reproducing this run, for the results file (default: benchrun and its flags)")
	fs.Parse(args)
	if o.cmd == "" {
		o.cmd = strings.Join(append([]string{"benchrun"}, args...), " ")
	}
	if o.smoke {
		fs.Visit(func(f *flag.Flag) { delete(smoke, f.Name) })
		for name, v := range smoke {
			fs.Set(name, v)
		}
	}
	if o.out == "" {
		o.out = filepath.Join(o.repo, "bench", "results")
	}
	if o.work == "" {
		d, err := os.MkdirTemp("", "microlb-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchrun:", err)
			os.Exit(2)
		}
		o.work = d
	}
	if o.consul == "" {
		o.consul = filepath.Join(o.repo, "bin", "consul")
		if _, err := os.Stat(o.consul); err != nil {
			o.consul = "consul"
		}
	}
	for _, s := range strings.Split(*stagesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > len(stages) {
			fmt.Fprintf(os.Stderr, "benchrun: bad stage %q (want 1..%d)\n", s, len(stages))
			os.Exit(2)
		}
		o.stages = append(o.stages, n)
	}
	return o
}

func (o options) wants(stage int) bool { return slices.Contains(o.stages, stage) }

// mode is the run's mode for the results; base the results files' name
// without extension.
func (o options) mode() string { return map[bool]string{true: "smoke", false: "full"}[o.smoke] }
func (o options) base() string { return map[bool]string{true: "smoke", false: "latest"}[o.smoke] }

func (o options) settings() report.Settings {
	return report.Settings{Duration: o.duration, Warmup: o.warmup, Reps: o.reps, Conns: o.conns,
		Threads: o.threads, Workers: o.workers, BenchCount: o.benchCount, BenchTime: o.benchTime}
}

// gomaxprocs is the environment entry of the worker budget.
func (o options) gomaxprocs() string { return "GOMAXPROCS=" + strconv.Itoa(o.workers) }
