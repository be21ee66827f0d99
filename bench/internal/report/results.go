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

// Results is everything one run measured: Mode is "full" or "smoke",
// Command reproduces the run, Before is the machine's load before it.
type Results struct {
	Mode, Command string
	Date          time.Time
	Machine       Machine
	Settings      Settings
	Before        sysload.Load
	Stages        []Stage

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

// Settings are the run's knobs: Workers is every proxy's
// worker/thread/GOMAXPROCS budget, BenchCount and BenchTime are `go test
// -count` and `-benchtime`.
type Settings struct {
	Duration, Warmup                          time.Duration
	Reps, Conns, Threads, Workers, BenchCount int
	BenchTime                                 string
}

// Stage is one stage's outcome: ID is 1..8, Name short ("selector",
// ...); Reason explains a skipped or failed Status, Notes anything partial.
type Stage struct {
	ID                   int
	Name, Status, Reason string
	Notes                []string `json:",omitempty"`
	Load                 sysload.Load
}

// Target is one target of an A/B stage against the stage's Base (nginx,
// go-micro's api); Ratio holds the within-pair ratios to the base and the
// medians of the absolute values (for the base itself, its own medians).
type Target struct {
	Name           string
	Base           bool
	Status, Reason string
	Ratio          pairs.Ratio
}

// Failover is stage 4's outcome: Duration of load, a kill -9 of producer
// Killed at KillAt; the client's Requests and Errors (ErrorsAfterKill from
// KillAt on, ErrorKinds by kind, "HTTP 502", ...). Unpicked is the time from
// the kill to the killed node's last pick in the gateway's admin counters,
// PicksAfterKill those picks; UnpickedKnown is false when the counters were
// unavailable (UnpickedNote says why). P99Before is over [0, KillAt),
// P99Event and MaxEvent over [KillAt, KillAt+Window), P99All the run.
type Failover struct {
	Duration, KillAt                  time.Duration
	Killed                            string
	Requests, Errors, ErrorsAfterKill int64
	ErrorKinds                        map[string]int64
	Unpicked                          time.Duration
	PicksAfterKill                    int64
	UnpickedKnown                     bool
	UnpickedNote                      string
	Window                            time.Duration
	P99Before, P99Event, P99All       time.Duration
	MaxEvent                          time.Duration
	NodesBefore, NodesAfter           map[string]int64
}

// Propagation is stage 5's outcome for one selector: Samples are the
// per-repetition times from the deregistration to the node's last pick;
// Censored counts repetitions that reached Limit with the node still picked.
type Propagation struct {
	Selector        string
	Samples         []time.Duration
	Censored        int
	Limit, P50, P99 time.Duration
}

// Stock is stage 6's outcome: HTTP → RPC through go-micro's api (the base)
// and microlb's gateway to stock go-micro v4.11.0 services (3 mucp, 3 gRPC
// nodes) in A/B pairs; CPU of the serving process over each target's runs;
// Paths checked to answer 200 through the gateway before measuring.
type Stock struct {
	Targets []Target
	CPU     []CPUUse
	Paths   []string
}

// CPUUse is one process's CPU time (utime + stime from /proc/<pid>/stat)
// over the measured runs of one target and the Requests it served in them;
// PerRequest is CPU / Requests (0 when none), Note why CPU is unknown.
type CPUUse struct {
	Target, Process string
	CPU             time.Duration
	Requests        int64
	PerRequest      time.Duration
	Note            string `json:",omitempty"`
}

// TimeWait is stage 7's outcome: wrk (Conns, Threads) for Duration through
// the gateway to the stock mucp node Node with net.ipv4.tcp_tw_reuse=0
// (TwReuse is the setting before, restored after); wrk's Requests, Non2xx,
// SocketErrors, RPS and P99; the most TIME_WAIT sockets with the node's
// port over Samples readings, one a second; and the node's resident memory
// in bytes before and after the load (go-micro v4.11.0's server keeps
// per-request state while a connection stays open when the request carries
// a Timeout header, which connection reuse makes visible).
type TimeWait struct {
	Duration                       time.Duration
	Conns, Threads                 int
	Node, TwReuse                  string
	Requests, Non2xx, SocketErrors int64
	RPS                            float64
	P99                            time.Duration
	MaxTimeWait, Samples           int
	NodeRSSBefore, NodeRSSAfter    int64
}

// Errors is every failed request.
func (t *TimeWait) Errors() int64 { return t.Non2xx + t.SocketErrors }

// Tail is stage 8's outcome: open-loop load at Rate requests/s through each
// front door (each request bounded by ClientTimeout from its scheduled
// start), (a) Stalled: 10 stock mucp nodes, one stalled as Fault says, runs
// of Duration and a no-fault baseline of BaseDuration; (b) Speeds: 3 nodes
// of unequal speed (Unequal), runs of UnequalDuration.
type Tail struct {
	Rate                   float64
	ClientTimeout          time.Duration
	Fault, Unequal         string
	Duration, BaseDuration time.Duration
	UnequalDuration        time.Duration
	Stalled, Speeds        []TailRow
}

// TailRow is one front door and configuration under one scenario: Name is
// "microlb api-gateway, <strategy>" or TailGoMicro, Strategy the gateway's
// ("" for go-micro's api), Config the settings that differ from the
// defaults, Default true when only strategy and timeout were set; Run the
// measured run, Base the same without the fault (scenario a), Err why the
// row has no numbers.
type TailRow struct {
	Name, Strategy, Config string
	Default                bool
	Run                    TailFigures
	Base                   *TailFigures `json:",omitempty"`
	Err                    string       `json:",omitempty"`
}

// TailFigures are one open-loop run's figures; latencies count from each
// request's scheduled start, failed requests at their failure. Late counts
// requests the generator sent 10 ms or more after their scheduled time (its
// own lag, in their latency), MaxLag the most any was.
type TailFigures struct {
	Requests, Failed, Late int64
	Success                float64
	MaxLag                 time.Duration
	P50, P99, P999, Max    time.Duration
	Errors                 map[string]int64 `json:",omitempty"`
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
