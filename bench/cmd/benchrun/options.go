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
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "how long to sample the machine's load before starting")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of one wrk run")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "wrk warm-up per target before measuring (0: none)")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of each A/B pair")
	fs.IntVar(&o.conns, "conns", 64, "wrk connections")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads")
	fs.IntVar(&o.workers, "workers", 1, "worker processes / threads / GOMAXPROCS of every proxy, backend and producer")
	fs.IntVar(&o.benchCount, "bench-count", 5, "go test -count for the selector benchmarks")
	fs.StringVar(&o.benchTime, "bench-time", "1s", "go test -benchtime for the selector benchmarks")
	fs.DurationVar(&o.failDur, "failover-duration", 20*time.Second, "failover run length")
	fs.DurationVar(&o.killAt, "failover-kill-at", 5*time.Second, "when the failover run kill -9s a producer")
	fs.DurationVar(&o.window, "failover-window", 2*time.Second, "the event window after the kill for p99")
	fs.IntVar(&o.failConns, "failover-conns", 32, "concurrent clients during failover")
	fs.IntVar(&o.propReps, "propagation-reps", 20, "registry propagation repetitions per selector")
	fs.DurationVar(&o.propQuiet, "propagation-quiet", time.Second, "a node unpicked this long counts as gone")
	fs.DurationVar(&o.propMax, "propagation-max", 5*time.Second, "give up watching a deregistered node after this")
	fs.StringVar(&o.cmd, "command", "", "the command reproducing this run, for the results file (default: benchrun and its flags)")
	fs.Parse(args)
	if o.cmd == "" {
		o.cmd = strings.Join(append([]string{"benchrun"}, args...), " ")
	}

	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("idle", func() { o.idle = time.Second })
		def("duration", func() { o.duration = time.Second })
		def("warmup", func() { o.warmup = 0 })
		def("reps", func() { o.reps = 1 })
		def("bench-count", func() { o.benchCount = 1 })
		def("bench-time", func() { o.benchTime = "200x" })
		def("failover-duration", func() { o.failDur = 3 * time.Second })
		def("failover-kill-at", func() { o.killAt = time.Second })
		def("failover-window", func() { o.window = time.Second })
		def("failover-conns", func() { o.failConns = 8 })
		def("propagation-reps", func() { o.propReps = 1 })
		def("propagation-quiet", func() { o.propQuiet = 500 * time.Millisecond })
		def("propagation-max", func() { o.propMax = 3 * time.Second })
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

func (o options) mode() string {
	if o.smoke {
		return "smoke"
	}
	return "full"
}

// base is the results files' name without extension.
func (o options) base() string {
	if o.smoke {
		return "smoke"
	}
	return "latest"
}

func (o options) settings() report.Settings {
	return report.Settings{Duration: o.duration, Warmup: o.warmup, Reps: o.reps, Conns: o.conns,
		Threads: o.threads, Workers: o.workers, BenchCount: o.benchCount, BenchTime: o.benchTime}
}

// gomaxprocs is the environment entry of the worker budget.
func (o options) gomaxprocs() string { return "GOMAXPROCS=" + strconv.Itoa(o.workers) }
