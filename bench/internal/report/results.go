// Package report holds the results of one benchmark run and writes them as
// a markdown table and a JSON file.
package report

import (
	"encoding/json"
	"io"
	"math"
	"reflect"
	"time"

	"github.com/microlb/microlb/bench/internal/gobench"
	"github.com/microlb/microlb/bench/internal/pairs"
	"github.com/microlb/microlb/bench/internal/sysload"
)

// Target and selector names shared by the stages and the report.
const (
	NameDirect     = "direct"
	NameGateway    = "microlb api-gateway"
	NameNginx      = "nginx"
	NameHAProxy    = "haproxy"
	NameCaddy      = "caddy"
	NameGoMicro    = "go-micro api"
	NameMicrolb    = "microlb"
	NameGoMicroSel = "go-micro default"
	// Stage 6's targets: go-micro's api and microlb's gateway in front
	// of stock go-micro v4.11.0 servers.
	NameGoMicroStock = "go-micro api → stock mucp"
	NameGatewayStock = "microlb api-gateway → stock mucp"
	NameGatewayGRPC  = "microlb api-gateway → stock gRPC"
	// TailGoMicro is stage 8's row of go-micro's api with its default
	// selector.
	TailGoMicro = "go-micro api (default selector)"
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

// Stock is the "stock" stage's outcome: HTTP → RPC through go-micro's api
// and microlb's gateway to stock go-micro v4.11.0 services (3 mucp nodes, 3
// gRPC-server-plugin nodes), in alternated A/B pairs against the api.
type Stock struct {
	// Targets are the A/B results; the api → stock mucp is the base.
	Targets []Target
	// CPU is the serving process's CPU over each target's measured runs.
	CPU []CPUUse
	// Paths are the request paths checked to answer 200 through the
	// gateway before measuring.
	Paths []string
}

// CPUUse is the CPU time one process spent over the measured runs of one
// target, from /proc/<pid>/stat (utime + stime), and the requests it served
// in them.
type CPUUse struct {
	Target, Process string
	CPU             time.Duration
	Requests        int64
	// PerRequest is CPU / Requests (0 when nothing was served).
	PerRequest time.Duration
	// Note says why CPU is unknown, when it is.
	Note string `json:",omitempty"`
}

// TimeWait is the "timewait" stage's outcome: maximum load through the
// gateway to one stock mucp node with net.ipv4.tcp_tw_reuse=0.
type TimeWait struct {
	// Duration is the load's length; Conns and Threads are wrk's.
	Duration       time.Duration
	Conns, Threads int
	// Node is the stock node's address.
	Node string
	// TwReuse is the setting found before the stage, restored after it.
	TwReuse string
	// Requests is what wrk completed; Non2xx and SocketErrors its failures.
	Requests, Non2xx, SocketErrors int64
	RPS                            float64
	P99                            time.Duration
	// MaxTimeWait is the largest number of TIME_WAIT sockets with the
	// node's port at either end, sampled every second (Samples times).
	MaxTimeWait, Samples int
	// NodeRSSBefore and NodeRSSAfter are the node's resident memory in
	// bytes just before and after the load: go-micro v4.11.0's server
	// keeps per-request state for as long as a connection stays open
	// when the request carries a Timeout header (a defer inside
	// ServeConn's loop), which connection reuse makes visible.
	NodeRSSBefore, NodeRSSAfter int64
}

// Errors is every failed request.
func (t *TimeWait) Errors() int64 { return t.Non2xx + t.SocketErrors }

// Tail is the "tail" stage's outcome: open-loop load at a fixed rate
// through each front door, (a) to 10 stock mucp nodes one of which is
// stalled (SIGSTOP) again and again, and (b) to 3 nodes of unequal speed.
type Tail struct {
	// Rate is the offered load in requests/s; ClientTimeout bounds each
	// request from its scheduled start.
	Rate          float64
	ClientTimeout time.Duration
	// Fault says what the stall was; Duration and BaseDuration are the
	// lengths of a faulted run and of its baseline without the fault.
	Fault                  string
	Duration, BaseDuration time.Duration
	// Stalled are scenario (a)'s rows.
	Stalled []TailRow
	// Unequal describes scenario (b)'s nodes; UnequalDuration is a run's
	// length; Speeds are its rows.
	Unequal         string
	UnequalDuration time.Duration
	Speeds          []TailRow
}

// TailRow is one front door and configuration under one scenario.
type TailRow struct {
	// Name is "microlb api-gateway, <strategy>" or TailGoMicro;
	// Strategy the gateway's strategy ("" for go-micro's api); Config
	// the settings that differ from the defaults; Default is true when
	// the gateway ran with its default timeouts and retries (only
	// strategy and timeout set).
	Name, Strategy, Config string
	Default                bool
	// Run is the measured run; Base the same run without the fault
	// (scenario a only).
	Run  TailFigures
	Base *TailFigures `json:",omitempty"`
	// Err says why the row has no numbers.
	Err string `json:",omitempty"`
}

// TailFigures are one open-loop run's figures; latencies count from each
// request's scheduled start, and failed requests count at their failure.
type TailFigures struct {
	Requests, Failed int64
	Success          float64
	// Late counts requests the generator sent 10 ms or more after their
	// scheduled time (its own lag, included in their latency); MaxLag is
	// the most any was.
	Late                int64
	MaxLag              time.Duration
	P50, P99, P999, Max time.Duration
	Errors              map[string]int64 `json:",omitempty"`
}

// JSON writes r as indented JSON, for tools and later comparisons. Ratios
// that could not be computed (NaN) are written as null; durations are in
// nanoseconds.
func JSON(w io.Writer, r *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(plain(reflect.ValueOf(r)))
}

var timeType = reflect.TypeOf(time.Time{})

// plain converts v into maps, slices and scalars that encoding/json accepts,
// with NaN and ±Inf as nil.
func plain(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface()
		}
		m := map[string]any{}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				m[f.Name] = plain(v.Field(i))
			}
		}
		return m
	case reflect.Slice, reflect.Array:
		s := make([]any, v.Len())
		for i := range s {
			s[i] = plain(v.Index(i))
		}
		return s
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = plain(v.MapIndex(k))
		}
		return m
	default:
		return v.Interface()
	}
}
