// Package report holds the results of one benchmark run and writes them as
// a markdown table and a JSON file.
package report

import (
	"time"

	"github.com/microlb/microlb/bench/internal/gobench"
	"github.com/microlb/microlb/bench/internal/pairs"
	"github.com/microlb/microlb/bench/internal/sysload"
)

// Stage statuses.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Results is everything one run measured.
type Results struct {
	// Mode is "full" or "smoke".
	Mode string
	// Command reproduces the run.
	Command  string
	Date     time.Time
	Machine  Machine
	Settings Settings
	// Before is the machine's load in the seconds before the run started.
	Before sysload.Load
	Stages []Stage

	Selector    []gobench.SelectRow `json:",omitempty"`
	Proxy       []Target            `json:",omitempty"`
	RPC         []Target            `json:",omitempty"`
	Failover    *Failover           `json:",omitempty"`
	Propagation []Propagation       `json:",omitempty"`
	Stock       *Stock              `json:",omitempty"`
	TimeWait    *TimeWait           `json:",omitempty"`
	Tail        *Tail               `json:",omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU, Kernel, GoVersion, Commit string
	Cores                          int
	MemGiB                         float64
}

// Settings are the run's knobs.
type Settings struct {
	Duration, Warmup time.Duration
	Reps             int
	Conns, Threads   int
	// Workers is every proxy's worker/thread/GOMAXPROCS budget.
	Workers int
	// BenchCount and BenchTime are `go test -count` and `-benchtime`.
	BenchCount int
	BenchTime  string
}

// Stage is one stage's outcome.
type Stage struct {
	// ID is 1..7; Name is short ("selector", "proxy", ...).
	ID   int
	Name string
	// Status is StatusOK, StatusSkipped or StatusFailed; Reason explains
	// the latter two, and Notes anything partial (a skipped target).
	Status, Reason string
	Notes          []string `json:",omitempty"`
	Load           sysload.Load
}

// Target is one target of stage 2 or 3, against the stage's base.
type Target struct {
	Name string
	// Base is true for the stage's reference (nginx; go-micro's api).
	Base bool
	// Status is StatusOK or StatusSkipped (with Reason).
	Status, Reason string
	// Ratio holds the within-pair ratios to the base and the medians of
	// the absolute values. For the base itself only Ratio.Other is set.
	Ratio pairs.Ratio
}

// Failover is stage 4's outcome.
type Failover struct {
	// Duration is the run's length and KillAt when a producer got kill -9.
	Duration, KillAt time.Duration
	// Killed is the killed producer's address.
	Killed string
	// Requests and Errors are what the client saw over the whole run.
	Requests, Errors int64
	// ErrorsAfterKill are the client's errors from KillAt on.
	ErrorsAfterKill int64
	// ErrorKinds counts the client's errors by kind ("HTTP 502", ...).
	ErrorKinds map[string]int64
	// Unpicked is the time from the kill to the killed node's last pick,
	// from the gateway's admin counters; PicksAfterKill counts those
	// picks. UnpickedKnown is false when the counters were unavailable
	// (UnpickedNote says why).
	Unpicked       time.Duration
	PicksAfterKill int64
	UnpickedKnown  bool
	UnpickedNote   string
	// P99Before is over [0, KillAt), P99Event over [KillAt, KillAt+Window),
	// P99All over the run; MaxEvent is the worst latency in the window.
	Window                      time.Duration
	P99Before, P99Event, P99All time.Duration
	MaxEvent                    time.Duration
	NodesBefore, NodesAfter     map[string]int64
}

// Propagation is stage 5's outcome for one selector.
type Propagation struct {
	Selector string
	// Samples are the per-repetition times from the deregistration to the
	// last pick of the node; Censored counts repetitions that hit the
	// observation limit, Limit, with the node still being picked.
	Samples  []time.Duration
	Censored int
	Limit    time.Duration
	P50, P99 time.Duration
}
